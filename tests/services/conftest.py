"""Fixtures for the write side: a store with every event type and personal-data keys."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from events.catalog import registry
from events.personal import LookupHasher, MasterKeys
from events.store import Context, EventStore
from services.commands import CreateCohort, OpenCohort
from services.domain.policy import DEFAULT_POLICY
from services.domain.regions import default_regions
from services.registration import Registrar

TODAY = datetime(2025, 10, 6, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB, early in the programme
MASTER = MasterKeys.generate("t1")
"""One master key for the whole run: every store opened on the shared database (by this conftest
or by a test module that imports `domain_store`) can open every other's sealed events."""
LOOKUP = LookupHasher(base64.b64decode("bG9va3VwLWtleS1mb3ItdGVzdHMtb25seS0zMi1ieXRlcw=="))


@pytest.fixture(scope="session")
async def domain_store(migrated_database_url: str) -> AsyncIterator[EventStore]:
    store = await EventStore.connect(
        migrated_database_url, registry, MasterKeys.parse(MASTER),
        min_size=2, max_size=20,
    )  # fmt: skip
    yield store
    await store.close()


def make_registrar(store: EventStore) -> Registrar:
    return Registrar(store, LOOKUP, default_regions(), DEFAULT_POLICY, clock=lambda: TODAY)


@pytest.fixture
def registrar(domain_store: EventStore) -> Registrar:
    return make_registrar(domain_store)


@pytest.fixture
def admin() -> Context:
    return Context(actor="admin:dinsos")


def cohort_command(quota: int = 1984, cohort_id: str | None = None) -> CreateCohort:
    return CreateCohort(
        cohort_id=cohort_id or f"kph{uuid4().hex[:10]}",
        name="Pekerja rentan Kepahiang 2025",
        sponsor="APBD Kabupaten Kepahiang",
        budget_year=2025,
        quota=quota,
        programmes=["JKK", "JKM"],
        coverage_start=date(2025, 10, 1),
        coverage_end=date(2025, 12, 31),
        budget_allocation=100_000_000,
        legal_basis=["Inpres 2/2021", "Inpres 8/2025"],
    )


async def open_cohort(registrar: Registrar, admin: Context, quota: int = 1984) -> str:
    command = cohort_command(quota)
    await registrar.administer(command, admin)
    await registrar.administer(OpenCohort(command.cohort_id), admin)
    return command.cohort_id
