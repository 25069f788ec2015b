"""Coverage answered from a participant's own events, now and as known at an earlier instant."""

from __future__ import annotations

from datetime import date

from events.store import Context, EventStore
from services.commands import ReversePayment
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.membership import coverage_on, history
from services.registration import Registrar
from tests.services.conftest import open_cohort
from tests.services.test_contributions import block
from tests.services.workers import worker

LATER = date(2026, 3, 1)


async def test_a_paid_block_covers_its_months_and_a_reversal_takes_it_back(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=2)
    member = (await registrar.register(worker(cohort_id, 600_000), admin)).participant_id
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    before_payment = await domain_store.pool.fetchval("SELECT clock_timestamp()")
    await cashier.pay(block(cohort_id, 3 * 16_800, "BPD-COVER-1"), admin)  # 1 member, 3 months

    covered = await coverage_on(domain_store, member, date(2025, 11, 20), today=LATER)
    known_then = await coverage_on(
        domain_store, member, date(2025, 11, 20), today=LATER, as_known_at=before_payment
    )
    january = await coverage_on(domain_store, member, date(2026, 1, 20), today=LATER)

    assert covered is not None and covered.covered
    assert known_then is not None and not known_then.covered  # the payment was not known yet
    assert january is not None and not january.covered  # never paid
    months = await history(domain_store, member, today=LATER)
    assert months is not None and months.arrears_months >= 1

    await cashier.reverse(ReversePayment("BPD-COVER-1", "bounced"), admin)

    after = await coverage_on(domain_store, member, date(2025, 11, 20), today=LATER)
    assert after is not None and not after.covered
