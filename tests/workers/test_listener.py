"""The listener against real PostgreSQL and Redis: a burst of notifications is one message per
projection, the periodic wake-up covers lost ones, and neither a lost PostgreSQL connection
nor a Redis outage stops it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import asyncpg
import pytest
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from events.store import CHANNEL
from tests.workers.conftest import Valkey
from workers.broker import PROJECTIONS_QUEUE, create_broker
from workers.listener import Listener
from workers.wake import ALL, Waker

NAMES = ["claim_board", "participant_status"]


def queued(broker: RedisBroker) -> list[tuple[str, tuple[object, ...]]]:
    """The messages waiting on the projections queue: (actor, args), sorted."""
    raw = broker.client.hvals(f"{broker.namespace}:{PROJECTIONS_QUEUE}.msgs")
    return sorted((m.actor_name, m.args) for m in map(Message.decode, raw))


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


class Running:
    def __init__(self, listener: Listener, broker: RedisBroker) -> None:
        self.listener = listener
        self.broker = broker
        self.task = asyncio.create_task(listener.run())

    async def stop(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        self.broker.close()


@pytest.fixture
async def start(
    migrated_database_url: str, redis_url: str, redis_namespace: str
) -> AsyncIterator[Callable[..., Running]]:
    started: list[Running] = []

    def run(interval: float = 60.0, url: str | None = None) -> Running:
        broker = create_broker(url or redis_url, f"{redis_namespace}-{uuid4().hex[:8]}")
        listener = Listener(migrated_database_url, Waker(broker, NAMES), interval=interval)
        started.append(Running(listener, broker))
        return started[-1]

    yield run
    for running in started:
        await running.stop()


async def notify(database_url: str, times: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(times):  # each in a transaction of its own: none is merged
            await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    finally:
        await conn.close()


async def test_a_burst_of_notifications_is_one_message_per_projection(
    start: Callable[..., Running], migrated_database_url: str
) -> None:
    running = start()
    broker, waker = running.broker, running.listener.waker
    await asyncio.wait_for(running.listener.listening.wait(), 10)
    every = [("project", (name,)) for name in NAMES]
    await until(lambda: queued(broker) == every)  # the wake-up on connecting

    await notify(migrated_database_url, 1000)
    await asyncio.sleep(0.3)
    assert queued(broker) == every  # none started: a thousand notifications add nothing

    waker.started("claim_board")  # its worker took the message: the next one queues again
    await notify(migrated_database_url, 1)
    await until(lambda: len(queued(broker)) == 3)
    await asyncio.sleep(0.2)
    assert queued(broker) == [every[0], *every]
    assert not running.task.done()


async def test_the_periodic_wake_up_needs_no_notification(
    start: Callable[..., Running],
) -> None:
    running = start(interval=0.2)
    broker, waker = running.broker, running.listener.waker
    await until(lambda: ("project_all", ()) in queued(broker))
    await asyncio.sleep(0.6)  # three more ticks, while the first is still waiting
    assert queued(broker).count(("project_all", ())) == 1
    waker.started(ALL)
    await until(lambda: queued(broker).count(("project_all", ())) == 2)


async def test_a_lost_postgres_connection_is_opened_again(
    start: Callable[..., Running], migrated_database_url: str
) -> None:
    running = start(interval=0.5)
    listener, broker = running.listener, running.broker
    await asyncio.wait_for(listener.listening.wait(), 10)
    admin = await asyncpg.connect(migrated_database_url)
    try:
        killed = await admin.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE application_name = 'jaga-listener' AND datname = current_database()"""
        )
    finally:
        await admin.close()
    assert killed >= 1
    await until(lambda: not listener.listening.is_set(), within=5)
    await asyncio.wait_for(listener.listening.wait(), 10)

    await asyncio.sleep(0.1)  # the wake-up on connecting has gone out
    broker.flush(PROJECTIONS_QUEUE)
    for name in NAMES:
        listener.waker.started(name)
    await notify(migrated_database_url, 1)
    await until(lambda: ("project", ("claim_board",)) in queued(broker))
    assert not running.task.done()


async def test_a_redis_outage_delays_wake_ups_and_loses_none(
    start: Callable[..., Running], migrated_database_url: str, valkey: Valkey
) -> None:
    running = start(interval=60.0, url=valkey.url)  # Redis is not there yet
    await asyncio.wait_for(running.listener.listening.wait(), 10)
    await notify(migrated_database_url, 3)
    await asyncio.sleep(1.0)
    assert not running.task.done()  # it kept trying

    valkey.start()
    every = [("project", (name,)) for name in NAMES]
    await until(lambda: queued(running.broker) == every)  # the pending wake-up went out

    valkey.stop()  # and with it every message and mark
    await notify(migrated_database_url, 1)
    await asyncio.sleep(0.5)
    valkey.start()
    await until(lambda: queued(running.broker) == every)
    assert not running.task.done()
