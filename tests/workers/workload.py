"""Commands through the real write side, for the workers to project: a cohort of workers
registered and paid for, and a JKK claim with its documents coming in."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from events.store import Context, EventStore
from services.claims import ClaimsDesk
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from tests.projections.test_claims import checklist, complete, reported_claim, submitted_incomplete
from tests.services.conftest import make_registrar, open_cohort
from tests.services.test_contributions import block
from tests.services.workers import worker

ADMIN = Context(actor="admin:dinsos")
RATE = 16_800


class Wave:
    """What one `wave` did."""

    def __init__(self, cohort_id: str, participants: list[str], claim_id: str) -> None:
        self.cohort_id = cohort_id
        self.participants = participants
        self.claim_id = claim_id


async def wave(store: EventStore, size: int, first: int) -> Wave:
    """Open a cohort of `size`, register its workers (numbered from `first`), pay October to
    December for all of them, and file a claim for the first one, its documents all in on
    1 December 2025 (so its SLA deadline has passed)."""
    registrar = make_registrar(store)
    cohort_id = await open_cohort(registrar, ADMIN, quota=size)
    outcomes = await registrar.register_many(
        [worker(cohort_id, first + n) for n in range(size)], ADMIN
    )
    participants = [o.participant_id for o in outcomes if not isinstance(o, Exception)]
    assert len(participants) == size, outcomes
    cashier = Cashier(store, registrar, DEFAULT_POLICY)
    await cashier.pay(block(cohort_id, size * 3 * RATE, f"SP2D-{uuid4().hex[:10]}"), ADMIN)
    desk = ClaimsDesk(store, registrar, DEFAULT_POLICY)
    claim_id = await reported_claim(desk, participants[0], date(2025, 11, 20))
    documents = checklist()
    await submitted_incomplete(desk, claim_id, documents)
    await complete(desk, claim_id, documents, date(2025, 12, 1))
    return Wave(cohort_id, participants, claim_id)
