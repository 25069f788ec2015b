"""rm.payments driven by the real write side: a sponsor's block, a worker paying for
themself, a repeated reference, a reversal."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import pytest

from events.store import Context, EventStore
from projections.runner import ProjectionRunner
from services.commands import ReversePayment
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.registration import Registrar
from tests.projections.conftest import catch_up
from tests.projections.test_participants import OCT_10, projections, self_pays, sponsor_pays
from tests.services.conftest import open_cohort
from tests.services.workers import worker

_numbers = itertools.count(950_000)


async def payment_row(store: EventStore, reference: str) -> dict[str, Any]:
    await catch_up(ProjectionRunner(store, projections()))
    row = await store.pool.fetchrow("SELECT * FROM rm.payments WHERE reference = $1", reference)
    assert row is not None
    return dict(row)


async def test_payments_as_recorded_and_reversed(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=2)
    outcomes = await registrar.register_many(
        [worker(cohort_id, next(_numbers)) for _ in range(2)], admin
    )
    member = outcomes[0].participant_id  # type: ignore[union-attr]
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    block = sponsor_pays(cohort_id, ["2025-10", "2025-11"], 4 * 16_800 - 1_000, OCT_10)
    receipt = await cashier.pay(block, admin)
    assert await cashier.pay(block, admin) == receipt  # the same reference: one payment
    own = self_pays(member, ["2025-12"], 20_000, OCT_10)
    await cashier.pay(own, admin)

    row = await payment_row(domain_store, block.reference)
    assert row == {
        "payment_id": receipt.payment_id, "reference": block.reference,
        "payer": "APBD Kabupaten Kepahiang", "payer_kind": "sponsor",
        "channel": "bank_transfer", "amount": 4 * 16_800 - 1_000, "paid_at": OCT_10,
        "months": ["2025-10", "2025-11"], "cohort_id": cohort_id, "participants": 2,
        "amount_due": 4 * 16_800, "credit": 16_800 - 1_000, "shortfall": 16_800,
        "reversed": False, "reversal_reason": None,
    }  # fmt: skip
    mine = await payment_row(domain_store, own.reference)
    assert (mine["payer_kind"], mine["cohort_id"], mine["participants"]) == ("participant", None, 1)
    assert (mine["amount_due"], mine["credit"], mine["shortfall"]) == (16_800, 3_200, 0)

    await cashier.reverse(ReversePayment(block.reference, "transfer ditolak bank"), admin)
    row = await payment_row(domain_store, block.reference)
    assert (row["reversed"], row["reversal_reason"]) == (True, "transfer ditolak bank")
    assert not (await payment_row(domain_store, own.reference))["reversed"]
    count = await domain_store.pool.fetchval(
        "SELECT count(*) FROM rm.payments WHERE reference = ANY($1::text[])",
        [block.reference, own.reference],
    )
    assert count == 2


async def test_a_reference_is_one_row(domain_store: EventStore) -> None:
    """The table refuses a second row for a reference (the log never holds one)."""
    await catch_up(ProjectionRunner(domain_store, projections()))
    schema = await domain_store.pool.fetchval(
        """SELECT schema_name FROM projection_generations
           WHERE name = 'payments' AND state = 'active'"""
    )
    insert = f"INSERT INTO {schema}.payments (payment_id, reference) VALUES ($1, $2)"
    async with domain_store.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(insert, "payment-a", "BPD-TWICE")
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(insert, "payment-b", "BPD-TWICE")
        finally:
            await transaction.rollback()
