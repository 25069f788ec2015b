"""The cohort decider: a funded intake whose stream guards its quota and its waiting list.

Registrations take slots in the order the cohort stream records them; when the cohort is
full they join the waiting list, which moves up when a slot frees or a new budget year opens
(priority registrations first, when the policy says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import msgspec

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
from events.types import Event
from services.commands import CloseCohort, CreateCohort, OpenCohort, RollOverCohort
from services.decider import Decider
from services.domain.errors import (
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from services.domain.policy import Policy
from services.domain.rates import Programme

PROGRAMMES = {p.value for p in Programme}


class Waiting(msgspec.Struct, frozen=True):
    participant_id: str
    priority: bool
    declared_income: int


class CohortState(msgspec.Struct, frozen=True):
    cohort_id: str = ""
    status: str = "none"  # none, created, open, closed
    budget_year: int = 0
    quota: int = 0
    waitlist: tuple[Waiting, ...] = ()
    coverage_start: date | None = None
    programmes: tuple[str, ...] = ()
    members: dict[str, int] = msgspec.field(default_factory=dict)
    """Enrolled participants in order of enrolment, with their declared incomes."""

    @property
    def enrolled(self) -> int:
        return len(self.members)

    @property
    def free_slots(self) -> int:
        return max(0, self.quota - self.enrolled)


def evolve(state: CohortState, event: Event) -> CohortState:
    replace = msgspec.structs.replace
    match event:
        case CohortCreated():
            return CohortState(
                event.cohort_id, "created", event.budget_year, event.quota, (),
                event.coverage_start, tuple(event.programmes),
            )  # fmt: skip
        case CohortOpened():
            return replace(state, status="open")
        case CohortClosed():
            return replace(state, status="closed")
        case CohortRolledOver():
            return replace(
                state, budget_year=event.budget_year, quota=event.quota,
                coverage_start=event.coverage_start,
            )  # fmt: skip
        case SlotTaken():
            members = {**state.members, event.participant_id: event.declared_income}
            return replace(state, members=members)
        case WaitlistJoined():
            waiting = Waiting(event.participant_id, event.priority, event.declared_income)
            return replace(state, waitlist=(*state.waitlist, waiting))
        case SlotFreed():
            members = dict(state.members)
            members.pop(event.participant_id, None)
            return replace(state, members=members)
        case PromotedFromWaitlist():
            promoted = [w for w in state.waitlist if w.participant_id == event.participant_id]
            rest = tuple(w for w in state.waitlist if w.participant_id != event.participant_id)
            income = promoted[0].declared_income if promoted else 0
            members = {**state.members, event.participant_id: income}
            return replace(state, members=members, waitlist=rest)
    return state


def next_in_line(state: CohortState, policy: Policy, count: int) -> list[Waiting]:
    """Who moves up when `count` slots free: arrival order (the order of the cohort's
    WaitlistJoined), priority first by policy, with the priority each WaitlistJoined states.
    rm.participants ranks its waiting list by the same two facts of the same events."""
    line = list(state.waitlist)
    if policy.waiting_list_priority_first:
        line.sort(key=lambda w: not w.priority)  # stable: arrival order among equals
    return line[:count]


def decide_admin(
    command: CreateCohort | OpenCohort | CloseCohort | RollOverCohort,
    state: CohortState,
    policy: Policy,
) -> list[Event]:
    """Create, open, close and roll over. Promotions of a roll-over are returned as well
    (the caller also tells each promoted participant's stream)."""
    match command:
        case CreateCohort():
            if state.status != "none":
                raise Duplicate("cohort", command.cohort_id)
            _check_cohort(command)
            return [
                CohortCreated(
                    cohort_id=command.cohort_id, name=command.name, sponsor=command.sponsor,
                    budget_year=command.budget_year, quota=command.quota,
                    programmes=sorted(set(command.programmes)),
                    coverage_start=command.coverage_start, coverage_end=command.coverage_end,
                    budget_allocation=command.budget_allocation,
                    legal_basis=list(command.legal_basis), policy_version=policy.version,
                )
            ]  # fmt: skip
        case OpenCohort():
            _exists(state, command.cohort_id)
            if state.status == "open":
                raise IllegalTransition("cohort", state.status, "open", "it is already open")
            return [CohortOpened(cohort_id=command.cohort_id)]
        case CloseCohort():
            _exists(state, command.cohort_id)
            if state.status != "open":
                raise IllegalTransition("cohort", state.status, "close", "it is not open")
            return [CohortClosed(cohort_id=command.cohort_id, reason=command.reason)]
        case RollOverCohort():
            _exists(state, command.cohort_id)
            if command.budget_year <= state.budget_year:
                raise IllegalTransition(
                    "cohort", f"budget year {state.budget_year}", "roll over",
                    f"the new budget year must come after {state.budget_year}",
                )  # fmt: skip
            _check_period(command.quota, command.coverage_start, command.coverage_end,
                          command.budget_allocation)  # fmt: skip
            rolled = CohortRolledOver(
                cohort_id=command.cohort_id, budget_year=command.budget_year,
                quota=command.quota, coverage_start=command.coverage_start,
                coverage_end=command.coverage_end, budget_allocation=command.budget_allocation,
                policy_version=policy.version,
            )  # fmt: skip
            after = evolve(state, rolled)
            promoted = next_in_line(after, policy, after.free_slots)
            return [rolled] + [
                PromotedFromWaitlist(
                    cohort_id=command.cohort_id,
                    participant_id=w.participant_id,
                    reason="new_budget_year",
                )
                for w in promoted
            ]
    raise TypeError(f"not a cohort command: {command!r}")


def decide_registration(
    cohort_id: str, participant_id: str, priority: bool, declared_income: int, state: CohortState
) -> SlotTaken | WaitlistJoined:
    """A slot while the quota allows, else the waiting list. Never more than the quota."""
    _exists(state, cohort_id)
    if state.status != "open":
        raise IllegalTransition("cohort", state.status, "register", "the cohort is not open")
    if state.enrolled < state.quota:
        return SlotTaken(
            cohort_id=cohort_id, participant_id=participant_id, declared_income=declared_income
        )
    return WaitlistJoined(
        cohort_id=cohort_id, participant_id=participant_id, priority=priority,
        declared_income=declared_income,
    )  # fmt: skip


def decide_leaving(
    cohort_id: str, participant_id: str, reason: str, state: CohortState, policy: Policy
) -> list[Event]:
    """The slot frees, and the next in line takes it, if the quota has room for them: after
    a new budget year with a smaller quota, a leaving may only bring the members down to it."""
    _exists(state, cohort_id)
    freed = SlotFreed(cohort_id=cohort_id, participant_id=participant_id, reason=reason)
    promoted = next_in_line(state, policy, evolve(state, freed).free_slots)
    return [freed] + [
        PromotedFromWaitlist(cohort_id=cohort_id, participant_id=w.participant_id,
                             reason="slot_freed")
        for w in promoted
    ]  # fmt: skip


def _exists(state: CohortState, cohort_id: str) -> None:
    if state.status == "none":
        raise NotFound("cohort", cohort_id)


def _check_cohort(command: CreateCohort) -> None:
    errors = []
    if not command.cohort_id.strip() or "-" in command.cohort_id:
        errors.append(FieldError("cohort_id", "must be a non-empty id without '-'"))
    unknown = set(command.programmes) - PROGRAMMES
    if unknown:
        errors.append(FieldError("programmes", f"unknown programmes {sorted(unknown)}"))
    if not {"JKK", "JKM"} <= set(command.programmes):
        errors.append(FieldError("programmes", "a cohort covers at least JKK and JKM"))
    if not command.legal_basis:
        errors.append(FieldError("legal_basis", "name at least one legal basis"))
    if errors:
        raise ValidationFailed(errors)
    _check_period(command.quota, command.coverage_start, command.coverage_end,
                  command.budget_allocation)  # fmt: skip


def _check_period(quota: int, start: date, end: date, allocation: int) -> None:
    errors = []
    if quota <= 0:
        errors.append(FieldError("quota", "must be at least 1"))
    if end <= start:
        errors.append(FieldError("coverage_end", "must come after coverage_start"))
    if allocation < 0:
        errors.append(FieldError("budget_allocation", "must not be negative"))
    if errors:
        raise ValidationFailed(errors)


def admin_decider(policy: Policy) -> Decider[object, CohortState]:
    def decide(command: object, state: CohortState) -> Sequence[Event]:
        return decide_admin(command, state, policy)  # type: ignore[arg-type]

    return Decider(CohortState(), evolve, decide)
