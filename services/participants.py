"""The participant decider: one worker's membership history in their own stream."""

from __future__ import annotations

from datetime import date

import msgspec

from events.catalog import (
    FunderChanged,
    KpjRecorded,
    ParticipantEnrolled,
    ParticipantLeft,
    ParticipantRegistered,
    ParticipantWaitlisted,
)
from events.types import Event
from services.commands import ChangeFunder, RecordKpj
from services.domain.calendar import Month
from services.domain.coverage import ContributionHistory
from services.domain.errors import FieldError, IllegalTransition, NotFound, ValidationFailed
from services.domain.funders import FunderChange, funder_in

FUNDERS = ("apbd_kabupaten", "apbd_provinsi", "mandiri")
LEAVING_REASONS = ("death", "withdrawal", "moved_away", "formal_employee")
DEFAULT_FUNDER = "apbd_kabupaten"
"""Who the participant state names as funder until a FunderChanged says otherwise."""


class ParticipantState(msgspec.Struct, frozen=True):
    participant_id: str = ""
    status: str = "none"  # none, waitlisted, enrolled, left
    cohort_id: str = ""
    enrolled_on: date | None = None
    """The first day of the current (or last) membership."""
    decided_on: date | None = None
    """The business date the current enrolment was made, on or before `enrolled_on` (None:
    recorded before ParticipantEnrolled kept it; the event's occurred_at tells it)."""
    kpj: str | None = None
    funders: tuple[FunderChange, ...] = ()
    """Every change of funder, in the order recorded: `funder_of` a month."""
    declared_income: int = 0
    priority: bool = False
    """Flagged priority at registration (e.g. extreme-poverty household): it belongs to the
    person, so a re-join that has to wait keeps it."""
    programmes: tuple[str, ...] = ()
    left_reason: str | None = None

    @property
    def funder(self) -> str:
        """The funder named by the latest change recorded (whatever month it starts from)."""
        return self.funders[-1].funder if self.funders else DEFAULT_FUNDER

    def funder_of(self, month: Month) -> str:
        """Who funds `month` (services.domain.funders.funder_in); before every change, the
        default funder."""
        return funder_in(self.funders, month) or DEFAULT_FUNDER


def evolve(state: ParticipantState, event: Event) -> ParticipantState:
    replace = msgspec.structs.replace
    match event:
        case ParticipantRegistered():
            return ParticipantState(
                event.participant_id, "registered", event.cohort_id,
                declared_income=event.declared_income, priority=event.priority,
            )  # fmt: skip
        case ParticipantWaitlisted():
            return replace(state, status="waitlisted", cohort_id=event.cohort_id)
        case ParticipantEnrolled():
            return replace(
                state, status="enrolled", cohort_id=event.cohort_id,
                enrolled_on=event.enrolled_on, decided_on=event.decided_on,
                programmes=tuple(event.programmes),
            )  # fmt: skip
        case ParticipantLeft():
            return replace(state, status="left", left_reason=event.reason)
        case KpjRecorded():
            return replace(state, kpj=event.kpj)
        case FunderChanged():
            change = FunderChange(Month.parse(event.from_month), event.funder)
            return replace(state, funders=(*state.funders, change))
    return state


def decide_kpj(command: RecordKpj, state: ParticipantState) -> list[Event]:
    _exists(state, command.participant_id)
    kpj = command.kpj.strip()
    if not kpj.isdigit() or not 8 <= len(kpj) <= 13:
        raise ValidationFailed.one("kpj", "a KPJ number is 8 to 13 digits")
    if state.kpj == kpj:
        return []
    return [KpjRecorded(participant_id=command.participant_id, kpj=kpj)]


def decide_funder(command: ChangeFunder, state: ParticipantState) -> list[Event]:
    _exists(state, command.participant_id)
    errors = []
    if command.funder not in FUNDERS:
        errors.append(FieldError("funder", f"one of {', '.join(FUNDERS)}"))
    try:
        month = Month.parse(command.from_month, "from_month")
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    if state.status == "left":
        raise IllegalTransition("participant", state.status, "change funder", "they have left")
    return [
        FunderChanged(participant_id=command.participant_id, funder=command.funder,
                      from_month=str(month))
    ]  # fmt: skip


def check_can_leave(
    participant_id: str, reason: str, left_on: date, today: date, state: ParticipantState
) -> None:
    """Only a member leaves, for a known reason, on a day from the one their current
    enrolment was made (`state.decided_on`; `enrolled_on` when not known) up to `today` (the
    business date, Asia/Jakarta): a leaving is recorded once it has happened, and a day before
    the enrolment belongs to no membership or to one already ended. A day before the
    membership starts (an enrolment into a cohort's coverage start or the next budget year)
    is a day they may leave on: that cancels the membership (services/domain/coverage.py)."""
    _exists(state, participant_id)
    errors: list[FieldError] = []
    if reason not in LEAVING_REASONS:
        errors.append(FieldError("reason", f"one of {', '.join(LEAVING_REASONS)}"))
    enrolled = enrolment_made_on(state)
    if left_on > today:
        errors.append(FieldError("left_on", f"{left_on} is after today, {today}"))
    elif state.status == "enrolled" and enrolled is not None and left_on < enrolled:
        errors.append(
            FieldError("left_on", f"{left_on} is before the current enrolment, made on {enrolled}")
        )
    if errors:
        raise ValidationFailed(errors)
    if state.status != "enrolled":
        raise IllegalTransition("participant", state.status, "leave", "only members can leave")


def enrolment_made_on(state: ParticipantState) -> date | None:
    """The day the current enrolment was made: its decision date, never after the day the
    membership starts (that day itself when the decision date is not known)."""
    if state.enrolled_on is None or state.decided_on is None:
        return state.enrolled_on
    return min(state.decided_on, state.enrolled_on)


def check_can_rejoin(
    participant_id: str, state: ParticipantState, history: ContributionHistory | None
) -> None:
    """Only someone whose membership ended, and who is alive, joins again."""
    _exists(state, participant_id)
    if state.status == "left" and state.left_reason == "death":
        raise IllegalTransition("participant", "deceased", "rejoin", "they have died")
    lapsed = history is not None and history.current_period is None
    if state.status == "enrolled" and not lapsed:
        raise IllegalTransition("participant", state.status, "rejoin",
                                "their membership is still running")  # fmt: skip
    if state.status in ("registered", "waitlisted"):
        raise IllegalTransition("participant", state.status, "rejoin", "they never joined")


def _exists(state: ParticipantState, participant_id: str) -> None:
    if state.status == "none":
        raise NotFound("participant", participant_id)
