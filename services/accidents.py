"""The accident decider: Stage I and Stage II reports of one accident (stream accident-<id>).

Stage I (within 2x24 hours of the accident) says what happened: when, what kind, where, the
chronology, two witnesses, and a police report for a traffic accident. A late report is
accepted and flagged with the hours late. Stage II (within 2x24 hours of the doctor's
statement) gives the outcome; it is also the benefit application, so the handler files the
JKK claim with it (services/claim_decider.file_jkk).

Pure: the caller passes `now` and the policy.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

import msgspec

from events.catalog import AccidentOutcomeReported, AccidentReported, Witness
from events.types import Event
from services.commands import ReportAccident, ReportAccidentOutcome
from services.domain.errors import (
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from services.domain.policy import Policy
from services.domain.sla import stage_one_report, stage_two_report


class AccidentKind(StrEnum):
    AT_WORK = "at_work"
    COMMUTING = "commuting"
    """On the way between home and work."""
    OCCUPATIONAL_DISEASE = "occupational_disease"
    OUTSIDE_WORK = "outside_work"
    """Reported, but not a work accident: a JKK claim for it is rejected."""


WORK_ACCIDENTS = frozenset({AccidentKind.AT_WORK, AccidentKind.COMMUTING,
                            AccidentKind.OCCUPATIONAL_DISEASE})  # fmt: skip


class Outcome(StrEnum):
    RECOVERED = "recovered"
    PARTIAL_DISABILITY = "partial_disability"
    TOTAL_PERMANENT_DISABILITY = "total_permanent_disability"
    DEATH = "death"


WITNESSES_REQUIRED = 2
"""domain.md: the Stage I report names two witnesses. An occupational disease has no moment
anybody could witness, so none are required for it (our reading)."""

_WITNESS_NAMESPACE = uuid.UUID("8d3e2a51-1f0b-4c7e-9a3d-5b6c7d8e9f10")


class AccidentState(msgspec.Struct, frozen=True):
    accident_id: str = ""
    status: str = "none"  # none, reported, outcome_reported
    participant_id: str = ""
    occurred_at: datetime | None = None
    kind: str = ""
    traffic: bool = False
    outcome: AccidentOutcomeReported | None = None


def evolve(state: AccidentState, event: Event) -> AccidentState:
    match event:
        case AccidentReported():
            return AccidentState(
                event.accident_id, "reported", event.participant_id, event.occurred_at,
                event.kind, event.traffic,
            )  # fmt: skip
        case AccidentOutcomeReported():
            return msgspec.structs.replace(state, status="outcome_reported", outcome=event)
    return state


def accident_stream(accident_id: str) -> str:
    return f"accident-{accident_id}"


def witness_id(accident_id: str, n: int) -> str:
    """The data subject id of the n-th witness of an accident: their personal data is theirs,
    sealed under their own key (stable, so a retried report seals it under the same id)."""
    return str(uuid.uuid5(_WITNESS_NAMESPACE, f"{accident_id}/{n}"))


E = TypeVar("E", bound=StrEnum)


def _choice(errors: list[FieldError], choices: type[E], value: str, field: str) -> E | None:
    """`value` as one of an enumeration's members, or a field error listing them."""
    try:
        return choices(value)
    except ValueError:
        errors.append(FieldError(field, f"one of {', '.join(c.value for c in choices)}"))
        return None


def _aware(errors: list[FieldError], value: datetime | None, field: str) -> None:
    if value is not None and value.utcoffset() is None:
        errors.append(FieldError(field, "an instant with its time zone"))


