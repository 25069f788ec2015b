"""Appending: expected versions, atomicity, idempotency, metadata, concurrent writers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest

from events.errors import IdempotencyKeyReused, WrongExpectedVersion
from events.store import ANY, NO_STREAM, Context, EventStore, StreamAppend
from tests.events.model import Counted, Noted, fresh


async def test_append_then_read_stream_keeps_order_and_metadata(
    store: EventStore, stream: str
) -> None:
    correlation, causation = uuid4(), uuid4()
    occurred = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
    ctx = Context(
        actor="registrar:ani", correlation_id=correlation, causation_id=causation,
        occurred_at=occurred,
    )  # fmt: skip
    before = await store.pool.fetchval("SELECT clock_timestamp()")

    result = await store.append(stream, [Noted(text="a"), Noted(text="b")], NO_STREAM, context=ctx)

    assert result.stream_id == stream
    assert result.stream_version == 2
    assert result.last_position > result.first_position
    events = await store.read_stream(stream)
    assert [e.data for e in events] == [Noted(text="a"), Noted(text="b")]
    assert [e.stream_version for e in events] == [1, 2]
    assert [e.position for e in events] == [result.first_position, result.last_position]
    first = events[0]
    assert first.type == "Noted" and first.schema_version == 1
    assert first.actor == "registrar:ani"
    assert first.correlation_id == correlation and first.causation_id == causation
    assert first.occurred_at == occurred
    assert first.recorded_at >= before
    assert first.prev_hash is None and events[1].prev_hash == first.hash
    assert len({e.event_id for e in events}) == 2


async def test_read_stream_ranges(store: EventStore, stream: str, ctx: Context) -> None:
    await store.append(stream, [Counted(n=i) for i in range(1, 6)], NO_STREAM, context=ctx)

    middle = await store.read_stream(stream, from_version=2, up_to=4)

    assert [e.data.n for e in middle] == [2, 3, 4]  # type: ignore[attr-defined]
    assert await store.read_stream(fresh()) == []
    assert await store.stream_version(stream) == 5
    assert await store.stream_version(fresh()) == 0


async def test_expected_version_mismatch_names_stream_expected_and_actual(
    store: EventStore, stream: str, ctx: Context
) -> None:
    await store.append(stream, [Noted(text="a")], NO_STREAM, context=ctx)

    with pytest.raises(WrongExpectedVersion) as stale:
        await store.append(stream, [Noted(text="b")], 3, context=ctx)
    with pytest.raises(WrongExpectedVersion) as exists:
        await store.append(stream, [Noted(text="b")], NO_STREAM, context=ctx)

    assert (stale.value.stream_id, stale.value.expected, stale.value.actual) == (stream, 3, 1)
    assert stream in str(stale.value) and "expected 3" in str(stale.value)
    assert "actual 1" in str(stale.value)
    assert "expected no stream" in str(exists.value)
    assert len(await store.read_stream(stream)) == 1


async def test_any_appends_whatever_the_version(
    store: EventStore, stream: str, ctx: Context
) -> None:
    await store.append(stream, [Noted(text="a")], ANY, context=ctx)
    result = await store.append(stream, [Noted(text="b")], ANY, context=ctx)
    assert result.stream_version == 2


async def test_multi_stream_append_is_all_or_nothing(store: EventStore, ctx: Context) -> None:
    cohort, participant = fresh("cohort"), fresh()
    await store.append(participant, [Noted(text="existing")], NO_STREAM, context=ctx)
    head_before = await store.head()

    with pytest.raises(WrongExpectedVersion) as conflict:
        await store.append_many(
            [
                StreamAppend(cohort, [Counted(n=1)], NO_STREAM),
                StreamAppend(participant, [Noted(text="late")], NO_STREAM),
            ],
            context=ctx,
        )

    assert conflict.value.stream_id == participant
    assert await store.read_stream(cohort) == []
    assert await store.stream_version(cohort) == 0
    assert len(await store.read_stream(participant)) == 1
    assert await store.head() == head_before


async def test_failing_batch_leaves_nothing(store: EventStore, ctx: Context) -> None:
    good = fresh()
    with pytest.raises(asyncpg.CheckViolationError):
        await store.append_many(
            [
                StreamAppend(good, [Noted(text="x")] * 3, NO_STREAM),
                StreamAppend("Not A Stream Id", [Noted(text="y")], NO_STREAM),
            ],
            context=ctx,
        )
    assert await store.read_stream(good) == []
    assert await store.stream_version(good) == 0


async def test_multi_stream_append_lands_in_each_stream(store: EventStore, ctx: Context) -> None:
    cohort, participant = fresh("cohort"), fresh()
    results = await store.append_many(
        [
            StreamAppend(participant, [Noted(text="registered")], NO_STREAM),
            StreamAppend(cohort, [Counted(n=1), Counted(n=2)], NO_STREAM),
        ],
        context=ctx,
    )
    assert [(r.stream_id, r.stream_version) for r in results] == [(participant, 1), (cohort, 2)]
    assert results[0].last_position < results[1].first_position
    cohort_events = await store.read_stream(cohort)
    assert all(e.correlation_id == ctx.correlation_id for e in cohort_events)


async def test_same_idempotency_key_returns_first_result_and_writes_nothing(
    store: EventStore, stream: str, ctx: Context
) -> None:
    key = f"payment-ref-{uuid4()}"
    first = await store.append(stream, [Counted(n=1)], NO_STREAM, context=ctx, idempotency_key=key)
    again = await store.append(stream, [Counted(n=1)], NO_STREAM, context=ctx, idempotency_key=key)

    assert again == first
    events = await store.read_stream(stream)
    assert len(events) == 1 and events[0].idempotency_key == key


async def test_same_idempotency_key_with_other_payload_is_refused(
    store: EventStore, stream: str, ctx: Context
) -> None:
    key = f"payment-ref-{uuid4()}"
    await store.append(stream, [Counted(n=1)], NO_STREAM, context=ctx, idempotency_key=key)

    with pytest.raises(IdempotencyKeyReused) as reused:
        await store.append(stream, [Counted(n=2)], ANY, context=ctx, idempotency_key=key)

    assert reused.value.key == key
    assert len(await store.read_stream(stream)) == 1


async def test_concurrent_requests_with_one_key_append_once(
    store: EventStore, stream: str, ctx: Context
) -> None:
    key = f"payment-ref-{uuid4()}"
    results = await asyncio.gather(
        *[
            store.append(stream, [Counted(n=7)], NO_STREAM, context=ctx, idempotency_key=key)
            for _ in range(8)
        ]
    )
    assert len(set(results)) == 1
    assert len(await store.read_stream(stream)) == 1


async def test_many_writers_on_one_stream_one_wins_each_version(
    store: EventStore, stream: str, ctx: Context
) -> None:
    writers, appends_each = 12, 5
    wins: list[int] = []

    async def writer(w: int) -> int:
        conflicts = 0
        for i in range(appends_each):
            while True:
                version = await store.stream_version(stream)
                try:
                    result = await store.append(
                        stream, [Counted(n=w * 100 + i)], version, context=ctx
                    )
                except WrongExpectedVersion:
                    conflicts += 1
                    continue
                wins.append(result.stream_version)
                break
        return conflicts

    conflicts = await asyncio.gather(*[writer(w) for w in range(writers)])

    events = await store.read_stream(stream)
    total = writers * appends_each
    assert sorted(wins) == list(range(1, total + 1))  # exactly one winner per version
    assert [e.stream_version for e in events] == list(range(1, total + 1))
    assert sorted(e.data.n for e in events) == sorted(  # type: ignore[attr-defined]
        w * 100 + i for w in range(writers) for i in range(appends_each)
    )  # no lost events
    assert sum(conflicts) > 0  # the writers really did race
    assert (await store.verify(stream)).ok


async def test_appends_join_the_callers_transaction_in_order(
    store: EventStore, ctx: Context
) -> None:
    first, second = fresh(), fresh()
    async with store.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP")
            await conn.execute("INSERT INTO scratch VALUES (1)")  # an earlier write is fine
            a = await store.append(
                first, [Noted(text="a")], NO_STREAM, context=ctx, connection=conn
            )
            b = await store.append(
                second, [Noted(text="b")], NO_STREAM, context=ctx, connection=conn
            )
        with pytest.raises(asyncpg.DivisionByZeroError):
            async with conn.transaction():
                await store.append(first, [Noted(text="c")], 1, context=ctx, connection=conn)
                await conn.execute("SELECT 1/0")  # the caller's transaction fails: nothing stays
    store.wake_readers()

    assert a.last_position < b.first_position
    assert len(await store.read_stream(first)) == 1


async def test_empty_or_duplicate_appends_are_rejected_before_the_database(
    store: EventStore, stream: str, ctx: Context
) -> None:
    with pytest.raises(ValueError, match="no events"):
        await store.append(stream, [], NO_STREAM, context=ctx)
    with pytest.raises(ValueError, match="once per append"):
        await store.append_many(
            [StreamAppend(stream, [Noted(text="a")]), StreamAppend(stream, [Noted(text="b")])],
            context=ctx,
        )
    with pytest.raises(ValueError, match="expected version"):
        await store.append(stream, [Noted(text="a")], -7, context=ctx)
