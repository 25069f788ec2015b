"""Accidents and claims through the ClaimsDesk against the real event store: a registered
worker whose contributions were paid, an accident, its claim decided from the history as known
at the decision, four eyes, and the property that a decision never depends on later events."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.catalog import (
    AccidentReported,
    ClaimApproved,
    ClaimRejected,
    ClaimReopened,
    DeathClaimReserved,
)
from events.store import Context, EventStore
from services.accidents import accident_stream
from services.claim_decider import claim_stream, jkk_claim_id, jkm_claim_id
from services.claim_documents import required_documents
from services.claims import ClaimsDesk
from services.commands import (
    ApproveClaim,
    AssignClaim,
    DecideClaim,
    FileDeathClaim,
    HeirStatement,
    LeaveCohort,
    NameHeirs,
    PayContributions,
    ReceiveClaimDocument,
    RecordClaimPayment,
    RecordKpj,
    RejectClaim,
    ReopenClaim,
    ReportAccident,
    ReportAccidentOutcome,
    ReversePayment,
    StartVerification,
    SubmitClaim,
    WitnessStatement,
)
from services.contributions import Cashier
from services.domain.errors import DeathAlreadyClaimed, Duplicate, IllegalTransition
from services.domain.policy import DEFAULT_POLICY
from services.registration import Registrar
from services.streams import death_stream
from tests.services.conftest import make_registrar, open_cohort
from tests.services.test_contributions import PAID_AT, block
from tests.services.test_registration import registrar_on
from tests.services.workers import worker

ANI, BUDI = Context(actor="officer:ani"), Context(actor="officer:budi")
WITNESSES = [WitnessStatement(name="Rudi", phone="081234567890"), WitnessStatement(name="Sari")]
_numbers = itertools.count(710_000)


async def paid_member(registrar: Registrar, store: EventStore, admin: Context) -> tuple[str, str]:
    """A worker enrolled on 6 Oct 2025 whose cohort paid October to December on 10 October."""
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
    reference = f"BPD-CLAIM-{uuid4().hex[:10]}"
    await Cashier(store, registrar, DEFAULT_POLICY).pay(block(cohort_id, 3 * 16_800, reference),
                                                        admin)  # fmt: skip
    return member, reference


def at(day: date, hour: int = 1) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def accident_claim(
    desk: ClaimsDesk, member: str, day: date, outcome: str = "partial_disability"
) -> str:
    """Stage I the day after, Stage II (which files the JKK claim), an officer, every document
    and the NPWP, submitted and under verification by Ani."""
    accident_id = str(uuid4())
    await desk.report_accident(
        ReportAccident(
            accident_id=accident_id, participant_id=member, occurred_at=at(day), kind="at_work",
            place="Pasar Kepahiang", chronology="Fell from the loading ramp", witnesses=WITNESSES,
            reported_at=at(day + timedelta(days=1)),
        ),
        ANI,
    )  # fmt: skip
    percent = 10 if outcome == "partial_disability" else None
    await desk.report_outcome(
        ReportAccidentOutcome(
            accident_id=accident_id, doctor_statement_at=at(day + timedelta(days=5)),
            outcome=outcome, disability_percent=percent, reported_at=at(day + timedelta(days=6)),
        ),
        ANI,
    )  # fmt: skip
    claim_id = jkk_claim_id(accident_id)
    await prepare(desk, claim_id, [d.value for d in required_documents("JKK", outcome=outcome)])
    return claim_id


async def prepare(desk: ClaimsDesk, claim_id: str, documents: list[str]) -> None:
    await desk.handle(AssignClaim(claim_id, ANI.actor), Context(actor="supervisor:dewi"))
    for doc in [*documents, "npwp"]:
        await desk.handle(ReceiveClaimDocument(claim_id=claim_id, document=doc, reference="x"),
                          ANI)  # fmt: skip
    await desk.handle(SubmitClaim(claim_id), ANI)
    await desk.handle(StartVerification(claim_id), ANI)


def desk_for(store: EventStore, registrar: Registrar) -> ClaimsDesk:
    return ClaimsDesk(store, registrar, DEFAULT_POLICY)  # the real clock: decisions are "now"


async def test_a_covered_accident_is_approved_with_lines_and_formulas_then_paid(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    claim_id = await accident_claim(desk, member, date(2025, 11, 20))

    (approved,) = await desk.handle(DecideClaim(claim_id=claim_id, medical_billed=2_500_000), ANI)

    assert isinstance(approved, ClaimApproved)
    assert [(line.kind, line.amount) for line in approved.lines] == [
        ("medical", 2_500_000), ("disability", 8_000_000),
    ]  # fmt: skip
    assert "Rp8.000.000" in approved.lines[1].formula
    assert approved.total == 10_500_000 and approved.first_officer is None
    assert approved.eligibility.covered and approved.eligibility.wage == 1_000_000
    assert (approved.benefit_rules_version, approved.policy_version) == (
        "benefits/PP82-2019", DEFAULT_POLICY.version,
    )  # fmt: skip
    recorded = (await domain_store.read_stream(claim_stream(claim_id)))[-1]
    assert recorded.actor == "officer:ani"

    (paid,) = await desk.handle(
        RecordClaimPayment(claim_id=claim_id, reference="TRF-1", paid_at=datetime.now(UTC)), ANI
    )
    assert paid.amount == 10_500_000  # type: ignore[attr-defined]
    assert (await desk.claim(claim_id)).status == "paid"
    sla = await desk.sla(claim_id, date.today())
    assert sla is not None and not sla.breached


async def test_an_accident_on_an_unpaid_month_is_rejected_with_the_reason(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    claim_id = await accident_claim(desk, member, date(2026, 2, 10))  # February was never paid

    (rejected,) = await desk.handle(DecideClaim(claim_id=claim_id), ANI)

    assert isinstance(rejected, ClaimRejected)
    assert rejected.reasons[0].startswith("not covered on 2026-02-10")
    assert (await desk.claim(claim_id)).status == "rejected"


HEIRS = [
    HeirStatement(name="Pak Tua", nik="1708011203550001", relation="parent"),
    HeirStatement(name="Sari", nik="1708014101850002", relation="spouse"),
    HeirStatement(name="Anak Sari", nik="1708010505100003", relation="child"),
]


async def test_a_death_at_work_needs_two_officers(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    claim_id = await accident_claim(desk, member, date(2025, 11, 3), outcome="death")
    await desk.handle(NameHeirs(claim_id=claim_id, heirs=HEIRS), ANI)

    (proposed,) = await desk.handle(DecideClaim(claim_id=claim_id), ANI)
    assert proposed.total == 48_000_000 + 10_000_000 + 12_000_000  # type: ignore[attr-defined]
    try:
        await desk.handle(ApproveClaim(claim_id), ANI)
        raise AssertionError("the same officer approved twice")
    except IllegalTransition as refused:
        assert refused.state == "awaiting_second_approval"
    (approved,) = await desk.handle(ApproveClaim(claim_id), BUDI)

    assert isinstance(approved, ClaimApproved)
    assert (approved.first_officer, approved.officer) == ("officer:ani", "officer:budi")


async def test_a_jkm_claim_under_three_months_pays_the_funeral_only(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    await registrar_on(domain_store, date(2025, 11, 25)).leave(
        LeaveCohort(participant_id=member, reason="death", left_on=date(2025, 11, 25)), admin
    )
    desk = desk_for(domain_store, registrar)
    await desk.file_death_claim(FileDeathClaim(participant_id=member, died_on=date(2025, 11, 25)),
                                ANI)  # fmt: skip
    claim_id = jkm_claim_id(member)
    await prepare(desk, claim_id, [d.value for d in required_documents("JKM")])
    with pytest.raises(IllegalTransition, match="heirs"):
        await desk.handle(DecideClaim(claim_id=claim_id), ANI)
    (named,) = await desk.handle(NameHeirs(claim_id=claim_id, heirs=HEIRS), ANI)

    (approved,) = await desk.handle(DecideClaim(claim_id=claim_id), ANI)

    assert isinstance(approved, ClaimApproved)
    assert [(line.kind, line.amount) for line in approved.lines] == [("funeral", 10_000_000)]
    assert approved.eligibility.membership_months == 1
    assert [(h.relation, h.payee) for h in named.heirs] == [  # type: ignore[attr-defined]
        ("parent", False), ("spouse", True), ("child", True),
    ]  # fmt: skip
    stored = await domain_store.pool.fetchval(
        "SELECT payload::text FROM events WHERE event_type = 'ClaimHeirsNamed' "
        "AND payload::text LIKE $1", f"%{claim_id}%",
    )  # fmt: skip
    assert "Sari" not in stored and "1708014101850002" not in stored  # sealed


async def test_witnesses_are_sealed_under_their_own_keys(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    accident_id = str(uuid4())
    await desk.report_accident(
        ReportAccident(
            accident_id=accident_id, participant_id=member, occurred_at=at(date(2025, 11, 4)),
            kind="commuting", traffic=True, police_report="LP/1/XI/2025", place="Jl. Merdeka",
            chronology="Hit by a truck", witnesses=WITNESSES,
        ),
        ANI,
    )  # fmt: skip
    payload = await domain_store.pool.fetchval(
        "SELECT payload FROM events WHERE stream_id = $1", accident_stream(accident_id)
    )
    assert b"Rudi" not in payload and b"Jl. Merdeka" not in payload
    (read,) = await domain_store.read_stream(accident_stream(accident_id))
    assert isinstance(read.data, AccidentReported)
    assert read.data.late and read.data.hours_late > 24 * 300  # reported today: a year late
    for witness in read.data.witnesses:
        assert witness.person_id.encode() in payload and witness.person_id != member
    assert [w.name for w in read.data.witnesses] == ["Rudi", "Sari"]


# -- a person dies once: one standing claim per death ----------------------------------------------

DIED_ON = date(2025, 11, 3)


async def stage_one(desk: ClaimsDesk, member: str, accident_id: str) -> None:
    await desk.report_accident(
        ReportAccident(
            accident_id=accident_id, participant_id=member, occurred_at=at(DIED_ON),
            kind="at_work", place="Pasar Kepahiang", chronology="Fell from the loading ramp",
            witnesses=WITNESSES, reported_at=at(DIED_ON + timedelta(days=1)),
        ),
        ANI,
    )  # fmt: skip


async def stage_two(desk: ClaimsDesk, accident_id: str) -> str:
    """A Stage II report of death, filing the JKK claim: the claim's id."""
    await desk.report_outcome(
        ReportAccidentOutcome(
            accident_id=accident_id, doctor_statement_at=at(DIED_ON + timedelta(days=1)),
            outcome="death", reported_at=at(DIED_ON + timedelta(days=2)),
        ),
        ANI,
    )  # fmt: skip
    return jkk_claim_id(accident_id)


