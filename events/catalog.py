"""Every event type Jaga records, in one place: a reader learns the system from this file.

Personal fields are typed `Personal` (sealed per data subject, see events/personal.py); each
event type or nested struct holding them names its data subject's field in `__subject__`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import msgspec

from events.personal import Personal
from events.types import Event, EventRegistry

registry = EventRegistry()


# -- personal data -----------------------------------------------------------------------------


@registry.event()
class PersonalDataErased(Event, frozen=True):
    """A data subject's key was destroyed: their personal values read as "dihapus" from now on."""

    subject_id: str
    reason: str


# -- cohorts (stream cohort-<id>): the quota lives here, so its version guards it -------------


class CohortCreated(Event, frozen=True):
    """A funded intake: who pays, for which budget year, how many workers, what cover."""

    cohort_id: str
    name: str
    sponsor: str  # e.g. "APBD Kabupaten Kepahiang"
    budget_year: int
    quota: int
    programmes: list[str]  # JKK, JKM, optionally JHT
    coverage_start: date
    coverage_end: date
    budget_allocation: int  # rupiah
    legal_basis: list[str]  # e.g. ["Inpres 2/2021", "Inpres 8/2025"]
    policy_version: str


class CohortOpened(Event, frozen=True):
    cohort_id: str


class CohortClosed(Event, frozen=True):
    cohort_id: str
    reason: str


class CohortRolledOver(Event, frozen=True):
    """A new budget year: new quota, period and allocation; the waiting list moves up."""

    cohort_id: str
    budget_year: int
    quota: int
    coverage_start: date
    coverage_end: date
    budget_allocation: int
    policy_version: str


class SlotTaken(Event, frozen=True):
    """A registration took one of the cohort's slots (in arrival order)."""

    cohort_id: str
    participant_id: str
    declared_income: int  # what the cohort's contributions for this member are computed from


class WaitlistJoined(Event, frozen=True):
    """A registration (or a re-join) found the cohort full and waits for a slot."""

    cohort_id: str
    participant_id: str
    priority: bool
    """The priority the entry waits with, which the promotions and rm.participants both rank
    by: the one the participant registered with. (Re-joins recorded before this was so carry
    False, and wait without it.)"""
    declared_income: int


class SlotFreed(Event, frozen=True):
    """An enrolled participant left the cohort: death, withdrawal, moved away, formal job."""

    cohort_id: str
    participant_id: str
    reason: str


class PromotedFromWaitlist(Event, frozen=True):
    cohort_id: str
    participant_id: str
    reason: str  # "slot_freed" or "new_budget_year"


# -- participants (stream participant-<id>) ---------------------------------------------------


class ParticipantRegistered(Event, frozen=True):
    """A worker registered into a cohort. NIK, name, birth date, phone and address are sealed
    under the participant's own key; the keyed NIK hash allows lookups and duplicate checks."""

    __subject__: ClassVar[str] = "participant_id"
    participant_id: str
    cohort_id: str
    nik: Personal
    nik_hash: str
    name: Personal
    birth_date: Personal  # ISO date; personal, so it can be erased
    sex: str  # L / P
    phone: Personal
    kecamatan: Personal  # the address (by official code) is personal data too
    desa: Personal
    occupation: str
    declared_income: int
    priority: bool
    policy_version: str


class ParticipantEnrolled(Event, frozen=True):
    """Membership in the cohort starts (took a slot at registration or was promoted)."""

    participant_id: str
    cohort_id: str
    enrolled_on: date
    programmes: list[str]  # the cover the membership gives (JKK, JKM, JHT)
    decided_on: date | None = None
    """The business date the enrolment was made (registration, promotion or re-join), on or
    before `enrolled_on`: a membership can start later, at the cohort's coverage start or
    the first day of the next budget year. None in enrolments recorded before it was kept:
    the business date of the event's occurred_at tells it."""


class ParticipantWaitlisted(Event, frozen=True):
    participant_id: str
    cohort_id: str


class ParticipantLeft(Event, frozen=True):
    participant_id: str
    cohort_id: str
    reason: str  # death, withdrawal, moved_away, formal_employee
    left_on: date
    enrolled_on: date | None = None
    """The first day of the membership left (the current enrolment's enrolled_on): a
    leaving dated before it cancels that membership (services/domain/coverage.py). None in
    leavings recorded before it was kept: they are read by their date alone."""


