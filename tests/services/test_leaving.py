"""Leaving the programme (services/participants.check_can_leave), given-when-then: given a
participant's events, when a leaving dated `left_on` is asked for on business date `today`
(Asia/Jakarta), then it is accepted, or refused naming the field and the dates."""

from __future__ import annotations

from datetime import date
from functools import reduce

import pytest

from events.catalog import ParticipantEnrolled, ParticipantLeft, ParticipantRegistered
from events.types import Event
from services.domain.errors import FieldError, IllegalTransition, ValidationFailed
from services.participants import ParticipantState, check_can_leave, evolve

P = "p-1"
REGISTERED = ParticipantRegistered(
    participant_id=P, cohort_id="kph", nik="1708014101900001", nik_hash="h", name="Sari",
    birth_date="1990-01-01", sex="P", phone="081234567890", kecamatan="17.08.01",
    desa="17.08.01.2001", occupation="ojek", declared_income=1_000_000, priority=False,
    policy_version="2025.1",
)  # fmt: skip


def enrolled(on: date) -> ParticipantEnrolled:
    return ParticipantEnrolled(participant_id=P, cohort_id="kph", enrolled_on=on,
                               programmes=["JKK", "JKM"])  # fmt: skip


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


def test_a_leaving_dated_before_the_membership_started_is_refused() -> None:
    errors = refused(given(*MEMBER), date(2026, 1, 4), today=date(2026, 2, 10))
    assert errors == (
        FieldError("left_on", "2026-01-04 is before the current membership started on 2026-01-05"),
    )


def test_after_a_re_join_a_leaving_dated_in_the_earlier_membership_is_refused() -> None:
    # Given a worker who left in March and re-joined on 3 June, when a leaving dated in May
    # (between the two memberships) or in February (in the first) is asked,
    state = given(*REJOINED)
    # then both are refused: the current membership started on 3 June.
    for day in (date(2026, 5, 10), date(2026, 2, 1)):
        (error,) = refused(state, day, today=date(2026, 6, 20))
        assert error.field == "left_on"
        assert error.reason == f"{day} is before the current membership started on 2026-06-03"


def test_every_field_error_at_once_and_the_state_after_them() -> None:
    errors = refused(given(*MEMBER), date(2026, 3, 1), today=date(2026, 2, 10), reason="bored")
    assert [e.field for e in errors] == ["reason", "left_on"]
    # who is not a member is refused as a state conflict once the input is right
    with pytest.raises(IllegalTransition, match="only members can leave"):
        check_can_leave(P, "withdrawal", MAR_20, MAR_20, given(*MEMBER, left(MAR_20)))
    # a future date is refused before that (it is wrong whatever the state)
    with pytest.raises(ValidationFailed):
        check_can_leave(P, "withdrawal", JUN_3, MAR_20, given(*MEMBER, left(MAR_20)))
