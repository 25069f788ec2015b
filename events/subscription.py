"""Following the log: wake on NOTIFY, fall back to polling, never skip or repeat an event.

Appends notify the channel `jaga_events` on commit. A notification only says "look again":
the reader still reads gap-safely after its checkpoint, so a lost or early notification costs
at most one poll interval, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from events.store import CHANNEL, EventStore, Page


async def follow(
    store: EventStore,
    *,
    after: int = 0,
    batch_size: int = 1000,
    types: Sequence[str] | None = None,
    poll_interval: float = 1.0,
) -> AsyncIterator[Page]:
    """Yield non-empty pages of the log after `after`, forever, waiting for new events."""
    wake = asyncio.Event()

    def on_notify(*_: Any) -> None:
        wake.set()

    async with store.pool.acquire() as listener:
        await listener.add_listener(CHANNEL, on_notify)
        try:
            while True:
                wake.clear()
                page = await store.read_all(after, batch_size=batch_size, types=types)
                after = page.checkpoint
                if page.events:
                    yield page
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), poll_interval)
        finally:
            await listener.remove_listener(CHANNEL, on_notify)