class KpjRecorded(Event, frozen=True):
    """BPJS issued the participant number (KPJ)."""

    participant_id: str
    kpj: str


class FunderChanged(Event, frozen=True):
    """Who pays from a month on: a sponsor (regency or province APBD) or the worker (mandiri)."""

    participant_id: str
    funder: str
    from_month: str  # YYYY-MM


# -- contributions (stream payment-<id>; each participant's share in their own stream) ---------


class PaymentRecorded(Event, frozen=True):
    """Money received for contributions, and how it was shared out: whole participant-months in
    roster order while the money lasts (the rest stays in arrears), any remainder held as
    credit for the payer (policy)."""

    payment_id: str
    reference: str  # bank or receipt number: one reference, one payment
    payer: str
    payer_kind: str  # sponsor / participant
    channel: str
    amount: int
    paid_at: datetime
    months: list[str]  # YYYY-MM
    cohort_id: str | None
    participant_ids: list[str]
    amount_due: int
    credit: int
    shortfall: int
    rate_version: str
    policy_version: str


class ContributionPaid(Event, frozen=True):
    """One participant's share of a payment: the months it pays in full."""

    participant_id: str
    payment_id: str
    reference: str
    payer: str
    months: list[str]
    amount: int
    paid_at: datetime


class PaymentReversed(Event, frozen=True):
    """The money did not arrive after all (a bounced transfer): as if never paid."""

    payment_id: str
    reference: str
    reason: str


class ContributionReversed(Event, frozen=True):
    participant_id: str
    payment_id: str
    reference: str


for _type in (
    CohortCreated, CohortOpened, CohortClosed, CohortRolledOver, SlotTaken, WaitlistJoined,
    SlotFreed, PromotedFromWaitlist, ParticipantRegistered, ParticipantEnrolled,
    ParticipantWaitlisted, ParticipantLeft, KpjRecorded, FunderChanged, PaymentRecorded,
    ContributionPaid, PaymentReversed, ContributionReversed,
):  # fmt: skip
    registry.register(_type)


# -- accidents (stream accident-<id>) and claims (stream claim-<id>) --------------------------
#
# A Stage I report opens an accident; its Stage II report (the doctor's outcome) is also the
# JKK benefit application and files the claim. A JKM claim is filed for a death; a claim for a
# death (JKM, or JKK whose outcome is death) also takes it in stream death-<participant_id>, so
# that one death has one standing claim. Every claim decision records the officer, when it was
# decided, what Jaga knew then (`known_at`) and the versions of the rules (BenefitRules,
# Policy) it was decided under.


class ClaimLine(msgspec.Struct, frozen=True, kw_only=True):
    """One benefit line as decided: its kind (medical, transport, stmb, disability, death,
    funeral, periodic, scholarship, late_penalty), amount, the formula with its numbers, and
    the version of the benefit rules that produced it."""

    kind: str
    amount: int
    formula: str
    description: str
    rules_version: str


class Witness(msgspec.Struct, frozen=True, kw_only=True):
    """Someone who saw the accident: their personal data is sealed under their own key."""

    __subject__: ClassVar[str] = "person_id"
    person_id: str
    name: Personal
    phone: Personal | None = None
    statement: Personal = ""


class AccidentReported(Event, frozen=True):
    """Stage I report. A late report is accepted and flagged with the hours late."""

    __subject__: ClassVar[str] = "participant_id"
    accident_id: str
    participant_id: str
    occurred_at: datetime
    kind: str  # at_work, commuting, occupational_disease, outside_work
    traffic: bool
    place: Personal
    chronology: Personal
    witnesses: list[Witness]
    police_report: str | None
    reported_at: datetime
    deadline: datetime
    late: bool
    hours_late: int
    policy_version: str


class AccidentOutcomeReported(Event, frozen=True):
    """Stage II report: the doctor's statement of outcome (also the benefit application)."""

    accident_id: str
    participant_id: str
    doctor_statement_at: datetime
    outcome: str  # recovered, partial_disability, total_permanent_disability, death
    disability_percent: int | None
    impairment: str
    reported_at: datetime
    deadline: datetime
    late: bool
    hours_late: int
    policy_version: str


