"""Group commit: single-event appends made at the same time share statements and commits, and
each still lands (or fails) on its own terms."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from events.errors import WrongExpectedVersion
from events.store import _APPEND_BATCH, ANY, NO_STREAM, AppendResult, Context, EventStore
from tests.events.model import Noted, fresh


def context(n: int) -> Context:
    return Context(
        actor=f"officer:{n}", correlation_id=uuid4(), causation_id=uuid4(),
        occurred_at=datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=n),
    )  # fmt: skip


async def test_concurrent_appends_share_transactions_and_keep_their_own_metadata(
    store: EventStore,
) -> None:
    streams = [fresh() for _ in range(40)]
    contexts = [context(n) for n in range(40)]
    results = await asyncio.gather(
        *(
            store.append(s, [Noted(text=s)], NO_STREAM, context=c)
            for s, c in zip(streams, contexts, strict=True)
        )
    )
    assert len({r.first_position for r in results}) == 40
    assert len({r.first_position >> 20 for r in results}) < 40  # some shared a transaction
    for s, c, r in zip(streams, contexts, results, strict=True):
        (event,) = await store.read_stream(s)
        assert event.data == Noted(text=s) and event.position == r.first_position
        assert (event.actor, event.correlation_id, event.causation_id, event.occurred_at) == (
            c.actor, c.correlation_id, c.causation_id, c.occurred_at,
        )  # fmt: skip
        assert (await store.verify(s)).ok


async def test_one_bad_append_does_not_sink_the_others(store: EventStore) -> None:
    streams = [fresh() for _ in range(20)]
    streams[7] = "Not A Stream Id"

    outcomes = await asyncio.gather(
        *(store.append(s, [Noted(text="x")], NO_STREAM, context=context(1)) for s in streams),
        return_exceptions=True,
    )

    assert isinstance(outcomes[7], asyncpg.CheckViolationError)
    assert all(isinstance(o, AppendResult) for n, o in enumerate(outcomes) if n != 7)
    for n, s in enumerate(streams):
        if n != 7:
            assert len(await store.read_stream(s)) == 1


async def test_each_append_in_a_batch_is_checked_against_its_own_expected_version(
    store: EventStore, ctx: Context
) -> None:
    streams = [fresh() for _ in range(12)]
    for s in streams:
        await store.append(s, [Noted(text="1")], NO_STREAM, context=ctx)

    outcomes = await asyncio.gather(
        *(
            store.append(s, [Noted(text="2")], 1 if n % 3 else 5, context=ctx)
            for n, s in enumerate(streams)
        ),
        return_exceptions=True,
    )

    for n, (s, outcome) in enumerate(zip(streams, outcomes, strict=True)):
        if n % 3:
            assert isinstance(outcome, AppendResult) and outcome.stream_version == 2
        else:
            assert isinstance(outcome, WrongExpectedVersion)
            assert (outcome.stream_id, outcome.expected, outcome.actual) == (s, 5, 1)
        assert len(await store.read_stream(s)) == (2 if n % 3 else 1)


async def test_appends_to_one_stream_at_once_land_one_after_the_other(
    store: EventStore, stream: str, ctx: Context
) -> None:
    results = await asyncio.gather(
        *(store.append(stream, [Noted(text=str(n))], ANY, context=ctx) for n in range(10))
    )
    assert sorted(r.stream_version for r in results) == list(range(1, 11))
    assert (await store.verify(stream)).ok


@pytest.mark.parametrize("expected", [NO_STREAM, 1])
async def test_a_lone_append_is_not_delayed(
    store: EventStore, stream: str, ctx: Context, expected: int
) -> None:
    if expected:
        await store.append(stream, [Noted(text="0")], NO_STREAM, context=ctx)
    result = await asyncio.wait_for(
        store.append(stream, [Noted(text="1")], expected, context=ctx), timeout=5
    )
    assert result.stream_version == expected + 1


async def test_an_append_expecting_a_version_known_to_be_gone_fails_without_the_database(
    store: EventStore, stream: str, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.append(stream, [Noted(text="1")], NO_STREAM, context=ctx)
    await store.append(stream, [Noted(text="2")], 1, context=ctx)
    other = EventStore(store.pool, store.registry)  # another process, as far as caches go
    await other.append(stream, [Noted(text="3")], 2, context=ctx)

    async def no_database(*args: object) -> None:
        raise AssertionError("went to the database")

    with monkeypatch.context() as patch:
        patch.setattr(store, "_append_one", no_database)
        with pytest.raises(WrongExpectedVersion) as known:
            await store.append(stream, [Noted(text="x")], 1, context=ctx)
    assert known.value.actual == 2  # what this store has seen; the database knows more
    with pytest.raises(WrongExpectedVersion) as found:
        await store.append(stream, [Noted(text="x")], 2, context=ctx)
    assert found.value.actual == 3
    result = await store.append(stream, [Noted(text="4")], 3, context=ctx)
    assert result.stream_version == 4


async def test_a_batch_stores_one_key_per_new_subject_and_refuses_appends_sealed_otherwise(
    store: EventStore,
) -> None:
    """Two appends of one batch brought fresh keys for the same new person: the first key is
    stored with its event; the second append writes nothing and is told to seal again."""
    subject, streams = str(uuid4()), [fresh(), fresh(), fresh()]
    now = datetime.now(UTC)
    rows = await store.pool.fetch(
        _APPEND_BATCH,
        streams, [NO_STREAM] * 3, ["Noted"] * 3, [1] * 3, [b'{"type":"Noted","text":"x"}'] * 3,
        [now] * 3, ["officer:1"] * 3, [uuid4()] * 3, [None] * 3,
        [1, 2], [subject, subject], ["k1", "k1"], [b"first wrapped", b"second wrapped"],
    )  # fmt: skip
    assert [(r["position"] is not None, r["keys_ok"]) for r in rows] == [
        (True, True), (False, False), (True, True),
    ]  # fmt: skip
    stored = await store.pool.fetchval(
        "SELECT wrapped_key FROM subject_keys WHERE subject_id = $1", subject
    )
    assert stored == b"first wrapped"
    assert [len(await store.read_stream(s)) for s in streams] == [1, 0, 1]
