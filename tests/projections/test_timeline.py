"""The audit timeline (rm.timeline) driven by the real write side: each event under every
subject it concerns, with who, when and why as the log has them, summaries in Bahasa
Indonesia, and no personal value anywhere in it."""

from __future__ import annotations

from datetime import date

from events.catalog import (
    ParticipantLeft,
    ReminderFailed,
    ReminderScheduled,
    UserCreated,
    registry,
)
from events.store import Context, EventStore
from events.types import Event, type_name
from projections.timeline import AuditTimeline, summary
from services.accidents import accident_stream
from services.claim_decider import claim_stream
from services.claims import ClaimsDesk
from services.commands import (
    ApproveClaim,
    DecideClaim,
    NameHeirs,
    RecordClaimPayment,
    StartVerification,
)
from services.domain.policy import DEFAULT_POLICY
from services.personal_data import erase_subject
from services.registration import Registrar
from services.streams import cohort_stream, participant_stream
from tests.projections.test_claims import (
    ANI,
    BUDI,
    CHRONOLOGY,
    HEIRS,
    PLACE,
    WITNESSES,
    checklist,
    complete,
    paid_worker,
    project,
    reported_claim,
    submitted_incomplete,
    wib,
)
from tests.projections.test_claims import admin as admin  # this module's fixtures too
from tests.projections.test_claims import domain_store as domain_store
from tests.projections.test_claims import registrar as registrar


async def timeline(store: EventStore, kind: str, subject_id: str) -> list[tuple[str, str]]:
    rows = await store.pool.fetch(
        """SELECT event_type, summary FROM rm.timeline
           WHERE subject_kind = $1 AND subject_id = $2 ORDER BY position""",
        kind,
        subject_id,
    )
    return [(r[0], r[1]) for r in rows]


