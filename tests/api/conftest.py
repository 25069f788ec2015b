"""Fixtures for the HTTP tests: the event store on the session's migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from events.catalog import registry
from events.store import EventStore


@pytest.fixture(scope="session")
async def api_store(migrated_database_url: str) -> AsyncIterator[EventStore]:
    """For what the tests set up and check beside the app (accounts hold no personal data)."""
    store = await EventStore.connect(migrated_database_url, registry, min_size=1, max_size=4)
    yield store
    await store.close()
