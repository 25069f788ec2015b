"""The listener: notifications from the event store become wake-up messages for the workers.

Appends NOTIFY `jaga_events` after commit (events/store.py). The listener LISTENs on one
connection of its own; a notification only marks a wake-up as pending, and a sender turns
pending wake-ups into coalesced messages (workers/wake.py), one batch at most every COALESCE
seconds. Every `interval` seconds it also wakes every projection regardless (`wake_all`),
which covers whatever notification was lost while the listener, PostgreSQL or Redis was away.
The runners read the log itself, never the messages, so an outage delays read models and
loses nothing.

Outages never end the process: a lost PostgreSQL connection is opened again, a Redis that
is down is retried, and each outage is logged once when it begins and once when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from events.store import CHANNEL
from workers.broker import TRANSIENT
from workers.wake import Waker

log = logging.getLogger("jaga.listener")

COALESCE = 0.01
"""Seconds between two batches of wake-up messages: a burst of notifications costs Redis at
most a hundred small batches a second, each one message per projection at most."""

POSTGRES_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class Outage:
    """Logs an outage once when it begins and once when it ends; backs off meanwhile."""

    def __init__(self, what: str, max_backoff: float = 5.0) -> None:
        self.what = what
        self.max_backoff = max_backoff
        self.failures = 0

    def failed(self, error: BaseException) -> float:
        """Record a failure; returns how long to wait before the next try."""
        if self.failures == 0:
            reason = str(error) or type(error).__name__
            log.warning("%s unavailable (%s); retrying", self.what, reason)
        self.failures += 1
        return min(self.max_backoff, 0.1 * 2 ** min(self.failures, 10))

    def ok(self) -> None:
        if self.failures:
            log.info("%s is back after %d failed attempt(s)", self.what, self.failures)
        self.failures = 0


class Listener:
    """LISTEN for appends and wake the projection workers (see the module docstring)."""

    def __init__(
        self,
        database_url: str,
        waker: Waker,
        *,
        interval: float,
        coalesce: float = COALESCE,
    ) -> None:
        self.database_url = database_url
        self.waker = waker
        self.interval = interval
        self.coalesce = coalesce
        self.listening = asyncio.Event()
        """Set while the LISTEN connection is up."""
        self._pending = asyncio.Event()

    async def run(self) -> None:
        """Listen, send wake-ups and tick, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._listen())
            tasks.create_task(self._send())
            tasks.create_task(self._tick())

    def _notified(self, *_: Any) -> None:
        self._pending.set()

    async def _listen(self) -> None:
        outage = Outage("PostgreSQL (listener)")
        while True:
            try:
                conn = await asyncpg.connect(
                    self.database_url, timeout=10,
                    server_settings={"application_name": "jaga-listener"},
                )  # fmt: skip
            except POSTGRES_DOWN as exc:
                await asyncio.sleep(outage.failed(exc))
                continue
            lost: BaseException = ConnectionError("connection lost")
            try:
                await self._listen_on(conn, outage)
            except POSTGRES_DOWN as exc:
                lost = exc
            finally:  # not listening from the moment the link is lost, not after the pause
                self.listening.clear()
                conn.terminate()
            await asyncio.sleep(outage.failed(lost))

    async def _listen_on(self, conn: asyncpg.Connection, outage: Outage) -> None:
        """LISTEN on `conn` until it is lost (then raise)."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        await conn.add_listener(CHANNEL, self._notified)
        outage.ok()
        self.listening.set()
        self._pending.set()  # anything appended while nobody listened
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.interval)
            if not lost.is_set():  # a link that died silently shows here
                await asyncio.wait_for(conn.fetchval("SELECT 1"), 10)
        raise ConnectionError("connection lost")

    async def _send(self) -> None:
        outage = Outage("Redis (wake-ups)")
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await asyncio.to_thread(self.waker.wake)  # Redis calls block: not on the loop
            except TRANSIENT as exc:
                self._pending.set()  # the events are still unprojected: try again
                await asyncio.sleep(outage.failed(exc))
                continue
            outage.ok()
            await asyncio.sleep(self.coalesce)

    async def _tick(self) -> None:
        outage = Outage("Redis (periodic wake-up)")
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.waker.wake_all)
            except TRANSIENT as exc:
                outage.failed(exc)
            else:
                outage.ok()
