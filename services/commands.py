"""Every command Jaga takes, in one place: plain data, validated by msgspec at the edge."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class CreateCohort(msgspec.Struct, frozen=True, kw_only=True):
    cohort_id: str
    name: str
    sponsor: str
    budget_year: int
    quota: int
    programmes: list[str]
    coverage_start: date
    coverage_end: date
    budget_allocation: int
    legal_basis: list[str]


class OpenCohort(msgspec.Struct, frozen=True):
    cohort_id: str


class CloseCohort(msgspec.Struct, frozen=True):
    cohort_id: str
    reason: str


class RollOverCohort(msgspec.Struct, frozen=True, kw_only=True):
    """Open a new budget year: new quota, period and allocation; the waiting list moves up."""

    cohort_id: str
    budget_year: int
    quota: int
    coverage_start: date
    coverage_end: date
    budget_allocation: int


class RegisterWorker(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the regency's list (or one form): a worker asking to join a cohort."""

    cohort_id: str
    nik: str
    name: str
    birth_date: date
    sex: str  # L / P
    phone: str
    kecamatan: str
    desa: str
    occupation: str
    declared_income: int
    priority: bool = False


class LeaveCohort(msgspec.Struct, frozen=True, kw_only=True):
    """An enrolled participant leaves: death, withdrawal, moved away, became a formal employee."""

    participant_id: str
    reason: str
    left_on: date


class RecordKpj(msgspec.Struct, frozen=True):
    participant_id: str
    kpj: str


class ChangeFunder(msgspec.Struct, frozen=True):
    participant_id: str
    funder: str
    from_month: str


class PayContributions(msgspec.Struct, frozen=True, kw_only=True):
    """Money received for contributions: for a whole cohort (a sponsor's block of 3, 6 or 12
    months, the common case) or for named participants (a worker paying for themself)."""

    reference: str  # bank transfer or receipt number: the same reference is one payment
    payer: str  # e.g. "APBD Kabupaten Kepahiang", or the participant paying
    payer_kind: str  # sponsor / participant
    channel: str  # e.g. bank_transfer, teller, virtual_account
    amount: int
    paid_at: datetime
    months: list[str]  # YYYY-MM
    cohort_id: str | None = None
    participant_ids: list[str] = msgspec.field(default_factory=list)


class ReversePayment(msgspec.Struct, frozen=True):
    reference: str
    reason: str
