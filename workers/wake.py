"""Wake-up messages for the projection workers, coalesced in Redis.

A mark per target (`<namespace>:wake:<projection>`, and `<namespace>:wake:*` for every
projection at once) says that a wake-up message for it is queued and has not started yet.
While the mark is set, further wake-ups for that target are dropped, so a burst of thousands of
notifications queues one message per projection. The actor deletes the mark as it starts,
before it reads the log, so anything committed after that queues a fresh wake-up. A mark whose
message was lost (Redis restarted, a worker killed with it prefetched) expires after
MARK_TTL_MS; meanwhile the periodic wake-up (`wake_all`, a mark of its own) covers it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from dramatiq.brokers.redis import RedisBroker

from workers.actors import message
from workers.broker import TRANSIENT

ALL = "*"
"""The target of `wake_all`: every projection, in one message."""

MARK_TTL_MS = 10_000


class Waker:
    """Queues `project(name)` / `project_all()` messages, at most one waiting per target."""

    def __init__(self, broker: RedisBroker, projections: Sequence[str]) -> None:
        self.broker = broker
        self.projections = tuple(projections)

    def wake(self) -> list[str]:
        """Wake the worker of each projection; returns those a message was queued for."""
        return self._send(self.projections)

    def wake_all(self) -> bool:
        """Queue one message that catches every projection up; False if one is waiting."""
        return bool(self._send((ALL,)))

    def started(self, target: str) -> None:
        """Called by the actor as it starts: the next wake-up for `target` queues again."""
        self.broker.client.delete(self.mark(target))

    def mark(self, target: str) -> str:
        return f"{self.broker.namespace}:wake:{target}"

    def _send(self, targets: Sequence[str]) -> list[str]:
        if not targets:
            return []
        client = self.broker.client
        pipe = client.pipeline(transaction=False)
        for target in targets:
            pipe.set(self.mark(target), b"1", nx=True, px=MARK_TTL_MS)
        marked = [t for t, ok in zip(targets, pipe.execute(), strict=True) if ok]
        for i, target in enumerate(marked):
            try:
                self.broker.enqueue(
                    message("project_all") if target == ALL else message("project", target)
                )
            except BaseException:
                with contextlib.suppress(*TRANSIENT):  # not queued after all
                    client.delete(*(self.mark(t) for t in marked[i:]))
                raise
        return marked
