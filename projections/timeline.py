"""The audit timeline (rm.timeline): every event of the log under every subject it concerns.

An auditor reads a participant's, claim's, cohort's, accident's or payment's history from one
place: who (actor), when it happened and when Jaga learnt it, why (correlation and causation)
and a one-line summary in Bahasa Indonesia. Summaries never hold personal data: no name, NIK,
phone, address, place or chronology, and no free text an officer typed (a reason may name
someone); only codes, dates, amounts and who acted. The timeline keeps no personal value, so
an erasure has nothing to change here.

An event concerns the subject of its stream and every subject its fields name
(`participant_id`, `claim_id`, `cohort_id`, `accident_id`, `payment_id`); accident events
concern the accident's JKK claim too, and every claim event its participant (remembered from
the claim's filing). Every event type of events/catalog.py is consumed, new ones included; a
type without a summary of its own is summarised by its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import asyncpg

from events.catalog import (
    AccidentOutcomeReported,
    AccidentReported,
    ClaimApprovalProposed,
    ClaimApproved,
    ClaimAssigned,
    ClaimDocumentReceived,
    ClaimDocumentsIncomplete,
    ClaimFiled,
    ClaimHeirsNamed,
    ClaimPaid,
    ClaimRejected,
    ClaimReopened,
    ClaimReturned,
    ClaimSlaFlagged,
    ClaimSubmitted,
    ClaimVerificationStarted,
    CohortClosed,
    CohortCreated,
    CohortOpened,
    CohortRolledOver,
    ContributionPaid,
    ContributionReversed,
    DeathClaimReserved,
    FunderChanged,
    KpjRecorded,
    ParticipantEnrolled,
    ParticipantLeft,
    ParticipantRegistered,
    ParticipantWaitlisted,
    PaymentRecorded,
    PaymentReversed,
    PersonalDataErased,
    PromotedFromWaitlist,
    ReminderFailed,
    ReminderScheduled,
    ReminderSent,
    SlotFreed,
    SlotTaken,
    UserCreated,
    UserDisabled,
    UserEnabled,
    UserPasswordSet,
    UserRolesChanged,
    WaitlistJoined,
    registry,
)
from events.types import Event, RecordedEvent, type_name
from projections.claims import sla_deadline
from projections.projection import Projection
from services.claim_decider import jkk_claim_id
from services.domain.calendar import Month, business_date
from services.domain.indonesian import bulan, bulan_range, tanggal
from services.domain.money import number, rupiah

SUBJECT_KINDS = ("participant", "claim", "cohort", "accident", "payment")
_STREAM_SUBJECT = {"personal_data": "participant", **{k: k for k in SUBJECT_KINDS}}
"""Stream category (services/streams.py and friends) -> the kind of subject it is about."""

_COLUMNS = (
    "subject_kind", "subject_id", "position", "stream_id", "stream_version", "event_type",
    "actor", "occurred_at", "recorded_at", "correlation_id", "causation_id", "summary",
)  # fmt: skip

_TABLES = """
CREATE TABLE {schema}.timeline (
    subject_kind   text        NOT NULL,
    subject_id     text        NOT NULL,
    position       bigint      NOT NULL,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    event_type     text        NOT NULL,
    actor          text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    correlation_id uuid        NOT NULL,
    causation_id   uuid,
    summary        text        NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, position)
);
CREATE INDEX ON {schema}.timeline (correlation_id);
-- internal (not served): whose claim each claim is, for the claim events that do not say
CREATE TABLE {schema}.timeline_claim_participants (
    claim_id       text PRIMARY KEY,
    participant_id text NOT NULL
);
"""


def subjects(
    recorded: RecordedEvent, claim_participants: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Every (kind, id) the event concerns, its stream's subject first."""
    found: dict[tuple[str, str], None] = {}
    category, _, stream_subject = recorded.stream_id.partition("-")
    if category in _STREAM_SUBJECT:
        found[(_STREAM_SUBJECT[category], stream_subject)] = None
    for kind in SUBJECT_KINDS:
        value = getattr(recorded.data, f"{kind}_id", None)
        if isinstance(value, str):
            found[(kind, value)] = None
    if category == "accident":
        found[("claim", jkk_claim_id(stream_subject))] = None
    for kind, claim_id in list(found):
        if kind == "claim" and claim_id in claim_participants:
            found[("participant", claim_participants[claim_id])] = None
    return list(found)


