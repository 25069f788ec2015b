"""Payments: the reference case, mismatched amounts, repeats, reversals, a worker paying."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.catalog import ContributionPaid, ContributionReversed
from events.store import Context, EventStore
from services.commands import PayContributions, ReversePayment
from services.contributions import Cashier, Member, share_out
from services.domain.calendar import Month
from services.domain.errors import Duplicate, IllegalTransition, NotFound, ValidationFailed
from services.domain.policy import DEFAULT_POLICY
from services.domain.rates import contribution_due
from services.registration import Registrar
from services.streams import participant_stream
from tests.services.conftest import open_cohort
from tests.services.workers import worker

PAID_AT = datetime(2025, 10, 10, 2, 0, tzinfo=UTC)
OCT_DEC = ["2025-10", "2025-11", "2025-12"]


def block(cohort_id: str, amount: int, reference: str) -> PayContributions:
    return PayContributions(
        reference=reference, payer="APBD Kabupaten Kepahiang", payer_kind="sponsor",
        channel="bank_transfer", amount=amount, paid_at=PAID_AT, months=OCT_DEC,
        cohort_id=cohort_id,
    )  # fmt: skip


async def cohort_of(registrar: Registrar, admin: Context, size: int, first: int) -> str:
    cohort_id = await open_cohort(registrar, admin, quota=size)
    outcomes = await registrar.register_many(
        [worker(cohort_id, first + n) for n in range(size)], admin
    )
    assert all(not isinstance(o, Exception) for o in outcomes)
    return cohort_id


async def test_the_reference_block_payment(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """Kepahiang: Rp99,993,600 for 1,984 workers at Rp16,800 for 3 months, in one command."""
    cohort_id = await cohort_of(registrar, admin, 1984, 200_000)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    finance = Context(actor="finance:budi")

    receipt = await cashier.pay(block(cohort_id, 99_993_600, "SP2D-0001/2025"), finance)

    assert (receipt.participants, receipt.amount_due, receipt.credit, receipt.shortfall) == (
        1984, 99_993_600, 0, 0,
    )  # fmt: skip
    someone = (await registrar.cohort(cohort_id)).members.popitem()[0]
    share = (await domain_store.read_stream(participant_stream(someone)))[-1]
    assert isinstance(share.data, ContributionPaid)
    assert (share.data.months, share.data.amount) == (OCT_DEC, 50_400)
    assert share.actor == "finance:budi"
    again = await cashier.pay(block(cohort_id, 99_993_600, "SP2D-0001/2025"), finance)
    assert again == receipt  # the same reference is one payment
    with pytest.raises(Duplicate):
        await cashier.pay(block(cohort_id, 1_000_000, "SP2D-0001/2025"), finance)


async def test_short_and_over_payments(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await cohort_of(registrar, admin, 4, 300_000)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    due = 4 * 3 * 16_800

    short = await cashier.pay(block(cohort_id, due - 20_000, "BJB-SHORT"), admin)
    over = await cashier.pay(block(cohort_id, due + 5_000, "BJB-OVER"), admin)

    assert (short.shortfall, short.credit) == (2 * 16_800, 13_600)  # 2 months unpaid
    assert (over.shortfall, over.credit) == (0, 5_000)  # held as credit for the payer


async def test_reversal(registrar: Registrar, admin: Context, domain_store: EventStore) -> None:
    cohort_id = await cohort_of(registrar, admin, 2, 400_000)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    await cashier.pay(block(cohort_id, 100_800, "BJB-BOUNCE"), admin)

    await cashier.reverse(ReversePayment("BJB-BOUNCE", "transfer returned by the bank"), admin)

    member = next(iter((await registrar.cohort(cohort_id)).members))
    last = (await domain_store.read_stream(participant_stream(member)))[-1]
    assert isinstance(last.data, ContributionReversed)
    with pytest.raises(IllegalTransition):
        await cashier.reverse(ReversePayment("BJB-BOUNCE", "again"), admin)
    with pytest.raises(NotFound):
        await cashier.reverse(ReversePayment("NO-SUCH-REF", "?"), admin)


async def test_a_worker_pays_for_themself(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = await registrar.register(worker(cohort_id, 500_000), admin)
    waiting = await registrar.register(worker(cohort_id, 500_001), admin)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    own = PayContributions(
        reference="QRIS-77", payer=member.participant_id, payer_kind="participant",
        channel="qris", amount=16_800, paid_at=PAID_AT, months=["2025-10"],
        participant_ids=[member.participant_id],
    )  # fmt: skip

    receipt = await cashier.pay(own, Context(actor=f"participant:{member.participant_id}"))

    assert (receipt.participants, receipt.credit) == (1, 0)
    not_member = msgspec.structs.replace(
        own, reference="QRIS-78", participant_ids=[waiting.participant_id]
    )
    with pytest.raises(IllegalTransition):
        await cashier.pay(not_member, admin)
    with pytest.raises(ValidationFailed) as invalid:
        await cashier.pay(msgspec.structs.replace(own, months=["2025-13"], amount=0), admin)
    assert {e.field for e in invalid.value.errors} == {"months", "amount"}


@given(
    amount=st.integers(0, 2_000_000),
    incomes=st.lists(st.integers(1_000_000, 30_000_000), min_size=1, max_size=5),
    months=st.integers(1, 12),
)
def test_sharing_out_never_pays_more_than_received(
    amount: int, incomes: list[int], months: int
) -> None:
    members = [Member(f"p{n}", income, ("JKK", "JKM")) for n, income in enumerate(incomes)]
    chosen = [Month(2026, 1) + k for k in range(months)]

    allocation = share_out(amount, members, chosen)

    paid = sum(s.amount for s in allocation.shares)
    assert paid + allocation.credit == amount
    assert allocation.shortfall == allocation.amount_due - paid >= 0
    assert all(len(s.months) == len(set(s.months)) for s in allocation.shares)
    paid_months = {(s.participant_id, m) for s in allocation.shares for m in s.months}
    unpaid = [
        contribution_due(member.declared_income, member.programmes, month).total
        for member in members
        for month in chosen
        if (member.participant_id, month) not in paid_months
    ]
    assert not unpaid or allocation.credit < min(unpaid)  # credit could pay no unpaid month
