"""The Dramatiq broker on Redis, set up for fast wake-ups.

An idle Dramatiq consumer polls Redis with a growing back-off capped at the worker timeout
(`dramatiq.common.compute_backoff`, factor 5 ms); the default cap of 1 s would put up to a
second between a wake-up message and its run. `POLL_MS` caps it at 50 ms: a wake-up is picked
up within ~50 ms, for ~25 cheap fetches a second per idle queue.

Only worker processes declare the actors (workers/actors.py `declare`); the listener, the
scheduler and the CLI enqueue messages by actor name on a broker of their own.
"""

from __future__ import annotations

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Retries, ShutdownNotifications, TimeLimit

PROJECTIONS_QUEUE = "projections"
"""Catching read models up and rebuilding them."""
JOBS_QUEUE = "jobs"
"""Scheduled jobs: premium reminders, the claim SLA watch."""

POLL_MS = 50
"""The worker timeout: longest pause between an idle consumer's polls of Redis."""

TRANSIENT: tuple[type[BaseException], ...] = (OSError, redis.ConnectionError, redis.TimeoutError)
"""Redis errors worth retrying (OSError covers refused and reset connections)."""


def redis_client(redis_url: str) -> redis.Redis:
    """A client that gives up quickly on a Redis that is down, instead of hanging a thread."""
    return redis.Redis.from_url(
        redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )


def create_broker(redis_url: str, namespace: str) -> RedisBroker:
    """A Redis broker whose keys all start with `namespace`, able to run `async def` actors.

    Middleware: time limits, shutdown notifications (a stopping worker interrupts the actors
    that ask for it), retries with back-off (each actor says which errors are transient), and
    AsyncIO (one event loop per worker process, shared by its actors).
    """
    return RedisBroker(
        client=redis_client(redis_url),
        namespace=namespace,
        middleware=[TimeLimit(), ShutdownNotifications(), Retries(), AsyncIO()],
    )