# -- summaries ---------------------------------------------------------------------------------

_ACCIDENT_KINDS = {
    "at_work": "di tempat kerja", "commuting": "dalam perjalanan kerja",
    "occupational_disease": "penyakit akibat kerja", "outside_work": "di luar pekerjaan",
}  # fmt: skip
_OUTCOMES = {
    "recovered": "sembuh", "partial_disability": "cacat sebagian",
    "total_permanent_disability": "cacat total tetap", "death": "meninggal dunia",
}  # fmt: skip
_LEAVING = {
    "death": "meninggal dunia", "withdrawal": "mengundurkan diri",
    "moved_away": "pindah domisili", "formal_employee": "menjadi pekerja penerima upah",
}  # fmt: skip
_PROMOTION = {"slot_freed": "ada slot kosong", "new_budget_year": "tahun anggaran baru"}
_FUNDERS = {
    "apbd_kabupaten": "APBD kabupaten", "apbd_provinsi": "APBD provinsi",
    "mandiri": "mandiri (peserta sendiri)",
}  # fmt: skip
_DOCUMENTS = {
    "ktp": "KTP", "kpj_card": "kartu KPJ", "family_card": "kartu keluarga",
    "accident_report": "laporan kecelakaan", "police_report": "laporan polisi",
    "doctor_statement": "surat keterangan dokter", "medical_bills": "kuitansi pengobatan",
    "death_certificate": "akta kematian", "heir_statement": "surat keterangan ahli waris",
    "heir_ktp": "KTP ahli waris", "bank_account": "rekening bank", "npwp": "NPWP",
}  # fmt: skip


def _months(months: Sequence[str]) -> str:
    """ "Oktober sampai Desember 2025" for a run of months, else the months listed."""
    ordered = [Month.parse(m) for m in sorted(months)]
    if len(ordered) > 1 and ordered[0].months_until(ordered[-1]) == len(ordered) - 1:
        return bulan_range(ordered[0], ordered[-1])
    return ", ".join(bulan(m) for m in ordered)


def _who(actor: str) -> str:
    """An officer as the pages name them: "user:ani" is "ani"."""
    return actor.removeprefix("user:")


def _documents(documents: Sequence[str]) -> str:
    return ", ".join(_DOCUMENTS.get(d, d) for d in documents)


def _late(late: bool, hours_late: int) -> str:
    return f", terlambat {number(hours_late)} jam" if late else ""


_REMINDER_KINDS = {
    "self_pay_due": "iuran mandiri jatuh tempo",
    "arrears_1": "tunggakan 1 bulan",
    "arrears_2": "tunggakan 2 bulan",
    "arrears_3": "tunggakan 3 bulan",
    "membership_ending": "kepesertaan akan berakhir",
    "sponsor_block_due": "iuran blok sponsor jatuh tempo",
    "sponsor_budget_period_end": "periode anggaran sponsor berakhir",
}


