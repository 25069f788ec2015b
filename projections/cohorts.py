"""rm.cohorts and rm.cohort_months: each cohort's dashboard (projection `cohort_dashboard`),
and `cohort_budget`, the amount due per month against the amount paid and the allocation,
computed when read from the members in rm.participants.

Three tables behind the two views:

- `cohort_facts`: one row per cohort, from its own stream (creation, opening, closing, roll
  over, slots taken and freed, the waiting list). Per page: one SELECT of the cohorts the page
  touches, a fold in Python, one set-based upsert.
- `cohort_payments`: the cohort's payments (a sponsor's money: amount, credit, reversed).
- `cohort_payment_months`: what each payment's shares paid per month (amount, participants),
  added up per page in Python and merged with one additive upsert.

The views add up the payments not reversed, so a reversal is one flag and never a
subtraction. A share pays whole months; its amount is spread evenly over them (they cost the
same under one rate table; a remainder goes to the earliest months).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import asyncpg
import msgspec

from events.catalog import (
    CohortClosed,
    CohortCreated,
    CohortOpened,
    CohortRolledOver,
    ContributionPaid,
    PaymentRecorded,
    PaymentReversed,
    PromotedFromWaitlist,
    SlotFreed,
    SlotTaken,
    WaitlistJoined,
)
from events.types import RecordedEvent
from projections.contributions import payer_of, slot_periods
from projections.participants import monthly_due
from projections.projection import Projection
from services.domain.calendar import Month, month_range

FACTS = (
    "cohort_id", "name", "sponsor", "budget_year", "quota", "programmes", "coverage_start",
    "coverage_end", "budget_allocation", "legal_basis", "state", "enrolled", "waitlisted",
    "policy_version", "updated_at", "last_position",
)  # fmt: skip
(
    ID, NAME, SPONSOR, BUDGET_YEAR, QUOTA, PROGRAMMES, COVERAGE_START, COVERAGE_END, ALLOCATION,
    LEGAL_BASIS, STATE, ENROLLED, WAITLISTED, POLICY_VERSION, UPDATED_AT, LAST_POSITION,
) = range(len(FACTS))  # fmt: skip
_TYPES = (
    'text COLLATE "C" PRIMARY KEY', "text", "text", "integer", "integer", "text[]", "date",
    "date", "bigint", "text[]", "text", "integer NOT NULL DEFAULT 0",
    "integer NOT NULL DEFAULT 0", "text", "timestamptz", "bigint",
)  # fmt: skip
_ARRAYS = (PROGRAMMES, LEGAL_BASIS)
_SEPARATOR = "\x1f"
"""Joins an array column's values for the upsert (a legal basis may hold a comma)."""
_COHORT_EVENTS = frozenset(
    ("CohortCreated", "CohortOpened", "CohortClosed", "CohortRolledOver", "SlotTaken",
     "WaitlistJoined", "SlotFreed", "PromotedFromWaitlist")
)  # fmt: skip

Row = list[Any]


def _new_row(cohort_id: str) -> Row:
    row: Row = [None] * len(FACTS)
    row[ID], row[ENROLLED], row[WAITLISTED] = cohort_id, 0, 0
    return row


def _created(row: Row, e: CohortCreated) -> None:
    row[NAME], row[SPONSOR], row[BUDGET_YEAR], row[QUOTA] = (
        e.name, e.sponsor, e.budget_year, e.quota
    )  # fmt: skip
    row[PROGRAMMES], row[COVERAGE_START], row[COVERAGE_END] = (
        list(e.programmes), e.coverage_start, e.coverage_end
    )  # fmt: skip
    row[ALLOCATION], row[LEGAL_BASIS] = e.budget_allocation, list(e.legal_basis)
    row[STATE], row[POLICY_VERSION] = "created", e.policy_version


def _opened(row: Row, e: CohortOpened) -> None:
    row[STATE] = "open"


def _closed(row: Row, e: CohortClosed) -> None:
    row[STATE] = "closed"


def _rolled_over(row: Row, e: CohortRolledOver) -> None:
    row[BUDGET_YEAR], row[QUOTA], row[ALLOCATION] = e.budget_year, e.quota, e.budget_allocation
    row[COVERAGE_START], row[COVERAGE_END] = e.coverage_start, e.coverage_end
    row[POLICY_VERSION] = e.policy_version


