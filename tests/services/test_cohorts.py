"""The cohort decider, given-when-then: quota, waiting list, promotion, roll-over."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.catalog import (
    CohortClosed,
    CohortCreated,
    CohortOpened,
    CohortRolledOver,
    PromotedFromWaitlist,
    SlotFreed,
    SlotTaken,
    WaitlistJoined,
)
from services import cohorts
from services.commands import CloseCohort, OpenCohort, RollOverCohort
from services.domain.errors import Duplicate, IllegalTransition, NotFound, ValidationFailed
from services.domain.policy import DEFAULT_POLICY, Policy
from tests.services.conftest import cohort_command

POLICY = DEFAULT_POLICY
CREATED = CohortCreated(
    cohort_id="kph", name="K", sponsor="APBD", budget_year=2025, quota=2, programmes=["JKK", "JKM"],
    coverage_start=date(2025, 10, 1), coverage_end=date(2025, 12, 31),
    budget_allocation=100_000_000, legal_basis=["Inpres 2/2021"], policy_version="2025.1",
)  # fmt: skip
OPENED = CohortOpened(cohort_id="kph")


def taken(participant_id: str) -> SlotTaken:
    return SlotTaken(cohort_id="kph", participant_id=participant_id, declared_income=1_000_000)


def waiting(participant_id: str, priority: bool) -> WaitlistJoined:
    return WaitlistJoined(
        cohort_id="kph", participant_id=participant_id, priority=priority,
        declared_income=1_000_000,
    )  # fmt: skip


def given_(*events: object) -> cohorts.CohortState:
    state = cohorts.CohortState()
    for event in events:
        state = cohorts.evolve(state, event)  # type: ignore[arg-type]
    return state


def test_create_records_the_cohort_and_the_policy_version() -> None:
    command = cohort_command(quota=1984, cohort_id="kph")
    (created,) = cohorts.decide_admin(command, given_(), POLICY)
    assert isinstance(created, CohortCreated)
    assert (created.quota, created.policy_version) == (1984, POLICY.version)
    with pytest.raises(Duplicate):
        cohorts.decide_admin(command, given_(created), POLICY)


def test_create_names_every_bad_field() -> None:
    bad = cohort_command(quota=0, cohort_id="kph")
    bad = type(bad)(**{**{f: getattr(bad, f) for f in bad.__struct_fields__},
                       "programmes": ["JKK", "XYZ"], "legal_basis": []})  # fmt: skip
    with pytest.raises(ValidationFailed) as failed:
        cohorts.decide_admin(bad, given_(), POLICY)
    assert {e.field for e in failed.value.errors} == {"programmes", "legal_basis"}


def test_open_and_close() -> None:
    assert cohorts.decide_admin(OpenCohort("kph"), given_(CREATED), POLICY) == [OPENED]
    with pytest.raises(IllegalTransition):
        cohorts.decide_admin(OpenCohort("kph"), given_(CREATED, OPENED), POLICY)
    assert cohorts.decide_admin(
        CloseCohort("kph", "budget spent"), given_(CREATED, OPENED), POLICY
    ) == [CohortClosed(cohort_id="kph", reason="budget spent")]
    with pytest.raises(NotFound):
        cohorts.decide_admin(OpenCohort("kph"), given_(), POLICY)


def test_registrations_take_slots_then_wait() -> None:
    state = given_(CREATED, OPENED, taken("a"))
    assert isinstance(cohorts.decide_registration("kph", "b", False, 1_000_000, state), SlotTaken)
    full = cohorts.evolve(state, taken("b"))
    assert cohorts.decide_registration("kph", "c", True, 1_000_000, full) == waiting("c", True)
    with pytest.raises(IllegalTransition):
        cohorts.decide_registration("kph", "d", False, 1_000_000, given_(CREATED))  # not open


def test_a_freed_slot_goes_to_the_priority_waiter_first_then_by_arrival() -> None:
    state = given_(
        CREATED, OPENED,
        taken("a"),
        taken("b"),
        waiting("c", False),
        waiting("d", True),
    )  # fmt: skip

    events = cohorts.decide_leaving("kph", "a", "death", state, POLICY)
    by_arrival = cohorts.decide_leaving(
        "kph", "a", "death", state, Policy(version="t", waiting_list_priority_first=False)
    )

    assert events == [
        SlotFreed(cohort_id="kph", participant_id="a", reason="death"),
        PromotedFromWaitlist(cohort_id="kph", participant_id="d", reason="slot_freed"),
    ]
    assert by_arrival[1].participant_id == "c"  # type: ignore[attr-defined]


def test_a_new_budget_year_promotes_as_many_as_the_new_quota_allows() -> None:
    state = given_(
        CREATED, OPENED,
        taken("a"),
        taken("b"),
        waiting("c", False),
        waiting("d", False),
        waiting("e", False),
    )  # fmt: skip
    command = RollOverCohort(
        cohort_id="kph", budget_year=2026, quota=4, coverage_start=date(2026, 1, 1),
        coverage_end=date(2026, 12, 31), budget_allocation=400_000_000,
    )  # fmt: skip

    events = cohorts.decide_admin(command, state, POLICY)

    assert isinstance(events[0], CohortRolledOver)
    assert [e.participant_id for e in events[1:]] == ["c", "d"]  # type: ignore[attr-defined]
    with pytest.raises(IllegalTransition):
        cohorts.decide_admin(command, cohorts.evolve(state, events[0]), POLICY)


def test_a_leaving_under_a_smaller_new_quota_promotes_nobody_until_there_is_room() -> None:
    """Quota 3, all taken, two waiting; the new budget year funds 2. A leaving brings the
    members down to the new quota and frees no slot for the waiting list; the next does."""
    three = CohortCreated(**{**{f: getattr(CREATED, f) for f in CREATED.__struct_fields__},
                             "quota": 3})  # fmt: skip
    state = given_(three, OPENED, taken("a"), taken("b"), taken("e"), waiting("c", False),
                   waiting("d", True))  # fmt: skip
    smaller = CohortRolledOver(
        cohort_id="kph", budget_year=2026, quota=2, coverage_start=date(2026, 1, 1),
        coverage_end=date(2026, 12, 31), budget_allocation=403_200, policy_version="2025.1",
    )  # fmt: skip
    state = cohorts.evolve(state, smaller)

    first = cohorts.decide_leaving("kph", "a", "withdrawal", state, POLICY)
    state = cohorts.evolve(state, first[0])
    second = cohorts.decide_leaving("kph", "b", "withdrawal", state, POLICY)

    assert first == [SlotFreed(cohort_id="kph", participant_id="a", reason="withdrawal")]
    assert [type(e) for e in second] == [SlotFreed, PromotedFromWaitlist]
    assert second[1].participant_id == "d"  # type: ignore[attr-defined]


def test_a_rejoin_waits_with_the_priority_it_is_given_and_goes_first_by_policy() -> None:
    """The cohort ranks a re-join as any registration: by the priority its WaitlistJoined
    states (the registrar gives the one the person registered with), then by arrival."""
    state = given_(CREATED, OPENED, taken("a"), taken("b"), waiting("c", False))
    rejoined = cohorts.decide_registration("kph", "p", True, 1_000_000, state)
    state = cohorts.evolve(state, rejoined)

    assert rejoined == waiting("p", True)
    assert [w.participant_id for w in cohorts.next_in_line(state, POLICY, 2)] == ["p", "c"]
    by_arrival = Policy(version="t", waiting_list_priority_first=False)
    assert [w.participant_id for w in cohorts.next_in_line(state, by_arrival, 2)] == ["c", "p"]


@given(st.lists(st.tuples(st.sampled_from(["register", "leave"]), st.booleans()), max_size=60),
       st.integers(1, 8))  # fmt: skip
def test_the_quota_is_never_exceeded(steps: list[tuple[str, bool]], quota: int) -> None:
    created = CohortCreated(**{**{f: getattr(CREATED, f) for f in CREATED.__struct_fields__},
                               "quota": quota})  # fmt: skip
    state = given_(created, OPENED)
    members: list[str] = []
    for n, (step, priority) in enumerate(steps):
        if step == "register":
            events = [cohorts.decide_registration("kph", f"p{n}", priority, 1_000_000, state)]
        elif members:
            events = cohorts.decide_leaving("kph", members[0], "withdrawal", state, POLICY)
        else:
            continue
        for event in events:
            state = cohorts.evolve(state, event)
            if isinstance(event, SlotTaken | PromotedFromWaitlist):
                members.append(event.participant_id)
            if isinstance(event, SlotFreed):
                members.remove(event.participant_id)
        assert state.enrolled == len(members) <= quota
        assert state.waitlist == () or state.enrolled == quota