def summary(event: Event) -> str:
    """One line in Bahasa Indonesia, without personal data; the type name for a type this
    function does not know yet."""
    match event:
        case PersonalDataErased():
            return "Data pribadi dihapus"
        case CohortCreated():
            return (
                f"Kohort dibuat: {event.name}, tahun anggaran {event.budget_year}, "
                f"kuota {number(event.quota)}, alokasi {rupiah(event.budget_allocation)}"
            )
        case CohortOpened():
            return "Kohort dibuka"
        case CohortClosed():
            return "Kohort ditutup"
        case CohortRolledOver():
            return (
                f"Tahun anggaran baru {event.budget_year}: kuota {number(event.quota)}, "
                f"alokasi {rupiah(event.budget_allocation)}"
            )
        case SlotTaken():
            return f"Mendapat slot di kohort {event.cohort_id}"
        case WaitlistJoined():
            priority = " (prioritas)" if event.priority else ""
            return f"Masuk daftar tunggu kohort {event.cohort_id}{priority}"
        case SlotFreed():
            return (
                f"Slot kohort {event.cohort_id} dilepas: {_LEAVING.get(event.reason, event.reason)}"
            )
        case PromotedFromWaitlist():
            why = _PROMOTION.get(event.reason, event.reason)
            return f"Naik dari daftar tunggu kohort {event.cohort_id}: {why}"
        case ParticipantRegistered():
            return f"Peserta terdaftar di kohort {event.cohort_id}"
        case ParticipantEnrolled():
            return (
                f"Menjadi peserta kohort {event.cohort_id} sejak {tanggal(event.enrolled_on)}: "
                f"{', '.join(event.programmes)}"
            )
        case ParticipantWaitlisted():
            return f"Menunggu slot di kohort {event.cohort_id}"
        case ParticipantLeft():
            why = _LEAVING.get(event.reason, event.reason)
            left = f"Keluar dari kohort {event.cohort_id} per {tanggal(event.left_on)}: {why}"
            if event.enrolled_on is not None and event.left_on < event.enrolled_on:
                start = tanggal(event.enrolled_on)
                return f"{left} (sebelum kepesertaan dimulai {start}: kepesertaan itu batal)"
            return left
        case KpjRecorded():
            return "Nomor peserta BPJS (KPJ) dicatat"
        case FunderChanged():
            funder = _FUNDERS.get(event.funder, event.funder)
            return f"Penanggung iuran mulai {bulan(Month.parse(str(event.from_month)))}: {funder}"
        case PaymentRecorded():
            payer = event.payer if event.payer_kind == "sponsor" else "peserta"
            return (
                f"Pembayaran diterima: {rupiah(event.amount)} dari {payer} untuk "
                f"{_months(event.months)}, {number(len(event.participant_ids))} peserta, "
                f"ref {event.reference}"
            )
        case ContributionPaid():
            return f"Iuran dibayar: {_months(event.months)}, {rupiah(event.amount)}"
        case PaymentReversed():
            return f"Pembayaran dibatalkan: ref {event.reference}"
        case ContributionReversed():
            return f"Iuran dibatalkan: ref {event.reference}"
        case AccidentReported():
            traffic = ", kecelakaan lalu lintas" if event.traffic else ""
            return (
                f"Kecelakaan dilaporkan (tahap I): {tanggal(business_date(event.occurred_at))}, "
                f"{_ACCIDENT_KINDS.get(event.kind, event.kind)}{traffic}"
                f"{_late(event.late, event.hours_late)}"
            )
        case AccidentOutcomeReported():
            outcome = _OUTCOMES.get(event.outcome, event.outcome)
            percent = f" {event.disability_percent}%" if event.disability_percent else ""
            return f"Laporan tahap II: {outcome}{percent}{_late(event.late, event.hours_late)}"
        case ClaimFiled():
            return f"Klaim {event.kind} diajukan, kejadian {tanggal(event.event_on)}"
        case ClaimAssigned():
            return f"Klaim ditugaskan kepada {_who(event.officer)} oleh {_who(event.assigned_by)}"
        case ClaimDocumentReceived():
            return f"Dokumen diterima: {_documents([event.document])}"
        case ClaimDocumentsIncomplete():
            return f"Dokumen belum lengkap: {_documents(event.missing)}"
        case ClaimSubmitted():
            deadline = sla_deadline(event.documents_complete_at, event.sla_working_days)
            return (
                f"Dokumen lengkap: bayar paling lambat {tanggal(deadline)} "
                f"({event.sla_working_days} hari kerja)"
            )
        case ClaimVerificationStarted():
            return f"Verifikasi dimulai oleh {_who(event.officer)}"
        case ClaimReturned():
            return (
                f"Klaim dikembalikan oleh {_who(event.officer)}: kurang {_documents(event.missing)}"
            )
        case ClaimApprovalProposed():
            return (
                f"Persetujuan pertama oleh {_who(event.officer)}, total {rupiah(event.total)}: "
                "menunggu persetujuan kedua"
            )
        case ClaimHeirsNamed():
            return f"Ahli waris ditetapkan: {number(len(event.heirs))} orang"
        case ClaimApproved():
            first = f" (diusulkan {_who(event.first_officer)})" if event.first_officer else ""
            officer = _who(event.officer)
            return f"Klaim disetujui oleh {officer}{first}, total {rupiah(event.total)}"
        case ClaimRejected():
            return f"Klaim ditolak oleh {_who(event.officer)}: {number(len(event.reasons))} alasan"
        case ClaimPaid():
            penalty = (
                f", termasuk denda keterlambatan {rupiah(event.penalty.amount)} "
                f"({event.working_days_late} hari kerja)"
                if event.penalty
                else ""
            )
            return f"Klaim dibayar: {rupiah(event.amount)}{penalty}"
        case ClaimReopened():
            return f"Klaim dibuka kembali oleh {_who(event.officer)}"
        case DeathClaimReserved():
            kind = event.claim_kind
            return f"Kematian peserta tercatat pada klaim {kind} (satu kematian, satu klaim)"
        case ClaimSlaFlagged():
            if event.level == "breached":
                return (
                    f"Batas bayar {tanggal(event.deadline)} terlewati: terlambat "
                    f"{event.working_days_late} hari kerja, denda berjalan "
                    f"{rupiah(event.accrued_penalty)}"
                )
            left = event.working_days_left
            return f"Batas bayar {tanggal(event.deadline)} mendekat: sisa {left} hari kerja"
        case ReminderScheduled():
            amount = f", {rupiah(event.amount)}" if event.amount is not None else ""
            kind = _REMINDER_KINDS.get(event.kind, event.kind)
            return (
                f"Pengingat dijadwalkan: {kind} ({bulan(Month.parse(str(event.period)))}{amount}, "
                f"jatuh tempo {tanggal(event.due_on)}) lewat {event.channel}"
            )
        case ReminderSent():
            return f"Pengingat terkirim lewat {event.channel} (percobaan ke-{event.attempt})"
        case ReminderFailed():
            again = ", akan dicoba lagi" if event.will_retry else ", tidak dicoba lagi"
            return f"Pengingat gagal terkirim (percobaan ke-{event.attempt}){again}"
        case UserCreated():
            return f"Pengguna {event.username} dibuat, peran: {', '.join(event.roles)}"
        case UserRolesChanged():
            return f"Peran pengguna {event.username} diubah: {', '.join(event.roles)}"
        case UserDisabled():
            return f"Pengguna {event.username} dinonaktifkan"
        case UserEnabled():
            return f"Pengguna {event.username} diaktifkan kembali"
        case UserPasswordSet():
            return f"Kata sandi pengguna {event.username} diatur oleh {_who(event.set_by)}"
    return type_name(type(event))


