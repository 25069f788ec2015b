"""The claim board (rm.claims) driven by the real write side: a claim's row through its
lifecycle, board entries as of dates (days open, time left, breach, accrued penalty), four
eyes, returns, rejections, reopening, the board's filters, and a rebuild giving the same rows."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from events.catalog import registry
from events.personal import MasterKeys
from events.store import Context, EventStore
from projections.claims import ClaimBoard, ClaimRow, board_entry, find_claims
from projections.participants import ParticipantStatus
from projections.projection import Projection
from projections.runner import ProjectionRunner
from services.bootstrap import migrate_database
from services.claim_decider import jkk_claim_id
from services.claim_documents import required_documents
from services.claims import ClaimsDesk
from services.commands import (
    ApproveClaim,
    AssignClaim,
    DecideClaim,
    HeirStatement,
    NameHeirs,
    ReceiveClaimDocument,
    RecordClaimPayment,
    RegisterWorker,
    ReopenClaim,
    ReportAccident,
    ReportAccidentOutcome,
    ReturnClaim,
    StartVerification,
    SubmitClaim,
    WitnessStatement,
)
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.registration import Registrar
from tests.conftest import with_path
from tests.services.conftest import make_registrar, open_cohort
from tests.services.test_contributions import block
from tests.services.workers import worker

ANI, BUDI = Context(actor="officer:ani"), Context(actor="officer:budi")
DEWI = Context(actor="supervisor:dewi")
PLACE, CHRONOLOGY = "Gudang Pasar Ujung Karang", "Terjatuh dari tangga gudang saat bongkar muat"
WITNESSES = [WitnessStatement(name="Rudi Hartono", phone="081277788899"),
             WitnessStatement(name="Sari Wulandari")]  # fmt: skip
HEIRS = [HeirStatement(name="Siti Aminah", nik="1708014101850002", relation="spouse")]
_numbers = itertools.count(760_000)


@pytest.fixture(scope="module")
async def domain_store(database_url: str) -> AsyncIterator[EventStore]:
    """A store on a database of the module's own. Not the write side's shared one: that
    fixture lives in tests/services/conftest.py, out of reach here, and a second store on its
    database would seal under other master keys than the events the timeline must read."""
    name = f"jaga_board_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_path(database_url, f"/{name}")
        await migrate_database(url)
        store = await EventStore.connect(url, registry, MasterKeys.parse(MasterKeys.generate("t1")))
        yield store
        await store.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def registrar(domain_store: EventStore) -> Registrar:
    return make_registrar(domain_store)


@pytest.fixture
def admin() -> Context:
    return Context(actor="admin:dinsos")


def wib(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Jakarta on `day`."""
    return datetime(day.year, day.month, day.day, hour - 7, tzinfo=UTC)


async def project(store: EventStore, *projections: Projection) -> None:
    """Bring the projections (the claim board by default) up to every event appended so far.
    Readers stay below the oldest open transaction of the whole server (gap safety), so
    while another session's transaction is open this waits for it."""
    written = await store.pool.fetchval("SELECT max(position) FROM events")
    runner = ProjectionRunner(store, projections or [ClaimBoard()])
    await runner.prepare()
    for _ in range(600):
        await runner.run_all()
        status = await runner.status()
        assert not [s for s in status if s.state == "stopped"], status
        if all(s.position >= written for s in status):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"projections did not reach position {written}: {status}")


async def claim_row(store: EventStore, claim_id: str) -> ClaimRow:
    row = await store.pool.fetchrow("SELECT * FROM rm.claims WHERE claim_id = $1", claim_id)
    assert row is not None, f"claim {claim_id} is not on the board"
    return ClaimRow(**dict(row))


async def paid_worker(
    registrar: Registrar, store: EventStore, admin: Context
) -> tuple[RegisterWorker, str]:
    """A worker (and their participant id) enrolled in a cohort of one, whose October to
    December the cohort paid on 10 October."""
    cohort_id = await open_cohort(registrar, admin, quota=1)
    person = worker(cohort_id, next(_numbers))
    member = (await registrar.register(person, admin)).participant_id
    reference = f"BPD-BOARD-{uuid4().hex[:10]}"
    cashier = Cashier(store, registrar, DEFAULT_POLICY)
    await cashier.pay(block(cohort_id, 3 * 16_800, reference), admin)
    return person, member


async def reported_claim(
    desk: ClaimsDesk, participant_id: str, day: date, outcome: str = "partial_disability"
) -> str:
    """Stage I the day after the accident, Stage II (filing the JKK claim) six days after."""
    accident_id = str(uuid4())
    await desk.report_accident(
        ReportAccident(
            accident_id=accident_id, participant_id=participant_id, occurred_at=wib(day, 8),
            kind="at_work", place=PLACE, chronology=CHRONOLOGY, witnesses=WITNESSES,
            reported_at=wib(day + timedelta(days=1)),
        ),
        ANI,
    )  # fmt: skip
    await desk.report_outcome(
        ReportAccidentOutcome(
            accident_id=accident_id, doctor_statement_at=wib(day + timedelta(days=5)),
            outcome=outcome, reported_at=wib(day + timedelta(days=6)),
            disability_percent=10 if outcome == "partial_disability" else None,
        ),
        ANI,
    )  # fmt: skip
    return jkk_claim_id(accident_id)


