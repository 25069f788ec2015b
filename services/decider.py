"""Deciders and the thin handler around them.

A decider is three pure functions over one aggregate (Chassaing's pattern): `initial` state,
`evolve(state, event) -> state` and `decide(command, state) -> events`, no I/O. The handler
loads a stream, folds it, lets the decider decide, and appends with the version it read; when
another writer got there first it reloads and decides again, a bounded number of times.

Folded states are cached per stream in the handler's process (`StateCache`): a retry or the
next command reads only the events appended since.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from events.store import EventStore
from events.types import Event

S = TypeVar("S")
C = TypeVar("C")

MAX_ATTEMPTS = 50


async def back_off(attempt: int) -> None:
    """After losing a race for a stream: wait a random, growing while (full jitter, ≤ 50 ms)
    so that the contenders spread out instead of colliding again."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))


@dataclass(frozen=True)
class Decider(Generic[C, S]):
    initial: S
    evolve: Callable[[S, Event], S]
    decide: Callable[[C, S], Sequence[Event]]

    def fold(self, events: Sequence[Event], state: S | None = None) -> S:
        for event in events:
            state = self.evolve(self.initial if state is None else state, event)
        return self.initial if state is None else state


@dataclass
class StateCache(Generic[S]):
    """Folded state and version per stream, plus a lock per stream so that commands on one
    stream in this process queue instead of racing each other."""

    decider: Decider[object, S]
    _states: dict[str, tuple[S, int]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, stream_id: str) -> asyncio.Lock:
        return self._locks.setdefault(stream_id, asyncio.Lock())

    async def load(self, store: EventStore, stream_id: str) -> tuple[S, int]:
        """The stream's state as of its latest event, reading only what is new."""
        state, version = self._states.get(stream_id, (self.decider.initial, 0))
        recorded = await store.read_stream(stream_id, from_version=version + 1)
        if recorded:
            state = self.decider.fold([r.data for r in recorded], state)
            version = recorded[-1].stream_version
            self._states[stream_id] = (state, version)
        return state, version
