"""Wiring in one place: the event store, keys, reference data and policy that handlers get.

Handlers take their dependencies as arguments; only this module (used by the CLI, the API and
the workers) decides which concrete ones a process uses.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import projections
from events.catalog import registry
from events.migrations import migrate
from events.store import EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services import auth
from services.claims import ClaimsDesk
from services.config import Settings
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.domain.regions import default_regions
from services.registration import Registrar
from services.secrets import resolve_secrets


async def migrate_database(database_url: str) -> list[str]:
    """Apply every migration (the event store's, the projection runner's, then the tables
    kept outside the log: credentials and API tokens), and give every read model a generation,
    so that the API reads (empty) read models even before a worker first runs."""
    applied = await migrate(database_url, extra=projections.migrations() + auth.migrations())
    store = await EventStore.connect(database_url, registry, min_size=1, max_size=1)
    try:
        await projection_runner(store).prepare()
    finally:
        await store.close()
    return applied


def projection_runner(store: EventStore) -> ProjectionRunner:
    """Every read model Jaga keeps, run against `store`."""
    return ProjectionRunner(store, all_projections())


async def event_store(settings: Settings, database_url: str, **pool_args: Any) -> EventStore:
    """The store with every event type and the keyring for personal data."""
    master = resolve_secrets(settings).master()
    return await EventStore.connect(database_url, registry, master, **pool_args)


def accounts(settings: Settings, store: EventStore) -> auth.Accounts:
    """Officers' accounts, passwords and API tokens."""
    lifetime = timedelta(hours=settings.token_lifetime_hours)
    return auth.Accounts(store, default_regions(), token_lifetime=lifetime)


def registrar(settings: Settings, store: EventStore) -> Registrar:
    return Registrar(store, resolve_secrets(settings).lookup(), default_regions(), DEFAULT_POLICY)


def cashier(store: EventStore, registrar: Registrar) -> Cashier:
    """Contribution payments and reversals, shared out over the registrar's participants."""
    return Cashier(store, registrar, DEFAULT_POLICY)


def claims_desk(store: EventStore, registrar: Registrar) -> ClaimsDesk:
    """Accident reports and claims, decided under the default policy and benefit rules."""
    return ClaimsDesk(store, registrar, DEFAULT_POLICY)
