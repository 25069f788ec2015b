"""The SLA watch against the real claim board: near and breached claims flagged for their
officer and the supervisors, once per claim, level and deadline, even when two runs overlap
or the board lags; the claim decider unaffected by the flags."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import msgspec

from events.catalog import ClaimSlaFlagged
from events.store import Context, EventStore
from projections.claims import ClaimRow, board_entry
from services.claim_decider import claim_stream
from services.claims import ClaimsDesk
from services.commands import DecideClaim, RecordClaimPayment, ReturnClaim, StartVerification
from services.domain.policy import DEFAULT_POLICY, Policy
from services.registration import Registrar
from services.sla_watch import SlaWatchRun, flags_due, watch_sla
from tests.projections.test_claims import (
    ANI,
    checklist,
    claim_row,
    complete,
    paid_worker,
    project,
    receive,
    reported_claim,
    submitted_incomplete,
    wib,
)


async def flags(store: EventStore, claim_id: str) -> list[ClaimSlaFlagged]:
    return [r.data for r in await store.read_stream(claim_stream(claim_id))
            if isinstance(r.data, ClaimSlaFlagged)]  # fmt: skip


def mine(runs: list[SlaWatchRun], claim_id: str) -> tuple[int, int]:
    """(flags recorded, flags found recorded already) for one claim over some runs."""
    recorded = sum(1 for run in runs for f in run.flagged if f.claim_id == claim_id)
    return recorded, sum(run.already_flagged for run in runs)


async def test_a_claim_is_flagged_near_then_breached_once_each(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    _, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    claim_id = await reported_claim(desk, member, date(2025, 11, 20))
    documents = checklist()
    await submitted_incomplete(desk, claim_id, documents)
    await complete(desk, claim_id, documents, date(2025, 12, 1))  # deadline 10 December
    await desk.handle(StartVerification(claim_id), ANI)
    await desk.handle(DecideClaim(claim_id=claim_id, medical_billed=2_500_000), ANI)
    await project(domain_store)

    quiet = await watch_sla(domain_store, date(2025, 12, 5))  # 3 working days left
    assert claim_id not in {f.claim_id for f in quiet.flagged}

    runs = await asyncio.gather(*(watch_sla(domain_store, date(2025, 12, 8)) for _ in range(2)))
    (near,) = await flags(domain_store, claim_id)
    assert near == ClaimSlaFlagged(
        claim_id=claim_id, level="near", deadline=date(2025, 12, 10), working_days_left=2,
        working_days_late=0, accrued_penalty=0, officer="officer:ani",
        notify=["officer:ani", "role:supervisor"],
    )  # fmt: skip
    recorded, _ = mine(list(runs), claim_id)
    assert recorded == 1  # the other run found it recorded
    await project(domain_store)
    assert (await claim_row(domain_store, claim_id)).sla_flag == "near"
    again = await watch_sla(domain_store, date(2025, 12, 9))  # the board shows it: not again
    assert mine([again], claim_id)[0] == 0 and len(await flags(domain_store, claim_id)) == 1

    runs = await asyncio.gather(*(watch_sla(domain_store, date(2025, 12, 12)) for _ in range(2)))
    assert mine(list(runs), claim_id)[0] == 1
    lagging = await watch_sla(domain_store, date(2025, 12, 15))  # board not yet projected
    assert mine([lagging], claim_id)[0] == 0 and lagging.already_flagged >= 1
    near, breached = await flags(domain_store, claim_id)
    assert (breached.level, breached.deadline, breached.working_days_late) == (
        "breached", date(2025, 12, 10), 2,
    )  # fmt: skip
    assert breached.accrued_penalty == 210_000  # 2 working days x 1% of Rp10.500.000
    await project(domain_store)
    assert (await claim_row(domain_store, claim_id)).sla_flag == "breached"

    # the flags decide nothing: the claim is still approved and pays as the rules say
    assert (await desk.claim(claim_id)).status == "approved"
    payment = RecordClaimPayment(claim_id=claim_id, reference="TRF-SLA-1",
                                 paid_at=wib(date(2025, 12, 15)))  # fmt: skip
    (paid,) = await desk.handle(payment, ANI)
    assert paid.amount == 10_500_000 + 315_000  # type: ignore[attr-defined]
    await project(domain_store)
    after = await watch_sla(domain_store, date(2025, 12, 16))
    assert claim_id not in {f.claim_id for f in after.flagged}


async def test_a_new_deadline_is_watched_anew_and_an_old_flag_is_moot(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    _, member = await paid_worker(registrar, domain_store, admin)
    desk = ClaimsDesk(domain_store, registrar, DEFAULT_POLICY)
    claim_id = await reported_claim(desk, member, date(2025, 11, 20))
    documents = checklist()
    await submitted_incomplete(desk, claim_id, documents)
    await complete(desk, claim_id, documents, date(2025, 12, 1))
    await project(domain_store)
    await desk.handle(ReturnClaim(claim_id=claim_id, missing=["bank_account"],
                                  reason="rekening ditutup"), ANI)  # fmt: skip
    await watch_sla(domain_store, date(2025, 12, 11))  # the board still shows the old deadline
    await project(domain_store)
    row = await claim_row(domain_store, claim_id)
    assert (row.state, row.sla_deadline, row.sla_flag) == ("returned", None, None)

    await receive(desk, claim_id, ["bank_account"], wib(date(2025, 12, 15)))  # due 24 December
    await project(domain_store)
    run = await watch_sla(domain_store, date(2025, 12, 22))
    (flag,) = [f for f in run.flagged if f.claim_id == claim_id]
    assert (flag.level, flag.deadline, flag.working_days_left) == ("near", date(2025, 12, 24), 2)
    levels = [(f.level, f.deadline) for f in await flags(domain_store, claim_id)]
    assert levels == [("breached", date(2025, 12, 10)), ("near", date(2025, 12, 24))]
    await project(domain_store)
    assert (await claim_row(domain_store, claim_id)).sla_flag == "near"


def test_who_is_told_and_the_warning_setting() -> None:
    """Pure: an unassigned claim tells the supervisors only; the warning comes as many
    working days ahead as the policy says."""
    row = ClaimRow(
        claim_id="c1", kind="JKM", participant_id="p1", accident_id=None,
        event_on=date(2025, 11, 3), filed_at=datetime(2025, 11, 4, 3, tzinfo=UTC),
        state="submitted", required_documents=["ktp"], received_documents=["ktp"],
        missing_documents=[], documents_complete_at=datetime(2025, 12, 1, 3, tzinfo=UTC),
        sla_working_days=3, sla_deadline=date(2025, 12, 4), total=None,
        updated_at=datetime(2025, 12, 1, 3, tzinfo=UTC), last_position=1,
    )  # fmt: skip
    (flag,) = flags_due([board_entry(row, date(2025, 12, 2))])  # 2 working days left
    assert (flag.level, flag.officer, flag.notify) == ("near", None, ["role:supervisor"])
    patient = Policy(version="t", sla_warning_working_days=1)
    assert flags_due([board_entry(row, date(2025, 12, 2), patient)]) == []
    assert flags_due([board_entry(row, date(2025, 12, 3), patient)])[0].level == "near"
    flagged = msgspec.structs.replace(row, sla_flag="near")
    assert flags_due([board_entry(flagged, date(2025, 12, 3))]) == []
    assert flags_due([board_entry(flagged, date(2025, 12, 5))])[0].level == "breached"
