"""Every event type Jaga records, in one place: a reader learns the system from this file.

Personal fields are typed `Personal` (sealed per data subject, see events/personal.py); each
event type or nested struct holding them names its data subject's field in `__subject__`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

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
    """A registration found the cohort full and waits for a slot."""

    cohort_id: str
    participant_id: str
    priority: bool
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
    """A worker registered into a cohort. NIK, name, birth date and phone are sealed under the
    participant's own key; the keyed NIK hash allows lookups and duplicate checks."""

    __subject__: ClassVar[str] = "participant_id"
    participant_id: str
    cohort_id: str
    nik: Personal
    nik_hash: str
    name: Personal
    birth_date: Personal  # ISO date; personal, so it can be erased
    sex: str  # L / P
    phone: Personal
    kecamatan: str
    desa: str
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


class ParticipantWaitlisted(Event, frozen=True):
    participant_id: str
    cohort_id: str


class ParticipantLeft(Event, frozen=True):
    participant_id: str
    cohort_id: str
    reason: str  # death, withdrawal, moved_away, formal_employee
    left_on: date


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
