"""Migrations build the store from an empty database; running them again changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import pytest

from events.migrations import Migration, MigrationChanged, migrate


@pytest.fixture
async def empty_database(migrated_database_url: str) -> AsyncIterator[str]:
    parts = urlsplit(migrated_database_url)
    name = f"jaga_empty_{uuid4().hex[:10]}"
    admin = await asyncpg.connect(migrated_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(parts._replace(path=f"/{name}"))
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_migrate_from_empty_then_again(empty_database: str) -> None:
    first, second = await asyncio.gather(migrate(empty_database), migrate(empty_database))
    applied = first or second

    assert {tuple(first), tuple(second)} == {tuple(applied), ()}
    assert applied[0] == "events/0001_event_log"
    assert await migrate(empty_database) == []
    conn = await asyncpg.connect(empty_database)
    try:
        tables = {
            r[0]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        functions = {r[0] for r in await conn.fetch("SELECT proname FROM pg_proc")}
    finally:
        await conn.close()
    assert {"events", "streams", "idempotency_keys", "schema_migrations"} <= tables
    assert {"jaga_append", "jaga_verify", "jaga_event_hash"} <= functions


async def test_an_edited_migration_is_refused(empty_database: str) -> None:
    extra = Migration("test", "0001_scratch", "CREATE TABLE scratch (x int);")
    await migrate(empty_database, [extra])
    edited = Migration("test", "0001_scratch", "CREATE TABLE scratch (x bigint);")

    with pytest.raises(MigrationChanged, match="test/0001_scratch"):
        await migrate(empty_database, [edited])


async def test_a_failing_migration_leaves_nothing(empty_database: str) -> None:
    broken = Migration("test", "0001_broken", "CREATE TABLE half (x int); SELECT 1/0;")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await migrate(empty_database, [broken])

    conn = await asyncpg.connect(empty_database)
    try:
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert not await conn.fetchval(
            "SELECT count(*) FROM schema_migrations WHERE namespace = 'test'"
        )
    finally:
        await conn.close()
