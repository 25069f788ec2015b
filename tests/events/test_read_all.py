"""Reading the whole log: gap-safe order, type filters, as-of reads, following."""

from __future__ import annotations

import asyncio
import random
import time

import asyncpg

from events.store import NO_STREAM, Context, EventStore
from events.subscription import follow
from tests.events.model import Counted, Noted, fresh


async def read_to_head(store: EventStore, after: int, **kwargs: object) -> tuple[list[int], int]:
    positions: list[int] = []
    while True:
        page = await store.read_all(after, **kwargs)  # type: ignore[arg-type]
        positions += [e.position for e in page.events]
        if page.checkpoint == after:
            return positions, after
        after = page.checkpoint


async def test_a_late_commit_with_a_lower_position_is_neither_skipped_nor_repeated(
    store: EventStore, ctx: Context
) -> None:
    checkpoint = await store.head()
    held = await store.pool.acquire()
    try:
        tx = held.transaction()
        await tx.start()
        slow = await store.append(
            fresh(), [Noted(text="slow")], NO_STREAM, context=ctx, connection=held
        )
        quick = [
            await store.append(fresh(), [Noted(text="quick")], NO_STREAM, context=ctx)
            for _ in range(3)
        ]
        assert all(q.first_position > slow.first_position for q in quick)

        # The quick events are committed, but reading them now would mean skipping `slow`
        # later: the reader waits instead (it does not advance past the open transaction).
        seen, checkpoint = await read_to_head(store, checkpoint)
        assert seen == []

        await tx.commit()
    finally:
        await store.pool.release(held)

    seen, _ = await read_to_head(store, checkpoint)
    assert seen == [slow.first_position] + [q.first_position for q in quick]


async def test_a_rolled_back_append_burns_positions_without_stalling_readers(
    store: EventStore, ctx: Context
) -> None:
    checkpoint = await store.head()
    async with store.pool.acquire() as held:
        tx = held.transaction()
        await tx.start()
        burnt = await store.append(
            fresh(), [Noted(text="bounced")], NO_STREAM, context=ctx,
            connection=held,
        )  # fmt: skip
        after = await store.append(fresh(), [Noted(text="ok")], NO_STREAM, context=ctx)
        await tx.rollback()

    seen, _ = await read_to_head(store, checkpoint)
    assert burnt.first_position not in seen
    assert seen == [after.first_position]


async def test_concurrent_slow_writers_are_read_exactly_once_in_order(
    store: EventStore, ctx: Context
) -> None:
    """Writers that hold their transactions open for random times while a reader follows."""
    checkpoint = await store.head()
    committed: list[int] = []
    rng = random.Random(4)

    async def writer(conn: asyncpg.Connection, n: int) -> None:
        for _ in range(n):
            async with conn.transaction():
                result = await store.append(
                    fresh(), [Counted(n=1)], NO_STREAM, context=ctx, connection=conn
                )
                await asyncio.sleep(rng.random() * 0.02)
            committed.append(result.first_position)

    conns = [await store.pool.acquire() for _ in range(6)]
    seen: list[int] = []
    writers = asyncio.gather(*[writer(c, 25) for c in conns])
    try:
        while not writers.done():
            page = await store.read_all(checkpoint, batch_size=7)
            seen += [e.position for e in page.events]
            checkpoint = page.checkpoint
            await asyncio.sleep(0.003)
        await writers
    finally:
        for c in conns:
            await store.pool.release(c)
    rest, _ = await read_to_head(store, checkpoint)
    seen += rest

    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert set(seen) == set(committed)


async def test_type_filter_moves_the_checkpoint_past_other_events(
    store: EventStore, ctx: Context
) -> None:
    checkpoint = await store.head()
    counted = await store.append(fresh("cohort"), [Counted(n=1)], NO_STREAM, context=ctx)
    noted = await store.append(fresh("cohort"), [Noted(text="x")], NO_STREAM, context=ctx)

    page = await store.read_all(checkpoint, types=["Counted"])

    assert [e.position for e in page.events] == [counted.first_position]
    assert page.checkpoint == noted.first_position
    assert (await store.read_all(page.checkpoint, types=["Counted"])).events == []


async def test_read_all_batches(store: EventStore, ctx: Context) -> None:
    checkpoint = await store.head()
    await store.append(fresh("cohort"), [Counted(n=i) for i in range(10)], NO_STREAM, context=ctx)

    first = await store.read_all(checkpoint, batch_size=4)
    rest, _ = await read_to_head(store, first.checkpoint, batch_size=4)

    assert len(first.events) == 4
    assert len(rest) == 6


async def test_stream_as_known_at_an_instant(store: EventStore, stream: str, ctx: Context) -> None:
    await store.append(stream, [Noted(text="registered")], NO_STREAM, context=ctx)
    known_then = await store.pool.fetchval("SELECT clock_timestamp()")
    await store.append(stream, [Noted(text="corrected")], 1, context=ctx)

    then = await store.read_stream(stream, as_known_at=known_then)
    now = await store.read_stream(stream)

    assert [e.data for e in then] == [Noted(text="registered")]
    assert len(now) == 2


async def test_follow_wakes_on_notify_without_waiting_for_the_poll(
    store: EventStore, ctx: Context
) -> None:
    checkpoint = await store.head()
    received: list[int] = []

    async def consume() -> None:
        async for page in follow(store, after=checkpoint, poll_interval=60):
            received.extend(e.position for e in page.events)
            if len(received) >= 2:
                return

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.2)  # the consumer is now waiting on the notification
    started = time.monotonic()
    a = await store.append(fresh("cohort"), [Counted(n=1)], NO_STREAM, context=ctx)
    b = await store.append(fresh("cohort"), [Counted(n=2)], NO_STREAM, context=ctx)
    await asyncio.wait_for(consumer, timeout=10)

    assert received == [a.first_position, b.first_position]
    assert time.monotonic() - started < 10