class ClaimFiled(Event, frozen=True):
    """A JKK claim (one per accident) or a JKM claim (one per death), with the facts its
    decision needs and the documents it requires."""

    claim_id: str
    kind: str  # JKK / JKM
    participant_id: str
    accident_id: str | None
    event_on: date  # the accident date (JKK) or the date of death (JKM)
    filed_at: datetime
    accident_kind: str | None
    traffic: bool
    outcome: str | None
    disability_percent: int | None
    impairment: str
    required_documents: list[str]
    policy_version: str


class ClaimAssigned(Event, frozen=True):
    claim_id: str
    officer: str
    assigned_by: str


class ClaimDocumentReceived(Event, frozen=True):
    claim_id: str
    document: str
    reference: str  # the document's number, or where the copy is kept
    received_at: datetime
    officer: str


class ClaimDocumentsIncomplete(Event, frozen=True):
    """Submitted with documents missing: the claim waits for them."""

    claim_id: str
    missing: list[str]
    officer: str


class ClaimSubmitted(Event, frozen=True):
    """Every required document is in: the SLA runs from `documents_complete_at`."""

    claim_id: str
    documents_complete_at: datetime
    sla_working_days: int
    officer: str
    policy_version: str


class ClaimVerificationStarted(Event, frozen=True):
    claim_id: str
    officer: str


class ClaimReturned(Event, frozen=True):
    """Sent back for missing (or unusable) documents."""

    claim_id: str
    missing: list[str]
    reason: str
    officer: str


class Eligibility(msgspec.Struct, frozen=True, kw_only=True):
    """What a claim decision found in the participant's history, as known at `known_at`."""

    known_at: datetime
    participant_version: int
    event_on: date
    member: bool
    covered: bool
    coverage_reason: str
    coverage_explanation: str
    coverage_rules_version: str
    membership_months: int
    contribution_months: int
    programmes: list[str]
    wage: int
    claim_last_day: date
    filed_on: date
    reasons: list[str]  # every rule that refuses the claim; empty when eligible

    @property
    def eligible(self) -> bool:
        return not self.reasons


class ClaimApprovalProposed(Event, frozen=True):
    """The first of two approvals (four eyes, above the policy threshold)."""

    claim_id: str
    officer: str
    decided_at: datetime
    eligibility: Eligibility
    lines: list[ClaimLine]
    not_granted: list[str]
    total: int
    benefit_rules_version: str
    policy_version: str


class Heir(msgspec.Struct, frozen=True, kw_only=True):
    """Someone who receives a death benefit: their identity is sealed under their own key."""

    __subject__: ClassVar[str] = "person_id"
    person_id: str
    name: Personal
    nik: Personal
    relation: str  # see services/domain/heirs.py
    payee: bool  # of the first heir class that has anyone: the benefit goes to them


class ClaimHeirsNamed(Event, frozen=True):
    """The heirs of a deceased participant, from the heir statement (replaces earlier ones)."""

    claim_id: str
    heirs: list[Heir]
    officer: str


class ClaimApproved(Event, frozen=True):
    claim_id: str
    officer: str
    first_officer: str | None  # the officer who proposed it, when four eyes were needed
    decided_at: datetime
    eligibility: Eligibility
    lines: list[ClaimLine]
    not_granted: list[str]
    total: int
    benefit_rules_version: str
    policy_version: str


class ClaimRejected(Event, frozen=True):
    claim_id: str
    officer: str
    decided_at: datetime
    reasons: list[str]
    eligibility: Eligibility | None
    policy_version: str


class ClaimPaid(Event, frozen=True):
    """The benefit was paid; a payment after the SLA deadline adds the late penalty."""

    claim_id: str
    reference: str
    paid_at: datetime
    benefit: int
    working_days_late: int
    penalty: ClaimLine | None
    amount: int
    officer: str
    policy_version: str


class ClaimReopened(Event, frozen=True):
    claim_id: str
    reason: str
    officer: str