async def stage_two_death(desk: ClaimsDesk, member: str, accident_id: str) -> str:
    """Stage I and a Stage II report of death (filing the JKK claim): the claim's id."""
    await stage_one(desk, member, accident_id)
    return await stage_two(desk, accident_id)


def jkm(member: str) -> FileDeathClaim:
    return FileDeathClaim(participant_id=member, died_on=DIED_ON)


async def versions(store: EventStore, *streams: str) -> list[int]:
    return [await store.stream_version(stream) for stream in streams]


async def holders(store: EventStore, member: str) -> list[str]:
    """The claims that took the member's death, in order."""
    reserved = [r.data for r in await store.read_stream(death_stream(member))]
    assert all(isinstance(r, DeathClaimReserved) and r.participant_id == member for r in reserved)
    return [r.claim_id for r in reserved]  # type: ignore[attr-defined]


async def test_a_jkm_claim_after_a_jkk_death_claim_is_refused_and_nothing_recorded(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    jkk_id = await stage_two_death(desk, member, str(uuid4()))

    with pytest.raises(DeathAlreadyClaimed) as refused:
        await desk.file_death_claim(jkm(member), ANI)

    assert (refused.value.participant_id, refused.value.claim_id) == (member, jkk_id)
    assert (refused.value.claim_kind, refused.value.claim_state) == ("JKK", "reported")
    assert await versions(domain_store, claim_stream(jkm_claim_id(member))) == [0]
    assert await holders(domain_store, member) == [jkk_id]


async def test_a_jkk_death_claim_after_a_jkm_claim_is_refused_with_its_stage_two(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    await desk.file_death_claim(jkm(member), ANI)
    accident_id = str(uuid4())

    with pytest.raises(DeathAlreadyClaimed, match="JKM claim") as refused:
        await stage_two_death(desk, member, accident_id)

    assert (refused.value.claim_id, refused.value.claim_state) == (jkm_claim_id(member), "reported")
    # Stage I is in, Stage II and its JKK claim are not: the report can come again later
    assert await versions(domain_store, accident_stream(accident_id),
                          claim_stream(jkk_claim_id(accident_id))) == [1, 0]  # fmt: skip
    assert await holders(domain_store, member) == [jkm_claim_id(member)]


async def test_a_second_jkm_claim_is_a_duplicate(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    await desk.file_death_claim(jkm(member), ANI)

    with pytest.raises(Duplicate):
        await desk.file_death_claim(jkm(member), ANI)
    assert await versions(domain_store, claim_stream(jkm_claim_id(member)),
                          death_stream(member)) == [1, 1]  # fmt: skip


async def test_a_rejected_jkm_claim_makes_way_for_the_jkk_claim_and_cannot_come_back(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """The JKM claim is rejected because the death was a work accident; the accident's Stage
    II then files the JKK claim; reopening the JKM claim is refused while the JKK claim stands,
    and allowed again once the JKK claim is rejected too."""
    member, _ = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    await desk.file_death_claim(jkm(member), ANI)
    jkm_id = jkm_claim_id(member)
    await prepare(desk, jkm_id, [d.value for d in required_documents("JKM")])
    await desk.handle(RejectClaim(claim_id=jkm_id, reason="the death was a work accident"), ANI)

    jkk_id = await stage_two_death(desk, member, str(uuid4()))
    assert (await desk.claim(jkk_id)).status == "reported"
    reopen = ReopenClaim(claim_id=jkm_id, reason="new evidence")
    with pytest.raises(DeathAlreadyClaimed, match=f"JKK claim '{jkk_id}'"):
        await desk.handle(reopen, ANI)
    assert (await desk.claim(jkm_id)).status == "rejected"

    await prepare(desk, jkk_id, [d.value for d in required_documents("JKK", outcome="death")])
    await desk.handle(RejectClaim(claim_id=jkk_id, reason="not at work after all"), ANI)
    (reopened,) = await desk.handle(reopen, ANI)
    assert isinstance(reopened, ClaimReopened)
    assert await holders(domain_store, member) == [jkm_id, jkk_id, jkm_id]


async def test_of_concurrent_claims_for_one_death_exactly_one_is_recorded(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """A JKM claim and two Stage II reports of death (after their Stage I), each through its
    own desk (no shared cache or lock), at the same time: one is appended, the others refused
    (when they read the death before the winner appended, their append at that version fails,
    and they decide again)."""
    for _ in range(3):
        member, _ = await paid_member(registrar, domain_store, admin)
        desks = [desk_for(domain_store, registrar) for _ in range(3)]
        accidents = [str(uuid4()), str(uuid4())]
        for accident_id in accidents:
            await stage_one(desks[0], member, accident_id)
        outcomes = await asyncio.gather(
            desks[0].file_death_claim(jkm(member), ANI),
            *(stage_two(d, a) for d, a in zip(desks[1:], accidents, strict=True)),
            return_exceptions=True,
        )  # fmt: skip

        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(refused) == 2, outcomes
        assert all(isinstance(o, DeathAlreadyClaimed) for o in refused), outcomes
        claims = [jkm_claim_id(member), *map(jkk_claim_id, accidents)]
        filed = await versions(domain_store, *map(claim_stream, claims))
        assert sorted(filed) == [0, 0, 1]
        assert await holders(domain_store, member) == [claims[filed.index(1)]]


# -- a claim's benefit never depends on events recorded after the decision --------------------

LATER = st.lists(st.sampled_from(["reverse", "leave", "kpj", "pay_again"]), min_size=1,
                 max_size=3, unique=True)  # fmt: skip


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(later=LATER, billed=st.integers(0, 20_000_000))
async def test_a_decision_never_depends_on_events_recorded_after_it(
    domain_store: EventStore, later: list[str], billed: int
) -> None:
    admin = Context(actor="admin:dinsos")
    registrar = make_registrar(domain_store)
    member, reference = await paid_member(registrar, domain_store, admin)
    desk = desk_for(domain_store, registrar)
    claim_id = await accident_claim(desk, member, date(2025, 11, 20))
    command = DecideClaim(claim_id=claim_id, medical_billed=billed)
    (approved,) = await desk.handle(command, ANI)
    assert isinstance(approved, ClaimApproved)

    for what in later:  # recorded after the decision
        if what == "reverse":
            await Cashier(domain_store, registrar, DEFAULT_POLICY).reverse(
                ReversePayment(reference, "bounced"), admin
            )
        elif what == "leave":
            await registrar_on(domain_store, date(2025, 11, 1)).leave(
                LeaveCohort(participant_id=member, reason="withdrawal", left_on=date(2025, 11, 1)),
                admin,
            )
        elif what == "kpj":
            await registrar.record_kpj(RecordKpj(member, "12345678901"), admin)
        elif "leave" not in later:  # a worker paying January for themself
            await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
                PayContributions(
                    reference=f"SELF-{uuid4().hex[:8]}", payer="self", payer_kind="participant",
                    channel="teller", amount=16_800, paid_at=PAID_AT, months=["2026-01"],
                    participant_ids=[member],
                ),
                admin,
            )  # fmt: skip

    reread = (await desk.claim(claim_id)).approval
    again = await desk.assess(claim_id, command, approved.eligibility.known_at)

    assert reread is not None and reread.lines == approved.lines
    assert again.eligibility == approved.eligibility
    assert [(line.kind, line.amount, line.formula) for line in again.lines] == [
        (line.kind, line.amount, line.formula) for line in approved.lines
    ]
    if "reverse" in later:  # as known now, the accident day is no longer covered
        now = await desk.assess(claim_id, command, datetime.now(UTC))
        assert not now.eligibility.covered