async def test_a_death_at_work_on_every_timeline_it_concerns(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    person, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    claim_id = await reported_claim(desk, member, date(2025, 11, 3), outcome="death")
    documents = checklist("death")
    await submitted_incomplete(desk, claim_id, documents)
    await complete(desk, claim_id, documents, date(2025, 11, 28))
    await desk.handle(StartVerification(claim_id), ANI)
    await desk.handle(NameHeirs(claim_id=claim_id, heirs=HEIRS), ANI)
    await desk.handle(DecideClaim(claim_id=claim_id), ANI)
    await desk.handle(ApproveClaim(claim_id), BUDI)
    await desk.handle(RecordClaimPayment(claim_id=claim_id, reference="TRF-TL-1",
                                         paid_at=wib(date(2025, 12, 2))), BUDI)  # fmt: skip
    claim = await desk.claim(claim_id)
    assert claim.filed is not None and claim.filed.accident_id is not None
    accident_id = claim.filed.accident_id

    await project(domain_store, AuditTimeline())

    on_claim = await timeline(domain_store, "claim", claim_id)
    assert [t for t, _ in on_claim[:3]] == ["AccidentReported", "AccidentOutcomeReported",
                                            "ClaimFiled"]  # fmt: skip
    said = dict(on_claim)
    assert (
        said["AccidentReported"]
        == "Kecelakaan dilaporkan (tahap I): 3 November 2025, di tempat kerja"
    )
    assert said["AccidentOutcomeReported"] == "Laporan tahap II: meninggal dunia"
    assert said["ClaimFiled"] == "Klaim JKK diajukan, kejadian 3 November 2025"
    assert said["ClaimAssigned"] == "Klaim ditugaskan kepada officer:ani oleh supervisor:dewi"
    assert said["ClaimDocumentsIncomplete"] == "Dokumen belum lengkap: kartu keluarga"
    assert (
        said["ClaimSubmitted"]
        == "Dokumen lengkap: bayar paling lambat 9 Desember 2025 (7 hari kerja)"
    )
    assert said["ClaimHeirsNamed"] == "Ahli waris ditetapkan: 1 orang"
    assert said["ClaimApprovalProposed"] == (
        "Persetujuan pertama oleh officer:ani, total Rp70.000.000: menunggu persetujuan kedua"
    )
    assert said["ClaimApproved"] == (
        "Klaim disetujui oleh officer:budi (diusulkan officer:ani), total Rp70.000.000"
    )
    assert said["ClaimPaid"] == "Klaim dibayar: Rp70.000.000"

    on_member = await timeline(domain_store, "participant", member)
    member_types = [t for t, _ in on_member]
    for expected in ("ParticipantRegistered", "SlotTaken", "ParticipantEnrolled",
                     "ContributionPaid", "AccidentReported", "ClaimFiled", "ClaimApproved",
                     "ClaimPaid"):  # fmt: skip
        assert expected in member_types, expected
    assert (
        dict(on_member)["ContributionPaid"]
        == "Iuran dibayar: Oktober sampai Desember 2025, Rp50.400"
    )

    cohort_types = [t for t, _ in await timeline(domain_store, "cohort", person.cohort_id)]
    assert cohort_types[:2] == ["CohortCreated", "CohortOpened"]
    assert {"SlotTaken", "ParticipantRegistered", "PaymentRecorded"} <= set(cohort_types)
    accident_types = [t for t, _ in await timeline(domain_store, "accident", accident_id)]
    assert accident_types == ["AccidentReported", "AccidentOutcomeReported", "ClaimFiled"]

    # each event of these streams is on its own stream's timeline, with the log's who/when/why
    streams = [claim_stream(claim_id), accident_stream(accident_id),
               participant_stream(member), cohort_stream(person.cohort_id)]  # fmt: skip
    mismatched = await domain_store.pool.fetchval(
        """SELECT count(*) FROM events e
           LEFT JOIN rm.timeline t
             ON t.position = e.position
            AND t.subject_kind || '-' || t.subject_id = e.stream_id
            AND (t.stream_id, t.stream_version, t.event_type, t.actor, t.occurred_at,
                 t.recorded_at, t.correlation_id)
                = (e.stream_id, e.stream_version, e.event_type, e.actor, e.occurred_at,
                   e.recorded_at, e.correlation_id)
            AND t.causation_id IS NOT DISTINCT FROM e.causation_id
           WHERE e.stream_id = ANY($1::text[]) AND t.position IS NULL""",
        streams,
    )
    assert mismatched == 0

    # no personal value anywhere in the timeline: names, NIKs, phones, place, chronology
    personal = [person.name, person.nik, person.phone, PLACE, CHRONOLOGY,
                *(w.name for w in WITNESSES), *(w.phone for w in WITNESSES if w.phone),
                *(h.name for h in HEIRS), *(h.nik for h in HEIRS)]  # fmt: skip
    leaks = await domain_store.pool.fetch(
        "SELECT t::text FROM rm.timeline t WHERE t::text LIKE ANY($1::text[])",
        [f"%{value}%" for value in personal],
    )
    assert leaks == []

    # an erasure is on the timeline too (and leaves nothing to erase there)
    await erase_subject(domain_store, member, "masa retensi berakhir", admin)
    await project(domain_store, AuditTimeline())
    assert (await timeline(domain_store, "participant", member))[-1] == (
        "PersonalDataErased", "Data pribadi dihapus",
    )  # fmt: skip


def test_every_event_type_is_consumed_and_an_unknown_one_is_summarised_by_its_name() -> None:
    assert set(AuditTimeline().event_types()) == {type_name(t) for t in registry.types}

    class SomethingNew(Event, frozen=True):
        claim_id: str

    assert summary(SomethingNew(claim_id="x")) == "SomethingNew"


def test_reminders_and_accounts_are_summarised_without_personal_data() -> None:
    scheduled = ReminderScheduled(
        reminder_id="r1", kind="arrears_2", period="2026-09", participant_id="p1",
        cohort_id="c1", recipient_id="p1", channel="sms", recipient="081234567890",
        message="...", amount=33_600, due_on=date(2026, 11, 16), policy_version="2025.1",
    )  # fmt: skip
    text = summary(scheduled)
    assert text == (
        "Pengingat dijadwalkan: tunggakan 2 bulan (September 2026, Rp33.600, jatuh tempo "
        "16 November 2026) lewat sms"
    )
    assert "081234567890" not in text
    failed = ReminderFailed(
        reminder_id="r1", participant_id="p1", cohort_id="c1", attempt=2,
        error="gateway refused 081234567890", will_retry=True,
    )  # fmt: skip
    assert summary(failed) == "Pengingat gagal terkirim (percobaan ke-2), akan dicoba lagi"
    created = UserCreated(
        username="sari", display_name="Sari Wulandari", roles=["registrar"], kecamatan=[]
    )
    assert summary(created) == "Pengguna sari dibuat, peran: registrar"


def test_a_leaving_before_its_membership_started_says_the_membership_is_cancelled() -> None:
    before = ParticipantLeft(participant_id="p-1", cohort_id="c-1", reason="formal_employee",
                             left_on=date(2026, 12, 10), enrolled_on=date(2027, 1, 1))  # fmt: skip
    assert summary(before) == (
        "Keluar dari kohort c-1 per 10 Desember 2026: menjadi pekerja penerima upah "
        "(sebelum kepesertaan dimulai 1 Januari 2027: kepesertaan itu batal)"
    )
    during = ParticipantLeft(participant_id="p-1", cohort_id="c-1", reason="formal_employee",
                             left_on=date(2027, 2, 1), enrolled_on=date(2027, 1, 1))  # fmt: skip
    assert summary(during) == (
        "Keluar dari kohort c-1 per 1 Februari 2027: menjadi pekerja penerima upah"
    )
    old_style = ParticipantLeft(
        participant_id="p-1", cohort_id="c-1", reason="formal_employee", left_on=date(2027, 2, 1)
    )
    assert summary(old_style) == summary(during)
