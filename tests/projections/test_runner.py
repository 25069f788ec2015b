"""The runner's contract, with a small projection: checkpoint and writes commit together, a
refused event stops its projection only, rebuilds take over atomically."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar
from uuid import uuid4

import asyncpg
import pytest

from events.catalog import CohortOpened, KpjRecorded, registry
from events.store import ANY, Context, EventStore
from events.types import RecordedEvent
from projections.projection import Projection
from projections.runner import ProjectionRunner, ProjectionStopped
from services.bootstrap import migrate_database

ACTOR = Context(actor="test:runner")


class KpjBook(Projection):
    """KPJ per participant; refuses a KPJ equal to "refuse" (to test failures)."""

    name: ClassVar[str] = "kpj_book"
    version: ClassVar[int] = 1
    consumes = (KpjRecorded,)
    tables = ("kpj_book",)

    def schema_sql(self, schema: str) -> str:
        return f"""CREATE TABLE {schema}.kpj_book (
            participant_id text PRIMARY KEY, kpj text NOT NULL, position bigint NOT NULL)"""

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        for e in events:
            if e.data.kpj == "refuse":
                raise ValueError("this KPJ is refused")
        await conn.executemany(
            f"""INSERT INTO {schema}.kpj_book VALUES ($1, $2, $3)
                ON CONFLICT (participant_id) DO UPDATE SET kpj = $2, position = $3""",
            [(e.data.participant_id, e.data.kpj, e.position) for e in events],
        )


class KpjBookV2(KpjBook):
    version: ClassVar[int] = 2


class OpenCount(Projection):
    name: ClassVar[str] = "open_count"
    version: ClassVar[int] = 1
    consumes = (CohortOpened,)
    tables = ("open_count",)

    def schema_sql(self, schema: str) -> str:
        return f"CREATE TABLE {schema}.open_count (cohort_id text PRIMARY KEY)"

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        await conn.executemany(
            f"INSERT INTO {schema}.open_count VALUES ($1) ON CONFLICT DO NOTHING",
            [(e.data.cohort_id,) for e in events],
        )


@pytest.fixture
async def store(scratch_database_url: str) -> AsyncIterator[EventStore]:
    await migrate_database(scratch_database_url)
    store = await EventStore.connect(scratch_database_url, registry)
    yield store
    await store.close()


async def settled(store: EventStore) -> None:
    """Wait until every event appended so far is below the reader's horizon: a transaction
    left open anywhere on a shared server (another test, another database) holds it back."""
    import asyncio

    latest = await store.pool.fetchval("SELECT max(position) FROM events")
    for _ in range(500):
        if await store.head() >= (latest or 0):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the log's horizon did not reach the last append within 10 s")


async def kpj(store: EventStore, participant: str, number: str) -> None:
    await store.append(
        f"participant-{participant}", [KpjRecorded(participant_id=participant, kpj=number)], ANY,
        context=ACTOR,
    )  # fmt: skip


async def book(store: EventStore) -> dict[str, str]:
    rows = await store.pool.fetch("SELECT participant_id, kpj FROM rm.kpj_book")
    return {r[0]: r[1] for r in rows}


async def test_applies_in_batches_and_keeps_the_checkpoint(store: EventStore) -> None:
    runner = ProjectionRunner(store, [KpjBook()], batch_size=3)
    await runner.prepare()
    for i in range(7):
        await kpj(store, f"p{i}", f"{i:011d}")
    await settled(store)
    assert await runner.run("kpj_book") == 7
    assert await book(store) == {f"p{i}": f"{i:011d}" for i in range(7)}
    assert await runner.run("kpj_book") == 0  # nothing twice
    [status] = await runner.status()
    assert (status.state, status.lag_events, status.events_applied) == ("active", 0, 7)
    assert status.position == await store.head()


async def test_a_refused_event_stops_that_projection_only(store: EventStore) -> None:
    runner = ProjectionRunner(store, [KpjBook(), OpenCount()], batch_size=10)
    await runner.prepare()
    await kpj(store, "a", "1")
    await kpj(store, "b", "refuse")
    await kpj(store, "c", "3")
    await store.append("cohort-x", [CohortOpened(cohort_id="x")], ANY, context=ACTOR)
    await settled(store)
    await runner.run_all()
    assert await book(store) == {"a": "1"}  # applied up to the refused event, not past it
    assert await store.pool.fetchval("SELECT count(*) FROM rm.open_count") == 1
    status = {s.name: s for s in await runner.status()}
    stopped = status["kpj_book"]
    assert stopped.state == "stopped"
    assert stopped.failed_type == "KpjRecorded"
    assert "this KPJ is refused" in (stopped.error or "")
    assert stopped.lag_events == 2
    assert status["open_count"].state == "active"
    with pytest.raises(ProjectionStopped, match="KpjRecorded"):
        await runner.rebuild("kpj_book")


async def test_rebuild_builds_beside_and_takes_over(store: EventStore) -> None:
    runner = ProjectionRunner(store, [KpjBook()], batch_size=2)
    await runner.prepare()
    for i in range(5):
        await kpj(store, f"p{i}", str(i))
    await settled(store)
    await runner.run("kpj_book")
    seen: list[int] = []
    generation = await runner.rebuild("kpj_book", progress=seen.append)
    assert generation == 2 and seen[-1] == 5
    assert await book(store) == {f"p{i}": str(i) for i in range(5)}
    schemas = await store.pool.fetch(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'proj_kpj_book_%'"
    )
    assert [r[0] for r in schemas] == ["proj_kpj_book_g2"]  # the old build is gone


async def test_a_new_version_serves_the_old_until_caught_up(store: EventStore) -> None:
    old = ProjectionRunner(store, [KpjBook()], batch_size=2)
    await old.prepare()
    for i in range(5):
        await kpj(store, f"p{i}", str(i))
    await settled(store)
    await old.run("kpj_book")
    new = ProjectionRunner(store, [KpjBookV2()], batch_size=2)
    await new.prepare()
    await kpj(store, "late", str(uuid4()))
    await settled(store)
    result = await new.step("kpj_book", 2)  # one page of the new build: not caught up
    assert not result.caught_up
    assert len(await book(store)) == 5  # readers still see the old, complete version
    await new.run("kpj_book")
    assert len(await book(store)) == 6
    [status] = await new.status()
    assert (status.version, status.generation, status.state) == (2, 2, "active")


async def test_two_runners_never_apply_a_page_twice(store: EventStore) -> None:
    import asyncio

    runner = ProjectionRunner(store, [OpenCount()], batch_size=1)
    await runner.prepare()
    for i in range(20):
        await store.append(f"cohort-{i}", [CohortOpened(cohort_id=str(i))], ANY, context=ACTOR)
    await settled(store)
    applied = await asyncio.gather(*(runner.run("open_count") for _ in range(4)))
    assert sum(applied) == 20
