"""Domain errors: stable codes, messages that name everything, and pickling."""

from __future__ import annotations

import pickle

import pytest

from services.domain.errors import (
    DeathAlreadyClaimed,
    DomainError,
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    QuotaExceeded,
    ValidationFailed,
)

ALL = [
    NotFound("participant", "p-1"),
    Duplicate("participant", "hash-1", "p-0"),
    QuotaExceeded("kepahiang-2025", 1984, 1984),
    IllegalTransition("claim c-1", "rejected", "pay", "a rejected claim is closed"),
    ValidationFailed([FieldError("nik", "too short"), FieldError("desa", "unknown")]),
    DeathAlreadyClaimed("p-1", "c-1", "JKK", "approved"),
]


def test_each_error_has_its_own_stable_code() -> None:
    # Given every error kind
    codes = [type(e).code for e in ALL]
    # Then codes are distinct and machine-readable
    assert codes == [
        "not_found",
        "duplicate",
        "quota_exceeded",
        "illegal_transition",
        "validation_failed",
        "death_already_claimed",
    ]
    assert all(isinstance(e, DomainError) for e in ALL)


def test_messages_name_what_key_expected_and_actual() -> None:
    assert str(NotFound("participant", "p-1")) == "participant 'p-1' not found"
    assert "already recorded as p-0" in Duplicate("participant", "h", "p-0").detail
    assert QuotaExceeded("k", 1984, 1984).detail == (
        "cohort 'k' is full: quota 1984, active enrolments 1984"
    )
    assert IllegalTransition("claim c-1", "rejected", "pay", "closed").detail == (
        "claim c-1: cannot pay from state 'rejected': closed"
    )
    assert DeathAlreadyClaimed("p-1", "c-1", "JKM", "reported").detail == (
        "the death of participant 'p-1' is already claimed by JKM claim 'c-1' (state "
        "'reported'): a person dies once; that claim must be rejected before another is filed "
        "for the same death"
    )


def test_validation_failed_carries_every_field_error() -> None:
    # When two fields are wrong
    error = ValidationFailed([FieldError("nik", "too short"), FieldError("desa", "unknown")])
    # Then both are listed, in order, and in the detail
    assert [e.field for e in error.errors] == ["nik", "desa"]
    assert error.detail == "nik: too short; desa: unknown"
    assert ValidationFailed.one("sex", "bad").errors == (FieldError("sex", "bad"),)


def test_validation_failed_needs_at_least_one_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ValidationFailed([])


@pytest.mark.parametrize("error", ALL, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling(error: DomainError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.detail == error.detail
    assert copy.code == error.code
