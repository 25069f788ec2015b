"""Typed domain errors.

The domain refuses things by raising one of these; the API layer maps each `code` to a
4xx response later. They know nothing of HTTP. Every message names what was refused, the
key involved and, where it applies, what was expected and what was found, so a log line
alone explains the refusal.

Each subclass keeps its parts as attributes and rebuilds itself from them when unpickled
(e.g. across a worker boundary).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import msgspec


class DomainError(Exception):
    """Base of every refusal by a domain rule: a stable machine `code` and a human `detail`."""

    code: ClassVar[str] = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class NotFound(DomainError):
    """A thing the command refers to does not exist (e.g. an unknown participant)."""

    code: ClassVar[str] = "not_found"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key

    def __reduce__(self) -> tuple[type[NotFound], tuple[str, str]]:
        return (type(self), (self.kind, self.key))


class Duplicate(DomainError):
    """A thing that must be unique exists already (e.g. a second registration of a NIK)."""

    code: ClassVar[str] = "duplicate"

    def __init__(self, kind: str, key: str, existing: str = "") -> None:
        where = f" (already recorded as {existing})" if existing else ""
        super().__init__(f"{kind} {key!r} already exists{where}")
        self.kind = kind
        self.key = key
        self.existing = existing

    def __reduce__(self) -> tuple[type[Duplicate], tuple[str, str, str]]:
        return (type(self), (self.kind, self.key, self.existing))


class DeathAlreadyClaimed(DomainError):
    """A claim for a participant's death while another claim for it stands. A person dies once:
    their death is claimed by a JKM claim or by the JKK claim of the accident that killed them,
    never both, and never twice. The standing claim must be rejected first (a rejected claim
    lets go of the death; services/claim_decider.py `reserve_death`)."""

    code: ClassVar[str] = "death_already_claimed"

    def __init__(
        self, participant_id: str, claim_id: str, claim_kind: str, claim_state: str
    ) -> None:
        super().__init__(
            f"the death of participant {participant_id!r} is already claimed by {claim_kind} "
            f"claim {claim_id!r} (state {claim_state!r}): a person dies once; that claim must be "
            "rejected before another is filed for the same death"
        )
        self.participant_id = participant_id
        self.claim_id = claim_id
        self.claim_kind = claim_kind
        self.claim_state = claim_state

    def __reduce__(self) -> tuple[type[DeathAlreadyClaimed], tuple[str, str, str, str]]:
        return (type(self), (self.participant_id, self.claim_id, self.claim_kind,
                             self.claim_state))  # fmt: skip


class QuotaExceeded(DomainError):
    """A cohort has no free slot: enrolling one more would break its quota."""

    code: ClassVar[str] = "quota_exceeded"

    def __init__(self, cohort: str, quota: int, active: int) -> None:
        super().__init__(f"cohort {cohort!r} is full: quota {quota}, active enrolments {active}")
        self.cohort = cohort
        self.quota = quota
        self.active = active

    def __reduce__(self) -> tuple[type[QuotaExceeded], tuple[str, int, int]]:
        return (type(self), (self.cohort, self.quota, self.active))


class IllegalTransition(DomainError):
    """An action not allowed from the current state (e.g. paying a rejected claim)."""

    code: ClassVar[str] = "illegal_transition"

    def __init__(self, entity: str, state: str, action: str, reason: str = "") -> None:
        why = f": {reason}" if reason else ""
        super().__init__(f"{entity}: cannot {action} from state {state!r}{why}")
        self.entity = entity
        self.state = state
        self.action = action
        self.reason = reason

    def __reduce__(self) -> tuple[type[IllegalTransition], tuple[str, str, str, str]]:
        return (type(self), (self.entity, self.state, self.action, self.reason))


class FieldError(msgspec.Struct, frozen=True):
    """One invalid input field and why it is invalid."""

    field: str
    reason: str


class ValidationFailed(DomainError):
    """Input that breaks a domain rule; carries every field error found, not just the first."""

    code: ClassVar[str] = "validation_failed"

    def __init__(self, errors: Iterable[FieldError]) -> None:
        found = tuple(errors)
        if not found:
            raise ValueError("ValidationFailed needs at least one field error")
        detail = "; ".join(f"{e.field}: {e.reason}" for e in found)
        super().__init__(detail)
        self.errors = found

    def __reduce__(self) -> tuple[type[ValidationFailed], tuple[tuple[FieldError, ...]]]:
        return (type(self), (self.errors,))

    @classmethod
    def one(cls, field: str, reason: str) -> ValidationFailed:
        """The common case: a single field is wrong."""
        return cls([FieldError(field, reason)])
