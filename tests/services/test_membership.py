"""Coverage answered from a participant's own events, now and as known at an earlier instant."""

from __future__ import annotations

from datetime import date

from events.store import Context, EventStore
from services.commands import LeaveCohort, Rejoin, ReversePayment
from services.contributions import Cashier
from services.domain.calendar import Month
from services.domain.coverage import CoverageReason, EndReason, membership_months
from services.domain.policy import DEFAULT_POLICY
from services.membership import coverage_on, history
from services.registration import Registrar
from tests.services.conftest import open_cohort
from tests.services.test_contributions import block
from tests.services.test_registration import registrar_on
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


async def test_leaving_ends_coverage_and_what_is_owed_and_a_rejoin_starts_again(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    # Given the regency paid October to December for a member,
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, 600_100), admin)).participant_id
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    await cashier.pay(block(cohort_id, 3 * 16_800, "BPD-LEAVE-1"), admin)
    # when they become a formal employee on 20 November (recorded that day),
    await registrar_on(domain_store, date(2025, 11, 20)).leave(
        LeaveCohort(participant_id=member, reason="formal_employee", left_on=date(2025, 11, 20)),
        admin,
    )
    # then they were covered up to that day and not after,
    on_the_day = await coverage_on(domain_store, member, date(2025, 11, 20), today=LATER)
    after = await coverage_on(domain_store, member, date(2025, 11, 21), today=LATER)
    assert on_the_day is not None and on_the_day.covered
    assert after is not None and after.reason is CoverageReason.NOT_A_MEMBER
    # nothing is owed after it, and December, paid ahead, goes back to the regency.
    months = await history(domain_store, member, today=LATER)
    assert months is not None and months.periods[0].end_reason is EndReason.FORMAL_EMPLOYEE
    assert (months.arrears_months, months.arrears_amount, months.lapses_on) == (0, 0, None)
    assert [(str(r.month), r.payer, r.amount) for r in months.refunds] == [
        ("2025-12", "APBD Kabupaten Kepahiang", 16_800)
    ]

    # When they re-join on 2 March (the slot is free again),
    back = await registrar_on(domain_store, date(2026, 3, 2)).rejoin(Rejoin(member), admin)
    # then a second membership starts from zero in March, nothing owed for the months between.
    assert back.status == "enrolled"
    again = await history(domain_store, member, today=date(2026, 3, 10))
    assert again is not None and again.current_period is not None
    assert (again.current_period.number, again.current_period.start_month) == (2, Month(2026, 3))
    assert membership_months(again, date(2026, 3, 10)) == 0
    assert again.arrears_months == 0
