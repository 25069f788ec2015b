"""Fixtures for the event store tests: a store on the session's migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from events.store import Context, EventStore
from tests.events.model import registry


@pytest.fixture(scope="session")
async def store(migrated_database_url: str) -> AsyncIterator[EventStore]:
    store = await EventStore.connect(migrated_database_url, registry, min_size=2, max_size=30)
    yield store
    await store.close()


@pytest.fixture
def stream() -> str:
    """A stream of its own for each test, so tests never see each other's events."""
    return f"participant-{uuid4()}"


@pytest.fixture
def ctx() -> Context:
    return Context(actor="officer:test")