def decide_report(
    command: ReportAccident, state: AccidentState, *, now: datetime, policy: Policy
) -> list[Event]:
    """Stage I. Refuses a second report of the same accident and an incomplete report."""
    if state.status != "none":
        raise Duplicate("accident", command.accident_id, existing=state.participant_id)
    errors: list[FieldError] = []
    _aware(errors, command.occurred_at, "occurred_at")
    _aware(errors, command.reported_at, "reported_at")
    kind = _choice(errors, AccidentKind, command.kind, "kind")
    if not command.place.strip():
        errors.append(FieldError("place", "where the accident happened is required"))
    if not command.chronology.strip():
        errors.append(FieldError("chronology", "how the accident happened is required"))
    witnesses = [w for w in command.witnesses if w.name.strip()]
    if kind is not AccidentKind.OCCUPATIONAL_DISEASE and len(witnesses) < WITNESSES_REQUIRED:
        errors.append(FieldError(
            "witnesses", f"{WITNESSES_REQUIRED} witnesses with their names, got {len(witnesses)}"
        ))  # fmt: skip
    police = (command.police_report or "").strip() or None
    if command.traffic and police is None:
        errors.append(FieldError("police_report", "a traffic accident needs a police report"))
    if errors:
        raise ValidationFailed(errors)
    assert kind is not None
    reported_at = command.reported_at or now
    _in_order(command.occurred_at, reported_at, now, "occurred_at", "reported_at")
    deadline = stage_one_report(
        command.occurred_at, now=now, reported_at=reported_at, hours=policy.stage_one_report_hours
    )
    return [
        AccidentReported(
            accident_id=command.accident_id, participant_id=command.participant_id,
            occurred_at=command.occurred_at, kind=kind.value, traffic=command.traffic,
            place=command.place.strip(), chronology=command.chronology.strip(),
            witnesses=[
                Witness(person_id=witness_id(command.accident_id, n), name=w.name.strip(),
                        phone=(w.phone or "").strip() or None, statement=w.statement.strip())
                for n, w in enumerate(witnesses, 1)
            ],
            police_report=police, reported_at=reported_at, deadline=deadline.deadline,
            late=deadline.late, hours_late=deadline.hours_late, policy_version=policy.version,
        )
    ]  # fmt: skip


def decide_outcome(
    command: ReportAccidentOutcome, state: AccidentState, *, now: datetime, policy: Policy
) -> list[Event]:
    """Stage II: the doctor's outcome. One per accident; a Stage I report must come first."""
    if state.status == "none":
        raise NotFound("accident", command.accident_id)
    if state.status != "reported":
        raise IllegalTransition(
            "accident", state.status, "report the outcome", "the Stage II report is already in"
        )
    errors: list[FieldError] = []
    _aware(errors, command.doctor_statement_at, "doctor_statement_at")
    _aware(errors, command.reported_at, "reported_at")
    outcome = _choice(errors, Outcome, command.outcome, "outcome")
    percent = command.disability_percent
    if outcome is Outcome.PARTIAL_DISABILITY and (percent is None or not 0 < percent <= 100):
        errors.append(FieldError("disability_percent", "the table % of the impairment, 1-100"))
    if outcome is not Outcome.PARTIAL_DISABILITY and percent is not None:
        errors.append(FieldError("disability_percent", "only for a partial disability"))
    if errors:
        raise ValidationFailed(errors)
    assert outcome is not None and state.occurred_at is not None
    reported_at = command.reported_at or now
    _in_order(state.occurred_at, command.doctor_statement_at, now, "occurred_at",
              "doctor_statement_at")  # fmt: skip
    _in_order(command.doctor_statement_at, reported_at, now, "doctor_statement_at",
              "reported_at")  # fmt: skip
    deadline = stage_two_report(
        command.doctor_statement_at, now=now, reported_at=reported_at,
        hours=policy.stage_two_report_hours,
    )  # fmt: skip
    return [
        AccidentOutcomeReported(
            accident_id=command.accident_id, participant_id=state.participant_id,
            doctor_statement_at=command.doctor_statement_at, outcome=outcome.value,
            disability_percent=percent, impairment=command.impairment.strip(),
            reported_at=reported_at, deadline=deadline.deadline, late=deadline.late,
            hours_late=deadline.hours_late, policy_version=policy.version,
        )
    ]  # fmt: skip


def _in_order(first: datetime, then: datetime, now: datetime, a: str, b: str) -> None:
    """`first` <= `then` <= now, or a ValidationFailed naming the fields."""
    if then > now:
        raise ValidationFailed.one(b, f"{then.isoformat()} is in the future")
    if then < first:
        raise ValidationFailed.one(b, f"{then.isoformat()} is before {a} {first.isoformat()}")
