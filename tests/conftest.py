"""Session fixtures: real PostgreSQL and Redis, with a database and key space per session.

With DATABASE_URL / REDIS_URL set (CI, a developer's own servers) the tests
use those servers but never touch existing data: they create a uniquely
named database (dropped at the end) and keep their Redis keys under a unique
namespace in DB `JAGA_TEST_REDIS_DB` (default 15), deleting only those keys.
Without them, the embedded servers start in a temp data dir for the session.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import msgspec
import pytest
from redis.asyncio import Redis

from services.config import Settings
from services.embedded import ResolvedServices, embedded_services

TEST_REDIS_DB = int(os.environ.get("JAGA_TEST_REDIS_DB", "15"))


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResolvedServices]:
    """Configured servers, or embedded ones in a temp data dir (stopped at the end)."""
    settings = msgspec.structs.replace(
        Settings.from_env(), data_dir=tmp_path_factory.mktemp("jaga-data")
    )
    with embedded_services(settings) as resolved:
        yield resolved


@pytest.fixture(scope="session")
async def database_url(services: ResolvedServices) -> AsyncIterator[str]:
    """DSN of a fresh, empty database of this session's own (dropped at the end)."""
    name = f"jaga_test_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(services.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield with_path(services.database_url, f"/{name}")
    admin = await asyncpg.connect(services.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def migrated_database_url(database_url: str) -> str:
    """`database_url` with all migrations applied (event store and projections)."""
    from services.bootstrap import migrate_database

    await migrate_database(database_url)
    return database_url


@pytest.fixture
async def scratch_database_url(database_url: str) -> AsyncIterator[str]:
    """An empty database of the test's own, for tests that change the whole database."""
    name = f"jaga_scratch_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_path(database_url, f"/{name}")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def redis_url(services: ResolvedServices) -> str:
    """Redis URL pointing at the test DB number; keep keys under `redis_namespace`."""
    return with_path(services.redis_url, f"/{TEST_REDIS_DB}")


@pytest.fixture(scope="session")
async def redis_namespace(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this session's own; its keys are deleted at the end (nothing else)."""
    namespace = f"jaga-test-{uuid4().hex[:12]}"
    yield namespace
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
    finally:
        await client.aclose()


def with_path(url: str, path: str) -> str:
    """`url` with its path (database name, Redis DB number) replaced."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))