def checklist(outcome: str = "partial_disability") -> list[str]:
    """The NPWP (needed above four eyes), then the documents the claim requires."""
    return ["npwp"] + [d.value for d in required_documents("JKK", outcome=outcome)]


async def receive(desk: ClaimsDesk, claim_id: str, documents: Sequence[str], at: datetime) -> None:
    for doc in documents:
        command = ReceiveClaimDocument(
            claim_id=claim_id, document=doc, reference=f"arsip/{doc}", received_at=at
        )
        await desk.handle(command, ANI)


async def submitted_incomplete(desk: ClaimsDesk, claim_id: str, documents: list[str]) -> None:
    """Assigned to Ani, every document but the last in, submitted: it waits for the last."""
    await desk.handle(AssignClaim(claim_id, ANI.actor), DEWI)
    await receive(desk, claim_id, documents[:-1], wib(date(2025, 11, 27)))
    await desk.handle(SubmitClaim(claim_id), ANI)


async def complete(desk: ClaimsDesk, claim_id: str, documents: list[str], on: date) -> None:
    """The last document arrives on `on`: the documents are complete then, the SLA starts."""
    await receive(desk, claim_id, documents[-1:], wib(on))


async def test_a_claim_row_through_its_lifecycle_to_a_late_payment(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    _, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    claim_id = await reported_claim(desk, member, date(2025, 11, 20))
    documents = checklist()

    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.kind, row.state, row.participant_id, row.event_on, row.officer) == (
        "JKK", "reported", member, date(2025, 11, 20), None,
    )  # fmt: skip
    assert row.filed_at == wib(date(2025, 11, 26))
    assert row.missing_documents == row.required_documents == documents[1:]
    assert board_entry(row, date(2025, 11, 28)).sla is None  # no complete documents, no SLA

    await submitted_incomplete(desk, claim_id, documents)
    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.state, row.officer, row.missing_documents) == (
        "documents_incomplete", "officer:ani", ["bank_account"],
    )  # fmt: skip
    assert row.documents_complete_at is None and row.sla_deadline is None

    await complete(desk, claim_id, documents, date(2025, 12, 1))
    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.state, row.missing_documents, row.sla_working_days) == ("submitted", [], 7)
    assert row.documents_complete_at == wib(date(2025, 12, 1))
    assert row.sla_deadline == date(2025, 12, 10)  # 7 working days after Monday 1 December

    early, near, late = (board_entry(row, date(2025, 12, d)) for d in (5, 8, 12))
    assert (early.sla_status, early.sla and early.sla.working_days_left) == ("ok", 3)
    assert (near.sla_status, near.sla and near.sla.working_days_left) == ("near", 2)
    assert (late.sla_status, late.sla and late.sla.working_days_late) == ("breached", 2)
    assert late.accrued_penalty == 0  # nothing approved yet: no benefit to add 1% of
    assert near.days_open == 12  # filed on 26 November

    await desk.handle(StartVerification(claim_id), ANI)
    await desk.handle(DecideClaim(claim_id=claim_id, medical_billed=2_500_000), ANI)
    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.state, row.approved_by, row.proposed_by, row.total) == (
        "approved", "officer:ani", None, 10_500_000,
    )  # fmt: skip
    assert board_entry(row, date(2025, 12, 12)).accrued_penalty == 210_000  # 2 days x 1%

    await desk.handle(RecordClaimPayment(claim_id=claim_id, reference="TRF-BOARD-1",
                                         paid_at=wib(date(2025, 12, 15))), ANI)  # fmt: skip
    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.state, row.paid_amount, row.working_days_late, row.penalty) == (
        "paid", 10_500_000 + 315_000, 3, 315_000,
    )  # fmt: skip
    assert row.paid_at == row.closed_at == wib(date(2025, 12, 15))
    settled = board_entry(row, date(2026, 1, 5))
    assert settled.sla is not None and settled.sla.paid_on == date(2025, 12, 15)
    assert (settled.sla_status, settled.accrued_penalty, settled.days_open) == (
        "breached", 315_000, 19,
    )  # fmt: skip
    before = board_entry(row, date(2025, 12, 11))  # as of a day before it was paid
    assert (before.sla_status, before.accrued_penalty, before.days_open) == (
        "breached", 105_000, 15,
    )  # fmt: skip
    assert before.sla is not None and before.sla.paid_on is None


