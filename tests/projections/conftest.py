"""Fixtures for read-model tests: the write side and the projections on one database of this
directory's own, sharing one keyring (a store with other master keys could not open the
personal data the write side sealed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from events.catalog import registry
from events.personal import MasterKeys
from events.store import Context, EventStore
from projections.runner import ProjectionRunner
from services.bootstrap import migrate_database
from services.registration import Registrar
from tests.conftest import with_path
from tests.services.conftest import make_registrar


async def new_store(database_url: str, name: str) -> EventStore:
    """A store on a new, migrated database `name` of the test server."""
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_path(database_url, f"/{name}")
    await migrate_database(url)
    return await EventStore.connect(url, registry, MasterKeys.parse(MasterKeys.generate("t1")))


async def drop_store(store: EventStore, database_url: str, name: str) -> None:
    await store.close()
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def domain_store(database_url: str) -> AsyncIterator[EventStore]:
    name = "jaga_rm_" + database_url.rsplit("_", 1)[-1]
    store = await new_store(database_url, name)
    yield store
    await drop_store(store, database_url, name)


@pytest.fixture
def registrar(domain_store: EventStore) -> Registrar:
    return make_registrar(domain_store)


@pytest.fixture
def admin() -> Context:
    return Context(actor="admin:dinsos")


async def catch_up(runner: ProjectionRunner) -> None:
    """Run every projection of `runner` until it has applied each event appended so far.
    Readers stay below the oldest transaction open on the whole server (gap safety), so
    while another session's transaction is open this waits for it."""
    await runner.prepare()
    written = await runner.store.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    for _ in range(600):
        await runner.run_all()
        status = await runner.status()
        assert not [s for s in status if s.state == "stopped"], status
        if all(s.position >= written for s in status):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"projections did not reach position {written}: {status}")
