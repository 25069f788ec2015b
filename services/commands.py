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


class Rejoin(msgspec.Struct, frozen=True):
    """A worker whose membership ended (lapsed for unpaid months, or left) joins again: a new
    membership from today, with waiting periods starting from zero."""

    participant_id: str


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


# -- accidents and claims ------------------------------------------------------------------------


class WitnessStatement(msgspec.Struct, frozen=True, kw_only=True):
    """A witness of an accident, as the Stage I form names them."""

    name: str
    phone: str | None = None
    statement: str = ""


class ReportAccident(msgspec.Struct, frozen=True, kw_only=True):
    """Stage I report (within 2x24 hours of the accident; a late one is accepted, flagged)."""

    accident_id: str
    participant_id: str
    occurred_at: datetime
    kind: str  # at_work, commuting, occupational_disease, outside_work
    traffic: bool = False
    place: str
    chronology: str
    witnesses: list[WitnessStatement] = msgspec.field(default_factory=list)
    police_report: str | None = None  # required for a traffic accident
    reported_at: datetime | None = None  # when the report was made; defaults to now


class ReportAccidentOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """Stage II report: the doctor's statement of outcome; it also files the JKK claim."""

    accident_id: str
    doctor_statement_at: datetime
    outcome: str  # recovered, partial_disability, total_permanent_disability, death
    disability_percent: int | None = None  # the table % for a partial disability
    impairment: str = ""
    reported_at: datetime | None = None  # defaults to now


class FileDeathClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A JKM claim: the death of a participant not from a work accident."""

    participant_id: str
    died_on: date
    filed_at: datetime | None = None  # defaults to now


class HeirStatement(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    nik: str
    relation: str  # spouse, child, parent, grandparent, grandchild, sibling, parent_in_law,
    # named_in_will


class NameHeirs(msgspec.Struct, frozen=True, kw_only=True):
    """The heirs of a deceased participant (from the heir statement)."""

    claim_id: str
    heirs: list[HeirStatement]


class AssignClaim(msgspec.Struct, frozen=True):
    """Give a claim to an officer. Taking a claim someone else works is a reassignment, which
    must be said (`reassign`; the API lets only supervisors say it)."""

    claim_id: str
    officer: str
    reassign: bool = False


class ReceiveClaimDocument(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    document: str  # see services/claim_documents.py
    reference: str = ""
    received_at: datetime | None = None  # defaults to now


class SubmitClaim(msgspec.Struct, frozen=True):
    claim_id: str


class StartVerification(msgspec.Struct, frozen=True):
    claim_id: str


class ReturnClaim(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    missing: list[str]
    reason: str


class TripCost(msgspec.Struct, frozen=True):
    mode: str  # land, sea, air
    cost: int


class StmbPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """A period of temporary incapacity to work (both days included)."""

    incapacity_from: date
    period_from: date
    period_to: date


class ScholarshipClaim(msgspec.Struct, frozen=True, kw_only=True):
    child: str
    birth_date: date
    level: str  # tk, sd, smp, sma, university
    year_of_level: int
    married: bool = False
    working: bool = False


class DecideClaim(msgspec.Struct, frozen=True, kw_only=True):
    """Decide a claim under verification: eligibility from the participant's history as known
    now, and the benefit lines from the bills and periods the documents show. Above the
    four-eyes threshold this is the first of two approvals."""

    claim_id: str
    medical_billed: int = 0
    trips: list[TripCost] = msgspec.field(default_factory=list)
    stmb: list[StmbPeriod] = msgspec.field(default_factory=list)
    scholarships: list[ScholarshipClaim] = msgspec.field(default_factory=list)


class ApproveClaim(msgspec.Struct, frozen=True):
    """The second approval of a claim that needs four eyes (another officer)."""

    claim_id: str


class RejectClaim(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    reason: str


class RecordClaimPayment(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    reference: str
    paid_at: datetime


class ReopenClaim(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    reason: str