async def test_four_eyes_show_who_proposed_and_who_approved(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    _, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    claim_id = await reported_claim(desk, member, date(2025, 11, 3), outcome="death")
    documents = checklist("death")
    await submitted_incomplete(desk, claim_id, documents)
    await complete(desk, claim_id, documents, date(2025, 11, 28))
    await desk.handle(StartVerification(claim_id), ANI)
    await desk.handle(NameHeirs(claim_id=claim_id, heirs=HEIRS), ANI)
    await desk.handle(DecideClaim(claim_id=claim_id), ANI)

    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.state, row.proposed_by, row.approved_by, row.total) == (
        "awaiting_second_approval", "officer:ani", None, None,
    )  # fmt: skip

    await desk.handle(ApproveClaim(claim_id), BUDI)
    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.state, row.proposed_by, row.approved_by, row.total) == (
        "approved", "officer:ani", "officer:budi", 70_000_000,
    )  # fmt: skip


async def test_a_returned_claim_gets_a_new_deadline_and_a_rejected_one_reopens(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    _, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    returned = await reported_claim(desk, member, date(2025, 11, 20))
    documents = checklist()
    await submitted_incomplete(desk, returned, documents)
    await complete(desk, returned, documents, date(2025, 12, 1))
    await desk.handle(ReturnClaim(claim_id=returned, missing=["bank_account"],
                                  reason="nomor rekening tidak terbaca"), ANI)  # fmt: skip

    await project(domain_store)
    row = await claim_row(domain_store, returned)
    assert (row.state, row.missing_documents, row.documents_complete_at, row.sla_deadline) == (
        "returned", ["bank_account"], None, None,
    )  # fmt: skip
    assert "bank_account" not in row.received_documents
    assert board_entry(row, date(2025, 12, 20)).sla_status is None  # waits for the document

    await receive(desk, returned, ["bank_account"], wib(date(2025, 12, 3)))
    await project(domain_store)
    row = await claim_row(domain_store, returned)
    assert (row.state, row.missing_documents, row.sla_deadline) == (
        "submitted", [], date(2025, 12, 12),
    )  # fmt: skip

    uncovered = await reported_claim(desk, member, date(2026, 2, 10))  # February never paid
    await submitted_incomplete(desk, uncovered, documents)
    await complete(desk, uncovered, documents, date(2026, 2, 20))
    await desk.handle(StartVerification(uncovered), ANI)
    await desk.handle(DecideClaim(claim_id=uncovered), ANI)
    await project(domain_store)
    row = await claim_row(domain_store, uncovered)
    assert row.state == "rejected" and row.closed_at is not None
    assert row.rejection_reasons[0].startswith("not covered on 2026-02-10")
    rejected = board_entry(row, date(2026, 3, 30))
    assert (rejected.sla, rejected.sla_status, rejected.accrued_penalty) == (None, None, 0)

    await desk.handle(ReopenClaim(claim_id=uncovered, reason="bukti bayar Februari"), DEWI)
    await project(domain_store)
    row = await claim_row(domain_store, uncovered)
    assert (row.state, row.closed_at, row.sla_deadline) == ("reopened", None, None)


async def test_the_board_filters_by_state_officer_sla_status_and_kecamatan(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    person, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    documents = checklist()
    due_soon, due_later, waiting = [
        await reported_claim(desk, member, date(2025, 11, d)) for d in (10, 11, 12)
    ]
    for claim_id, on in ((due_soon, date(2025, 12, 1)), (due_later, date(2025, 12, 5))):
        await submitted_incomplete(desk, claim_id, documents)
        await complete(desk, claim_id, documents, on)
    await desk.handle(AssignClaim(due_later, BUDI.actor, reassign=True), DEWI)

    await project(domain_store, ClaimBoard(), ParticipantStatus())
    mine = {due_soon, due_later, waiting}

    async def found(today: date = date(2025, 12, 8), **filters: object) -> list[str]:
        entries = await find_claims(domain_store.pool, today, **filters)  # type: ignore[arg-type]
        return [e.claim.claim_id for e in entries if e.claim.claim_id in mine]

    assert await found() == [due_soon, due_later, waiting]  # soonest deadline first
    assert await found(state="submitted") == [due_soon, due_later]
    assert await found(state=["reported", "rejected"]) == [waiting]
    assert await found(officer="officer:budi") == [due_later]
    assert await found(sla_status="near") == [due_soon]  # deadline 10 December
    assert await found(sla_status="ok") == [due_later]  # deadline 16 December
    assert await found(sla_status="breached") == []
    assert await found(sla_status="breached", today=date(2025, 12, 17)) == [due_soon, due_later]
    assert await found(kecamatan=person.kecamatan) == [due_soon, due_later, waiting]
    other = "17.08.99" if person.kecamatan != "17.08.99" else "17.08.98"
    assert await found(kecamatan=other) == []


async def test_a_rebuild_gives_the_same_rows(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    _, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    claim_id = await reported_claim(desk, member, date(2025, 11, 20))
    documents = checklist()
    await submitted_incomplete(desk, claim_id, documents)
    await complete(desk, claim_id, documents, date(2025, 12, 1))
    await project(domain_store)
    before = await claim_row(domain_store, claim_id)

    await ProjectionRunner(domain_store, [ClaimBoard()]).rebuild("claim_board")

    assert await claim_row(domain_store, claim_id) == before