def _slot_taken(row: Row, e: SlotTaken) -> None:
    row[ENROLLED] += 1


def _waitlist_joined(row: Row, e: WaitlistJoined) -> None:
    row[WAITLISTED] += 1


def _slot_freed(row: Row, e: SlotFreed) -> None:
    row[ENROLLED] -= 1


def _promoted(row: Row, e: PromotedFromWaitlist) -> None:
    row[ENROLLED] += 1
    row[WAITLISTED] -= 1


_FOLD: dict[str, Callable[[Row, Any], None]] = {
    "CohortCreated": _created,
    "CohortOpened": _opened,
    "CohortClosed": _closed,
    "CohortRolledOver": _rolled_over,
    "SlotTaken": _slot_taken,
    "WaitlistJoined": _waitlist_joined,
    "SlotFreed": _slot_freed,
    "PromotedFromWaitlist": _promoted,
}


def spread(amount: int, months: Sequence[str]) -> list[tuple[str, int]]:
    """A share's amount over its months: evenly, a remainder on the earliest months."""
    each, extra = divmod(amount, len(months))
    return [(m, each + (1 if n < extra else 0)) for n, m in enumerate(sorted(months))]


class _Page:
    """What one page changes, folded in Python before the set-based writes."""

    def __init__(self, rows: dict[str, Row], cohort_of: dict[str, str]) -> None:
        self.rows = rows
        self.cohort_of = cohort_of  # payment id -> cohort id, for the cohort payments known
        self.changed: set[str] = set()
        self.payments: list[tuple[str, str, int, int, datetime, int]] = []
        self.reversals: list[tuple[str, datetime, int]] = []
        self.months: dict[tuple[str, str], list[int]] = {}

    def fold(self, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            event = recorded.data
            kind = recorded.type
            if kind in _COHORT_EVENTS:
                row = self.rows.get(event.cohort_id)
                if row is None:
                    row = self.rows[event.cohort_id] = _new_row(event.cohort_id)
                _FOLD[kind](row, event)
                row[UPDATED_AT], row[LAST_POSITION] = recorded.recorded_at, recorded.position
                self.changed.add(event.cohort_id)
            elif kind == "ContributionPaid":
                if event.payment_id in self.cohort_of:
                    for month, amount in spread(event.amount, event.months):
                        paid = self.months.setdefault((event.payment_id, month), [0, 0])
                        paid[0] += amount
                        paid[1] += 1
            elif kind == "PaymentRecorded":
                if event.cohort_id is not None:
                    self.cohort_of[event.payment_id] = event.cohort_id
                    self.payments.append((
                        event.payment_id, event.cohort_id, event.amount, event.credit,
                        recorded.recorded_at, recorded.position,
                    ))  # fmt: skip
            elif kind == "PaymentReversed" and event.payment_id in self.cohort_of:
                self.reversals.append((event.payment_id, recorded.recorded_at, recorded.position))


def _views(schema: str) -> str:
    payments = f"{schema}.cohort_payments"
    columns = ", ".join(f"f.{name}" for name in FACTS[:-3])
    return f"""
CREATE VIEW {schema}.cohorts AS
SELECT {columns},
    coalesce((SELECT sum(p.amount) FROM {payments} p
              WHERE p.cohort_id = f.cohort_id AND NOT p.reversed), 0)::bigint AS amount_paid,
    coalesce((SELECT sum(p.credit) FROM {payments} p
              WHERE p.cohort_id = f.cohort_id AND NOT p.reversed), 0)::bigint AS credit,
    f.policy_version,
    coalesce((SELECT p.updated_at FROM {payments} p
              WHERE p.cohort_id = f.cohort_id AND p.last_position > f.last_position
              ORDER BY p.last_position DESC LIMIT 1), f.updated_at) AS updated_at
FROM {schema}.cohort_facts f;
CREATE VIEW {schema}.cohort_months AS
SELECT p.cohort_id, m.month, sum(m.amount)::bigint AS amount_paid,
    sum(m.participants)::integer AS participants_paid
FROM {schema}.cohort_payment_months m JOIN {payments} p USING (payment_id)
WHERE NOT p.reversed
GROUP BY p.cohort_id, m.month;
"""


class CohortDashboard(Projection):
    """rm.cohorts and rm.cohort_months (see the read-model contract). `amount_paid` is the
    sponsor's money received (payments not reversed), `credit` the part of it no month took;
    a month's `amount_paid` is what the shares paid for it."""

    name: ClassVar[str] = "cohort_dashboard"
    version: ClassVar[int] = 1
    consumes = (
        CohortCreated, CohortOpened, CohortClosed, CohortRolledOver, SlotTaken, WaitlistJoined,
        SlotFreed, PromotedFromWaitlist, PaymentRecorded, ContributionPaid, PaymentReversed,
    )  # fmt: skip
    tables = ("cohorts", "cohort_months")

    def schema_sql(self, schema: str) -> str:
        columns = ",\n    ".join(f"{n} {t}" for n, t in zip(FACTS, _TYPES, strict=True))
        return f"""
CREATE TABLE {schema}.cohort_facts (
    {columns}
);
CREATE TABLE {schema}.cohort_payments (
    payment_id text COLLATE "C" PRIMARY KEY,
    cohort_id text NOT NULL,
    amount bigint NOT NULL,
    credit bigint NOT NULL,
    reversed boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL,
    last_position bigint NOT NULL
);
CREATE INDEX ON {schema}.cohort_payments (cohort_id);
CREATE TABLE {schema}.cohort_payment_months (
    payment_id text COLLATE "C" NOT NULL,
    month text NOT NULL,
    amount bigint NOT NULL,
    participants integer NOT NULL,
    PRIMARY KEY (payment_id, month)
);
{_views(schema)}"""

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        cohort_ids = {e.data.cohort_id for e in events if e.type in _COHORT_EVENTS}
        rows: dict[str, Row] = {}
        if cohort_ids:
            found = await conn.fetch(
                f"SELECT {', '.join(FACTS)} FROM {schema}.cohort_facts "
                "WHERE cohort_id = ANY($1::text[])",
                list(cohort_ids),
            )
            rows = {r[0]: list(r) for r in found}
        recorded_here = {e.data.payment_id for e in events if e.type == "PaymentRecorded"}
        earlier = {
            e.data.payment_id
            for e in events
            if e.type in ("ContributionPaid", "PaymentReversed")
            and e.data.payment_id not in recorded_here
        }
        cohort_of: dict[str, str] = {}
        if earlier:
            found = await conn.fetch(
                f"SELECT payment_id, cohort_id FROM {schema}.cohort_payments "
                "WHERE payment_id = ANY($1::text[])",
                list(earlier),
            )
            cohort_of = {r[0]: r[1] for r in found}
        page = _Page(rows, cohort_of)
        page.fold(events)
        await _write(conn, schema, page)


async def _write(conn: asyncpg.Connection, schema: str, page: _Page) -> None:
    if page.changed:
        columns = [list(c) for c in zip(*(page.rows[i] for i in page.changed), strict=True)]
        for index in _ARRAYS:  # unnest would flatten arrays of arrays
            columns[index] = [None if v is None else _SEPARATOR.join(v) for v in columns[index]]
        params = ", ".join(
            f"${n}::{'text' if n - 1 in _ARRAYS else _TYPES[n - 1].split()[0]}[]"
            for n in range(1, len(FACTS) + 1)
        )
        values = ", ".join(
            f"string_to_array({name}, E'\\x1f')" if n in _ARRAYS else name
            for n, name in enumerate(FACTS)
        )
        updates = ", ".join(f"{name} = excluded.{name}" for name in FACTS[1:])
        await conn.execute(
            f"""INSERT INTO {schema}.cohort_facts ({", ".join(FACTS)})
                SELECT {values} FROM unnest({params}) AS t({", ".join(FACTS)})
                ON CONFLICT (cohort_id) DO UPDATE SET {updates}""",
            *columns,
        )
    if page.payments:
        await conn.execute(
            f"""INSERT INTO {schema}.cohort_payments
                    (payment_id, cohort_id, amount, credit, updated_at, last_position)
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[],
                                     $5::timestamptz[], $6::bigint[])""",
            *(list(c) for c in zip(*page.payments, strict=True)),
        )
    if page.reversals:
        await conn.execute(
            f"""UPDATE {schema}.cohort_payments p
                SET reversed = true, updated_at = t.updated_at, last_position = t.position
                FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
                    AS t(payment_id, updated_at, position)
                WHERE p.payment_id = t.payment_id""",
            *(list(c) for c in zip(*page.reversals, strict=True)),
        )
    if page.months:
        (payment_ids, months), paid = zip(*page.months, strict=True), page.months.values()
        await conn.execute(
            f"""INSERT INTO {schema}.cohort_payment_months AS m
                    (payment_id, month, amount, participants)
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[])
                ON CONFLICT (payment_id, month) DO UPDATE
                SET amount = m.amount + excluded.amount,
                    participants = m.participants + excluded.participants""",
            list(payment_ids),
            list(months),
            [p[0] for p in paid],
            [p[1] for p in paid],
        )


# -- read time ---------------------------------------------------------------------------------


class MonthBudget(msgspec.Struct, frozen=True, kw_only=True):
    """One month of a cohort: what its sponsor owes for the members it funds, and paid."""

    month: str
    members: int
    amount_due: int
    amount_paid: int
    participants_paid: int

    @property
    def shortfall(self) -> int:
        return self.amount_due - self.amount_paid


class CohortBudget(msgspec.Struct, frozen=True, kw_only=True):
    """A cohort's budget year: due and paid for the months of its coverage period."""

    cohort_id: str
    budget_year: int
    budget_allocation: int
    amount_due: int
    amount_paid: int
    """What the sponsor's shares paid for the period's months (earlier years not counted)."""
    credit: int
    """Money of the sponsor's payments that no month took (all years), held for it."""
    months: list[MonthBudget]

    @property
    def allocation_left(self) -> int:
        return self.budget_allocation - self.amount_paid


def cohort_budget(
    cohort: Mapping[str, Any],
    months: Sequence[Mapping[str, Any]],
    members: Sequence[Mapping[str, Any]],
) -> CohortBudget:
    """A cohort's amount due per month of its coverage period, from the members who hold a
    slot that month (`slot_periods`: not between a leaving and a re-join) and whom the sponsor
    funds then (rates in force for the month), against what its shares paid. Without a
    coverage period (no CohortCreated seen), the months paid."""
    paid = {m["month"]: m for m in months}
    start, end = cohort["coverage_start"], cohort["coverage_end"]
    period = (
        list(month_range(Month.of(start), Month.of(end)))
        if start and end
        else sorted(Month.parse(m) for m in paid)
    )
    held = [(r, slot_periods(r)) for r in members]
    budget: list[MonthBudget] = []
    for month in period:
        funded = [
            r for r, periods in held
            if any(p.has_month(month) for p in periods) and payer_of(r, month) == "sponsor"
        ]  # fmt: skip
        row = paid.get(str(month))
        budget.append(
            MonthBudget(
                month=str(month),
                members=len(funded),
                amount_due=sum(monthly_due(r)(month) for r in funded),
                amount_paid=row["amount_paid"] if row else 0,
                participants_paid=row["participants_paid"] if row else 0,
            )
        )
    return CohortBudget(
        cohort_id=cohort["cohort_id"],
        budget_year=cohort["budget_year"],
        budget_allocation=cohort["budget_allocation"],
        amount_due=sum(m.amount_due for m in budget),
        amount_paid=sum(m.amount_paid for m in budget),
        credit=cohort["credit"],
        months=budget,
    )


async def budget_of(conn: asyncpg.Connection | asyncpg.Pool, cohort_id: str) -> CohortBudget | None:
    """`cohort_budget` of a cohort as rm.cohorts, rm.cohort_months and rm.participants have it;
    None for a cohort they do not know."""
    cohort = await conn.fetchrow("SELECT * FROM rm.cohorts WHERE cohort_id = $1", cohort_id)
    if cohort is None:
        return None
    months = await conn.fetch("SELECT * FROM rm.cohort_months WHERE cohort_id = $1", cohort_id)
    members = await conn.fetch(
        """SELECT participant_id, status, enrolments, leavings, funders,
                  declared_income, programmes
           FROM rm.participants WHERE cohort_id = $1""",
        cohort_id,
    )
    return cohort_budget(cohort, months, members)
