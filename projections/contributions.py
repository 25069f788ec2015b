"""Contributions due and arrears, per payer, as of a date: each cohort's sponsor for the
members it funds, and each self-paying (mandiri) participant. Read-time only: pure functions
over rm.participants rows (`dues`), and a query helper that reads the rows (`dues_of`).

Every amount comes from `standing` (projections/participants.py), that is from the coverage
rules the write side uses; this module only says who owes which month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

import asyncpg
import msgspec

from projections.participants import enrolment_facts, funder_changes, monthly_due, standing
from services.domain.calendar import Month, due_date
from services.domain.coverage import MembershipPeriod, MonthStatus, enrolment_periods
from services.domain.funders import self_paying

PayerKind = Literal["sponsor", "participant"]


def payer_of(row: Mapping[str, Any], month: Month) -> PayerKind:
    """Who pays the participant's `month`: themself when the funder in force for it is
    mandiri (services.domain.funders: the latest change recorded from that month or
    before), else the cohort's sponsor. Needs the column funders."""
    return "participant" if self_paying(funder_changes(row), month) else "sponsor"


def slot_periods(row: Mapping[str, Any]) -> tuple[MembershipPeriod, ...]:
    """The memberships in which the participant holds a slot of their cohort, from the row's
    enrolments, leavings and death (services.domain.coverage.enrolment_periods: a leaving
    ends one, a re-join starts a new one, a lapsed member still holds the slot); none before
    any enrolment. Needs the columns enrolments and leavings."""
    facts = enrolment_facts(row)
    return () if facts is None else enrolment_periods(facts)


def next_due_month(today: date) -> Month:
    """The month whose due date is the next one from `today` (today's, until it has passed)."""
    month = Month.of(today)
    return month if due_date(month) >= today else month + 1


class Dues(msgspec.Struct, frozen=True, kw_only=True):
    """What one payer owes as of `as_of`: the next month falling due, and arrears."""

    payer_kind: PayerKind
    payer: str
    """The cohort id for a sponsor, the participant id for a self-paying participant."""
    as_of: date
    next_month: str
    next_due_on: date
    next_amount: int
    """Still to pay for `next_month`, for every participant this payer funds then."""
    participants: int
    """Participants (active or in arrears) this payer funds in `next_month`."""
    arrears_months: int
    """Participant-months past their due date, unpaid, still payable."""
    arrears_amount: int
    participants_in_arrears: int
    first_lapse_on: date | None
    """The earliest day a membership this payer funds ends if nothing more is paid."""


class _Tally:
    __slots__ = ("arrears", "arrears_amount", "in_arrears", "lapse", "next_amount", "people")

    def __init__(self) -> None:
        self.next_amount = self.people = self.arrears = self.arrears_amount = 0
        self.in_arrears: set[str] = set()
        self.lapse: date | None = None


def dues(rows: Iterable[Mapping[str, Any]], today: date) -> list[Dues]:
    """Per payer, from rm.participants rows: sponsors by cohort, then self-paying participants,
    each in id order. Only members who are active or in arrears as of `today` owe anything."""
    month = next_due_month(today)
    tallies: dict[tuple[PayerKind, str], _Tally] = {}

    def tally(kind: PayerKind, row: Mapping[str, Any]) -> _Tally:
        payer = row["cohort_id"] if kind == "sponsor" else row["participant_id"]
        return tallies.setdefault((kind, payer), _Tally())

    for row in rows:
        found = standing(row, today)
        if found.status_as_of not in ("active", "in_arrears") or found.history is None:
            continue
        for record in found.history.months:
            if record.status is MonthStatus.IN_ARREARS:
                t = tally(payer_of(row, record.month), row)
                t.arrears += 1
                t.arrears_amount += record.shortfall
                t.in_arrears.add(row["participant_id"])
                if found.lapses_on is not None and (t.lapse is None or found.lapses_on < t.lapse):
                    t.lapse = found.lapses_on
        t = tally(payer_of(row, month), row)
        t.people += 1
        record = found.history.month(month)
        if record is not None:
            t.next_amount += max(0, record.shortfall)
        else:
            t.next_amount += monthly_due(row)(month)
    return [
        Dues(
            payer_kind=kind,
            payer=payer,
            as_of=today,
            next_month=str(month),
            next_due_on=due_date(month),
            next_amount=t.next_amount,
            participants=t.people,
            arrears_months=t.arrears,
            arrears_amount=t.arrears_amount,
            participants_in_arrears=len(t.in_arrears),
            first_lapse_on=t.lapse,
        )
        for (kind, payer), t in sorted(tallies.items(), key=lambda i: (i[0][0] != "sponsor", i[0]))
    ]


async def dues_of(
    conn: asyncpg.Connection | asyncpg.Pool,
    today: date,
    *,
    cohort_ids: Sequence[str] = (),
    participant_ids: Sequence[str] = (),
) -> list[Dues]:
    """`dues` of the enrolled members of these cohorts and of these participants."""
    rows = await conn.fetch(
        """SELECT * FROM rm.participants
           WHERE status = 'enrolled'
             AND (cohort_id = ANY($1::text[]) OR participant_id = ANY($2::text[]))""",
        list(cohort_ids),
        list(participant_ids),
    )
    return dues(rows, today)
