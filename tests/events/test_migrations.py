"""Migrations build the store from an empty database; running them again changes nothing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from events.migrations import Migration, MigrationChanged, migrate


async def test_migrate_from_empty_then_again(scratch_database_url: str) -> None:
    first, second = await asyncio.gather(
        migrate(scratch_database_url), migrate(scratch_database_url)
    )
    applied = first or second

    assert {tuple(first), tuple(second)} == {tuple(applied), ()}
    assert applied[0] == "events/0001_event_log"
    assert await migrate(scratch_database_url) == []
    conn = await asyncpg.connect(scratch_database_url)
    try:
        tables = {
            r[0]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        functions = {r[0] for r in await conn.fetch("SELECT proname FROM pg_proc")}
    finally:
        await conn.close()
    assert {"events", "idempotency_keys", "subject_keys", "schema_migrations"} <= tables
    assert {"jaga_verify", "jaga_event_bytes", "jaga_event_hash", "jaga_chain"} <= functions


async def test_an_edited_migration_is_refused(scratch_database_url: str) -> None:
    extra = Migration("test", "0001_scratch", "CREATE TABLE scratch (x int);")
    await migrate(scratch_database_url, [extra])
    edited = Migration("test", "0001_scratch", "CREATE TABLE scratch (x bigint);")

    with pytest.raises(MigrationChanged, match="test/0001_scratch"):
        await migrate(scratch_database_url, [edited])


async def test_a_failing_migration_leaves_nothing(scratch_database_url: str) -> None:
    broken = Migration("test", "0001_broken", "CREATE TABLE half (x int); SELECT 1/0;")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await migrate(scratch_database_url, [broken])

    conn = await asyncpg.connect(scratch_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert not await conn.fetchval(
            "SELECT count(*) FROM schema_migrations WHERE namespace = 'test'"
        )
    finally:
        await conn.close()