class ClaimSlaFlagged(Event, frozen=True):
    """The SLA watch found a claim near (`level` "near") or past ("breached") its payment
    deadline and told its officer and the supervisors (`notify`). Decides nothing about the
    claim: recorded once per claim, level and deadline."""

    claim_id: str
    level: str  # near, breached
    deadline: date
    working_days_left: int
    working_days_late: int
    accrued_penalty: int  # the late penalty were it paid on the day of the flag
    officer: str | None
    notify: list[str]  # e.g. ["officer:ani", "role:supervisor"]


class DeathClaimReserved(Event, frozen=True):
    """A claim takes a participant's death (stream death-<participant_id>): a person dies once,
    so one claim at a time stands for it, a JKM claim or the JKK claim of the accident that
    killed them. Appended in the same append as the claim's filing (and as the reopening of a
    death claim), expecting the stream absent or at the version where the claim that held the
    death before is rejected."""

    participant_id: str
    claim_id: str
    claim_kind: str  # JKK / JKM


for _type in (
    AccidentReported, AccidentOutcomeReported, ClaimFiled, ClaimAssigned,
    ClaimDocumentReceived, ClaimDocumentsIncomplete, ClaimSubmitted, ClaimVerificationStarted,
    ClaimReturned, ClaimApprovalProposed, ClaimApproved, ClaimRejected, ClaimPaid,
    ClaimReopened, ClaimHeirsNamed, ClaimSlaFlagged, DeathClaimReserved,
):  # fmt: skip
    registry.register(_type)


# -- reminders (stream reminder-<reminder_id>): an outbox, each reminder sent at most once -----
#
# The reminder id derives from (recipient, period, kind), so the job scheduling it twice finds
# the stream there (expected NO_STREAM) and schedules nothing. Delivery appends the outcome.


class ReminderScheduled(Event, frozen=True):
    """A premium reminder was due: who gets it (sealed), what it says and by when to pay.

    `recipient_id` is the data subject the address is sealed under: the participant, or
    `sponsor-<cohort_id>` for the sponsor's contact (erasable on its own). `message` never
    holds personal data (no name, NIK or phone)."""

    __subject__: ClassVar[str] = "recipient_id"
    reminder_id: str
    kind: str  # self_pay_due, arrears_1..3, membership_ending, sponsor_block_due, ...
    period: str  # YYYY-MM: the month it is about
    participant_id: str | None
    cohort_id: str | None
    recipient_id: str
    channel: str
    recipient: Personal  # phone number or e-mail address
    message: str  # Bahasa Indonesia
    amount: int | None
    due_on: date
    policy_version: str


class ReminderSent(Event, frozen=True):
    """The channel took the reminder. The participant and cohort are named again so that the
    outcome shows on their timelines too."""

    reminder_id: str
    participant_id: str | None
    cohort_id: str | None
    channel: str
    provider_reference: str
    attempt: int


class ReminderFailed(Event, frozen=True):
    """A delivery attempt failed; without `will_retry` the reminder is given up."""

    reminder_id: str
    participant_id: str | None
    cohort_id: str | None
    attempt: int
    error: str
    will_retry: bool


for _type in (ReminderScheduled, ReminderSent, ReminderFailed):
    registry.register(_type)


# -- users (stream user-<username>): who may act, for the audit trail -------------------------
#
# Officers' accounts are events so that an auditor sees who held which role when. Display
# names are staff identities kept for accountability, not sealed personal data. Secrets are
# never in the log: password hashes and API tokens live in their own tables (services/sql/).


class UserCreated(Event, frozen=True):
    username: str
    display_name: str
    roles: list[str]  # services/access.py Role
    kecamatan: list[str]  # codes the user works in; empty: the whole regency


class UserRolesChanged(Event, frozen=True):
    """New roles and scope; the user's API tokens are revoked with it."""

    username: str
    roles: list[str]
    kecamatan: list[str]


class UserDisabled(Event, frozen=True):
    """The user can no longer log in; their API tokens are revoked with it."""

    username: str
    reason: str


class UserEnabled(Event, frozen=True):
    username: str


class UserPasswordSet(Event, frozen=True):
    """A password was set (who set it, never the password or its hash)."""

    username: str
    set_by: str  # the user themself, an administrator, or the operator on the server


for _type in (UserCreated, UserRolesChanged, UserDisabled, UserEnabled, UserPasswordSet):
    registry.register(_type)
