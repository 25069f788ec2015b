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

FUNDERS = ("apbd_kabupaten", "apbd_provinsi", "mandiri")
LEAVING_REASONS = ("death", "withdrawal", "moved_away", "formal_employee")


class ParticipantState(msgspec.Struct, frozen=True):
    participant_id: str = ""
    status: str = "none"  # none, waitlisted, enrolled, left
    cohort_id: str = ""
    enrolled_on: date | None = None
    kpj: str | None = None
    funder: str = "apbd_kabupaten"
    declared_income: int = 0
    priority: bool = False
    """Flagged priority at registration (e.g. extreme-poverty household): it belongs to the
    person, so a re-join that has to wait keeps it."""
    programmes: tuple[str, ...] = ()
    left_reason: str | None = None


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
                enrolled_on=event.enrolled_on, programmes=tuple(event.programmes),
            )  # fmt: skip
        case ParticipantLeft():
            return replace(state, status="left", left_reason=event.reason)
        case KpjRecorded():
            return replace(state, kpj=event.kpj)
        case FunderChanged():
            return replace(state, funder=event.funder)
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
    """Only a member leaves, for a known reason, on a day of their current membership up to
    `today` (the business date, Asia/Jakarta): a leaving is recorded once it has happened, and
    a day before the current enrolment started belongs to no membership or to one already
    ended (services/domain/coverage.py would end nothing, or end the new one too early)."""
    _exists(state, participant_id)
    errors: list[FieldError] = []
    if reason not in LEAVING_REASONS:
        errors.append(FieldError("reason", f"one of {', '.join(LEAVING_REASONS)}"))
    if left_on > today:
        errors.append(FieldError("left_on", f"{left_on} is after today, {today}"))
    elif state.status == "enrolled" and state.enrolled_on and left_on < state.enrolled_on:
        errors.append(
            FieldError(
                "left_on",
                f"{left_on} is before the current membership started on {state.enrolled_on}",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    if state.status != "enrolled":
        raise IllegalTransition("participant", state.status, "leave", "only members can leave")


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