class AuditTimeline(Projection):
    name: ClassVar[str] = "audit_timeline"
    version: ClassVar[int] = 4
    """2: summaries for reminders and officers' accounts (they showed their type name).
    3: dates and months written the Indonesian way, officers by username (no "user:").
    4: a leaving before its membership started says the membership is cancelled; formal
    employment named as the pages name it ("pekerja penerima upah")."""
    consumes = registry.types
    tables = ("timeline",)

    def schema_sql(self, schema: str) -> str:
        return _TABLES.format(schema=schema)

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        """One look-up of the page's claims' participants, one insert of new claims, one COPY."""
        filed = {
            e.data.claim_id: e.data.participant_id for e in events if isinstance(e.data, ClaimFiled)
        }
        asked = list({e.data.claim_id for e in events if hasattr(e.data, "claim_id")} - set(filed))
        known = await conn.fetch(
            f"""SELECT claim_id, participant_id FROM {schema}.timeline_claim_participants
                WHERE claim_id = ANY($1::text[])""",
            asked,
        )
        owners = {r["claim_id"]: r["participant_id"] for r in known} | filed
        if filed:
            await conn.executemany(
                f"INSERT INTO {schema}.timeline_claim_participants VALUES ($1, $2)",
                list(filed.items()),
            )
        rows = [
            (
                kind,
                subject_id,
                e.position,
                e.stream_id,
                e.stream_version,
                e.type,
                e.actor,
                e.occurred_at,
                e.recorded_at,
                e.correlation_id,
                e.causation_id,
                summary(e.data),
            )
            for e in events
            for kind, subject_id in subjects(e, owners)
        ]
        await conn.copy_records_to_table(
            "timeline", schema_name=schema, columns=_COLUMNS, records=rows
        )
