"""The synthetic data generator: deterministic per seed, valid people, the Cashier's own events
for the batched payments, and a small generated log that decodes and that projections apply."""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import msgspec
import pytest

from bench.synthetic import (
    CLAIM_TARGETS,
    Summary,
    generate,
    people,
    plan,
    self_payment_appends,
)
from events.catalog import ParticipantRegistered, registry
from events.personal import LookupHasher, MasterKeys
from events.store import Context, EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services.bootstrap import migrate_database
from services.commands import PayContributions
from services.contributions import Cashier, Member
from services.domain.policy import DEFAULT_POLICY
from services.domain.rates import MIN_DECLARED_INCOME
from services.domain.regions import default_regions
from services.registration import OCCUPATIONS, validate_registration
from tests.conftest import with_path
from tests.services.conftest import make_registrar, open_cohort
from tests.services.workers import worker

NOW = datetime(2026, 5, 20, 3, 0, tzinfo=UTC)
LOOKUP = LookupHasher(base64.b64decode("c3ludGhldGljLWxvb2t1cC1rZXktZm9yLXRlc3RzLW9ubHk="))
TINY = 40


def test_the_same_seed_gives_the_same_people_and_another_seed_others() -> None:
    today = NOW.date()
    assert people(7, 300, today) == people(7, 300, today)
    other = people(8, 300, today)
    assert {p.nik for p in other}.isdisjoint({p.nik for p in people(7, 300, today)})


def test_every_person_passes_registration_as_a_distinct_kepahiang_worker() -> None:
    found = people(3, 2000, NOW.date(), minimum_income=100)
    regions = default_regions()
    niks = [validate_registration(p.register("kph"), regions, NOW.date()) for p in found]
    assert len(set(niks)) == len(found)
    assert all(nik.startswith("1708") and nik[4:6] in {"01", "02", "03", "04", "05", "06",
                                                      "07", "08"} for nik in niks)  # fmt: skip
    assert {p.occupation for p in found} == set(OCCUPATIONS)
    assert {p.sex for p in found} == {"L", "P"}
    assert all(p.declared_income == MIN_DECLARED_INCOME for p in found[:100])
    assert all(p.declared_income >= MIN_DECLARED_INCOME for p in found)
    assert len({p.declared_income for p in found[100:]}) > 1
    assert {p.kecamatan for p in found} == set(regions.kecamatan)


def test_a_plan_is_decided_by_its_seed_size_and_end() -> None:
    first = plan(2500, seed=5, months=6, now=NOW)
    assert first == plan(2500, seed=5, months=6, now=NOW)
    assert first != plan(2500, seed=6, months=6, now=NOW)
    assert [c.quota for c in first.cohorts] == [1984, 516]
    assert sum(c.count for c in first.cohorts) == len(first.people) > 2500  # some wait
    assert {c.target for c in first.claims} == set(CLAIM_TARGETS)
    assert all(c.event_at < NOW for c in first.claims)


async def test_batched_own_payments_are_the_events_the_cashier_appends(
    tiny_store: EventStore,
) -> None:
    admin = Context(actor="admin:test")
    registrar = make_registrar(tiny_store)
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, 880_001), admin)).participant_id
    command = PayContributions(
        reference="BPU/TEST/1", payer=member, payer_kind="participant", channel="qris",
        amount=2 * 16_800, paid_at=datetime(2025, 11, 3, 2, tzinfo=UTC),
        months=["2025-11", "2025-10"], participant_ids=[member],
    )  # fmt: skip
    batched = self_payment_appends(command, Member(member, 1_000_000, ("JKK", "JKM")))

    await Cashier(tiny_store, registrar, DEFAULT_POLICY).pay(command, admin)

    for append in batched:
        stored = await tiny_store.read_stream(append.stream_id)
        assert stored[-1].data == append.events[0]
    assert [a.expected for a in batched] == [0, -1]  # NO_STREAM, ANY: as Cashier.pay


async def _store(url: str, key_id: str) -> EventStore:
    await migrate_database(url)
    keys = MasterKeys.parse(MasterKeys.generate(key_id))
    return await EventStore.connect(url, registry, keys, min_size=1, max_size=8)


@pytest.fixture
async def tiny_store(scratch_database_url: str) -> AsyncIterator[EventStore]:
    store = await _store(scratch_database_url, "t1")
    yield store
    await store.close()


@pytest.fixture
async def another_store(database_url: str) -> AsyncIterator[EventStore]:
    """A second empty database of the test's own."""
    name = f"jaga_scratch_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        store = await _store(with_path(database_url, f"/{name}"), "t2")
        yield store
        await store.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _generated(store: EventStore) -> Summary:
    summary = await generate(store, LOOKUP, plan(TINY, seed=11, months=4, now=NOW))
    # read_all only reads below the server's oldest open transaction (any database's): wait
    # until transactions elsewhere on a shared server let it see the whole log
    last = await store.pool.fetchval("SELECT max(position) FROM events")
    for _ in range(300):
        if await store.head() >= last:
            break
        await asyncio.sleep(0.1)
    return summary


async def test_a_tiny_log_decodes_opens_its_personal_data_and_feeds_every_projection(
    tiny_store: EventStore,
) -> None:
    summary = await _generated(tiny_store)

    assert summary.refused == {}
    assert set(summary.claims) == set(CLAIM_TARGETS)  # every claim state once at least
    assert summary.participants == summary.enrolled + summary.waitlisted + summary.leavers
    assert summary.leavers + summary.waitlisted > 0
    names = {p.name for p in plan(TINY, seed=11, months=4, now=NOW).people}
    after, decoded = 0, 0
    while page := (await tiny_store.read_all(after, batch_size=500)).events:
        for recorded in page:
            if isinstance(recorded.data, ParticipantRegistered):
                assert recorded.data.name in names  # sealed in the log, opened on reading
        decoded += len(page)
        after = page[-1].position
    assert decoded == summary.events > 10 * TINY

    runner = ProjectionRunner(tiny_store, all_projections())
    await runner.prepare()
    await runner.run_all()
    statuses = await runner.status()
    assert [s.name for s in statuses if s.state != "active" or s.lag_events] == []
    if "participant_status" in runner.projections:
        rows = await tiny_store.pool.fetchval("SELECT count(*) FROM rm.participants")
        assert rows == summary.participants


async def test_the_same_plan_writes_the_same_history(
    tiny_store: EventStore, another_store: EventStore
) -> None:
    """Stream by stream the same events, under other keys (claim decisions aside, which are
    dated when they are made)."""
    await _generated(tiny_store)
    await _generated(another_store)

    assert await _history(tiny_store) == await _history(another_store)


async def _history(store: EventStore) -> dict[str, list[object]]:
    streams: dict[str, list[object]] = defaultdict(list)
    after = 0
    while page := (await store.read_all(after, batch_size=1000)).events:
        for r in page:
            volatile = r.stream_id.startswith("claim-")
            streams[r.stream_id].append(r.type if volatile else msgspec.to_builtins(r.data))
        after = page[-1].position
    return dict(streams)
