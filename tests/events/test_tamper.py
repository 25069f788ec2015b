"""Invariants 1 and 7: the database refuses changes, and the chain exposes those that bypass it."""

from __future__ import annotations

import asyncpg
import pytest

from events.store import NO_STREAM, Context, EventStore
from tests.events.model import Counted, fresh


async def test_update_delete_and_truncate_are_refused(store: EventStore, ctx: Context) -> None:
    stream = fresh()
    result = await store.append(stream, [Counted(n=1)], NO_STREAM, context=ctx)

    for sql in (
        "UPDATE events SET actor = 'someone else' WHERE position = $1",
        "DELETE FROM events WHERE position = $1",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only") as refused:
            await store.pool.execute(sql, result.first_position)
        assert refused.value.sqlstate == "JG010"
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await store.pool.execute("TRUNCATE events")
    assert len(await store.read_stream(stream)) == 1


async def superuser_write(store: EventStore, sql: str, *args: object) -> None:
    """What an intruder with superuser rights could do: bypass the triggers."""
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(sql, *args)


async def test_verifier_names_an_altered_event(store: EventStore, ctx: Context) -> None:
    stream = fresh()
    await store.append(stream, [Counted(n=i) for i in range(1, 6)], NO_STREAM, context=ctx)
    victim = (await store.read_stream(stream))[2]
    assert (await store.verify(stream)).ok

    await superuser_write(
        store, """UPDATE events SET payload = '{"type":"Counted","n":300}' WHERE position = $1""",
        victim.position,
    )  # fmt: skip

    report = await store.verify(stream)
    assert not report.ok
    (problem,) = report.problems
    assert (problem.stream_id, problem.position, problem.stream_version) == (
        stream, victim.position, 3,
    )  # fmt: skip
    assert "altered" in problem.problem
    assert any(p.position == victim.position for p in (await store.verify()).problems)


async def test_verifier_catches_an_altered_event_whose_hash_was_recomputed(
    store: EventStore, ctx: Context
) -> None:
    stream = fresh()
    await store.append(stream, [Counted(n=i) for i in range(1, 4)], NO_STREAM, context=ctx)
    victim = (await store.read_stream(stream))[1]

    await superuser_write(
        store,
        """UPDATE events SET actor = 'intruder',
               hash = jaga_event_hash(prev_hash, jaga_event_bytes(stream_id, stream_version,
                   event_id, event_type, schema_version, payload, occurred_at, recorded_at,
                   'intruder', correlation_id, causation_id, idempotency_key))
           WHERE position = $1""",
        victim.position,
    )

    (problem,) = (await store.verify(stream)).problems
    assert problem.stream_version == 3  # the next event no longer links to it
    assert "link" in problem.problem


async def test_verifier_names_a_removed_event(store: EventStore, ctx: Context) -> None:
    stream = fresh()
    await store.append(stream, [Counted(n=i) for i in range(1, 4)], NO_STREAM, context=ctx)

    await superuser_write(
        store, "DELETE FROM events WHERE stream_id = $1 AND stream_version = 2", stream
    )

    (gap,) = (await store.verify(stream)).problems
    assert gap.stream_version == 2 and "missing" in gap.problem
