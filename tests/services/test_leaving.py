"""Leaving the programme (services/participants.check_can_leave), given-when-then: given a
participant's events, when a leaving dated `left_on` is asked for on business date `today`
(Asia/Jakarta), then it is accepted, or refused naming the field and the dates. A membership
can start after the day the enrolment was made: a leaving from that day on is accepted (it
cancels the membership, services/domain/coverage.py), one before it is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import reduce
from uuid import uuid4

import msgspec
import pytest

from events.catalog import (
    ParticipantEnrolled,
    ParticipantLeft,
    ParticipantRegistered,
    SlotTaken,
)
from events.store import NO_STREAM, Context, EventStore, StreamAppend
from events.types import Event
from services.commands import LeaveCohort
from services.domain.errors import FieldError, IllegalTransition, ValidationFailed
from services.membership import history_of
from services.participants import ParticipantState, check_can_leave, evolve
from services.streams import cohort_stream, participant_stream
from tests.services.conftest import open_cohort
from tests.services.test_registration import registrar_on

P = "p-1"
REGISTERED = ParticipantRegistered(
    participant_id=P, cohort_id="kph", nik="1708014101900001", nik_hash="h", name="Sari",
    birth_date="1990-01-01", sex="P", phone="081234567890", kecamatan="17.08.01",
    desa="17.08.01.2001", occupation="ojek", declared_income=1_000_000, priority=False,
    policy_version="2025.1",
)  # fmt: skip


def enrolled(on: date, decided_on: date | None = None) -> ParticipantEnrolled:
    """Enrolled from `on`, the enrolment made on `decided_on` (unsaid: as events recorded
    before ParticipantEnrolled kept it)."""
    return ParticipantEnrolled(participant_id=P, cohort_id="kph", enrolled_on=on,
                               programmes=["JKK", "JKM"], decided_on=decided_on)  # fmt: skip


def left(on: date) -> ParticipantLeft:
    return ParticipantLeft(participant_id=P, cohort_id="kph", reason="withdrawal", left_on=on)


def given(*events: Event) -> ParticipantState:
    return reduce(evolve, events, ParticipantState())


JAN_5, MAR_20, JUN_3 = date(2026, 1, 5), date(2026, 3, 20), date(2026, 6, 3)
MEMBER = (REGISTERED, enrolled(JAN_5))
REJOINED = (*MEMBER, left(MAR_20), enrolled(JUN_3))  # left in March, back in June


def refused(
    state: ParticipantState, left_on: date, today: date, reason: str = "withdrawal"
) -> tuple[FieldError, ...]:
    with pytest.raises(ValidationFailed) as caught:
        check_can_leave(P, reason, left_on, today, state)
    return caught.value.errors


@pytest.mark.parametrize(
    ("events", "left_on", "today"),
    [
        (MEMBER, JAN_5, JAN_5),  # on the day the membership started
        (MEMBER, date(2026, 2, 10), date(2026, 2, 10)),  # today
        (MEMBER, date(2026, 2, 1), date(2026, 2, 10)),  # recorded later
        (REJOINED, JUN_3, date(2026, 6, 20)),  # the new membership's first day
    ],
)
def test_a_leaving_dated_in_the_current_membership_up_to_today_is_accepted(
    events: tuple[Event, ...], left_on: date, today: date
) -> None:
    check_can_leave(P, "withdrawal", left_on, today, given(*events))


def test_a_leaving_dated_after_today_is_refused() -> None:
    # Given a member since 5 January, when a leaving dated 11 February is asked on 10 February,
    errors = refused(given(*MEMBER), date(2026, 2, 11), today=date(2026, 2, 10))
    # then it is refused naming the field, the date asked and today.
    assert errors == (FieldError("left_on", "2026-02-11 is after today, 2026-02-10"),)


def test_a_leaving_dated_before_the_enrolment_was_made_is_refused() -> None:
    # Given a member since 5 January, enrolled that day (the day it was made is not said:
    # then it is the day the membership started),
    errors = refused(given(*MEMBER), date(2026, 1, 4), today=date(2026, 2, 10))
    # then a leaving dated the day before is refused, naming that day.
    assert errors == (
        FieldError("left_on", "2026-01-04 is before the current enrolment, made on 2026-01-05"),
    )


DEC_10, NEW_YEAR = date(2025, 12, 10), date(2026, 1, 1)
PROMOTED = (REGISTERED, enrolled(NEW_YEAR, decided_on=DEC_10))
"""Promoted from the waiting list on 10 December into budget year 2026."""


@pytest.mark.parametrize(
    ("left_on", "today"),
    [
        (DEC_10, DEC_10),  # the day the enrolment was made
        (date(2025, 12, 20), date(2025, 12, 20)),  # a formal job before the membership starts
        (date(2025, 12, 20), date(2026, 1, 8)),  # recorded after it would have started
        (NEW_YEAR, NEW_YEAR),  # its first day: ends it as any leaving does
    ],
)
def test_a_leaving_before_a_membership_that_starts_later_is_accepted(
    left_on: date, today: date
) -> None:
    check_can_leave(P, "formal_employee", left_on, today, given(*PROMOTED))


def test_before_a_later_start_a_leaving_is_refused_before_the_enrolment_or_after_today() -> None:
    # Given a worker promoted on 10 December into budget year 2026,
    state = given(*PROMOTED)
    # when a leaving dated 9 December, or 21 December on the 20th, is asked,
    # then both are refused: the enrolment was made on the 10th, and a leaving is not foretold.
    assert refused(state, date(2025, 12, 9), today=date(2025, 12, 20)) == (
        FieldError("left_on", "2025-12-09 is before the current enrolment, made on 2025-12-10"),
    )
    assert refused(state, date(2025, 12, 21), today=date(2025, 12, 20)) == (
        FieldError("left_on", "2025-12-21 is after today, 2025-12-20"),
    )


def test_after_a_re_join_promoted_into_a_later_year_the_leaving_counts_from_the_re_join() -> None:
    # Given a worker who left in March, re-joined the full cohort, and was promoted on 3 June
    # into the next budget year (from 1 January 2027),
    state = given(*MEMBER, left(MAR_20), enrolled(date(2027, 1, 1), decided_on=JUN_3))
    # then they may leave from 3 June on, not on a day between the two enrolments.
    check_can_leave(P, "moved_away", date(2026, 7, 1), date(2026, 7, 1), state)
    check_can_leave(P, "moved_away", JUN_3, date(2026, 7, 1), state)
    (error,) = refused(state, date(2026, 5, 10), today=date(2026, 7, 1))
    assert error.reason == "2026-05-10 is before the current enrolment, made on 2026-06-03"


def test_after_a_re_join_a_leaving_dated_in_the_earlier_membership_is_refused() -> None:
    # Given a worker who left in March and re-joined on 3 June, when a leaving dated in May
    # (between the two memberships) or in February (in the first) is asked,
    state = given(*REJOINED)
    # then both are refused: the current membership started on 3 June.
    for day in (date(2026, 5, 10), date(2026, 2, 1)):
        (error,) = refused(state, day, today=date(2026, 6, 20))
        assert error.field == "left_on"
        assert error.reason == f"{day} is before the current enrolment, made on 2026-06-03"


def test_every_field_error_at_once_and_the_state_after_them() -> None:
    errors = refused(given(*MEMBER), date(2026, 3, 1), today=date(2026, 2, 10), reason="bored")
    assert [e.field for e in errors] == ["reason", "left_on"]
    # who is not a member is refused as a state conflict once the input is right
    with pytest.raises(IllegalTransition, match="only members can leave"):
        check_can_leave(P, "withdrawal", MAR_20, MAR_20, given(*MEMBER, left(MAR_20)))
    # a future date is refused before that (it is wrong whatever the state)
    with pytest.raises(ValidationFailed):
        check_can_leave(P, "withdrawal", JUN_3, MAR_20, given(*MEMBER, left(MAR_20)))


# -- through the registrar -----------------------------------------------------------------------


def wib_morning(day: date) -> datetime:
    """10:00 WIB on `day`."""
    return datetime(day.year, day.month, day.day, 3, tzinfo=UTC)


async def test_an_enrolment_that_does_not_say_when_it_was_made_was_made_when_it_occurred(
    domain_store: EventStore,
) -> None:
    # Given a worker enrolled (from 1 October, the cohort's coverage start) by events recorded
    # before ParticipantEnrolled said when it was made: they occurred on 20 September,
    admin = Context(actor="admin:dinsos")
    cohort_id = await open_cohort(registrar_on(domain_store, date(2025, 9, 1)), admin)
    pid = f"p-{uuid4().hex[:12]}"
    registered = msgspec.structs.replace(REGISTERED, participant_id=pid, cohort_id=cohort_id)
    enrolment = ParticipantEnrolled(
        participant_id=pid, cohort_id=cohort_id, enrolled_on=date(2025, 10, 1),
        programmes=["JKK", "JKM"],
    )  # fmt: skip
    taken = SlotTaken(cohort_id=cohort_id, participant_id=pid, declared_income=1_000_000)
    await domain_store.append_many(
        [StreamAppend(participant_stream(pid), [registered, enrolment], NO_STREAM),
         StreamAppend(cohort_stream(cohort_id), [taken])],
        context=Context(actor="admin:dinsos", occurred_at=wib_morning(date(2025, 9, 20))),
    )  # fmt: skip
    registrar = registrar_on(domain_store, date(2025, 9, 25))

    def leave(on: date) -> LeaveCohort:
        return LeaveCohort(participant_id=pid, reason="moved_away", left_on=on)

    # when a leaving dated 19 September is asked, then it is refused: before the enrolment;
    with pytest.raises(ValidationFailed) as caught:
        await registrar.leave(leave(date(2025, 9, 19)), admin)
    assert caught.value.errors == (
        FieldError("left_on", "2025-09-19 is before the current enrolment, made on 2025-09-20"),
    )
    # one dated 22 September, before the membership started, is recorded, naming it,
    await registrar.leave(leave(date(2025, 9, 22)), admin)
    events = [r.data for r in await domain_store.read_stream(participant_stream(pid))]
    assert events[-1] == ParticipantLeft(
        participant_id=pid, cohort_id=cohort_id, reason="moved_away",
        left_on=date(2025, 9, 22), enrolled_on=date(2025, 10, 1),
    )  # fmt: skip
    # and that membership never ran.
    found = history_of(events, date(2025, 12, 1))
    assert found is not None and found.periods == () and len(found.cancelled) == 1
