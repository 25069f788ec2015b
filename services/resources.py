"""Process-wide clients (database pool, Redis) and typed access to them.

Opened once per app on startup and closed on shutdown, so handlers borrow
connections instead of opening their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import asyncpg
from litestar import Litestar
from litestar.datastructures import State
from redis.asyncio import Redis

log = logging.getLogger("jaga.app")

POOL_CLOSE_TIMEOUT = 10.0


def clients_lifespan(
    database_url: str, redis_url: str
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """A Litestar lifespan hook that keeps the pool and Redis client in `app.state`."""

    @contextlib.asynccontextmanager
    async def clients(app: Litestar) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=10)
        redis = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        app.state.db_pool = pool
        app.state.redis = redis
        try:
            yield
        finally:
            await redis.aclose()
            try:
                await asyncio.wait_for(pool.close(), POOL_CLOSE_TIMEOUT)
            except TimeoutError:
                log.warning("database pool did not close in %.0fs; terminating", POOL_CLOSE_TIMEOUT)
                pool.terminate()

    return clients


def db_pool(state: State) -> asyncpg.Pool:
    """The app's asyncpg pool."""
    pool: asyncpg.Pool = state.db_pool
    return pool


def redis_client(state: State) -> Redis:
    """The app's Redis client."""
    client: Redis = state.redis
    return client
