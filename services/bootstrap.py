"""Wiring in one place: the event store, keys, reference data and policy that handlers get.

Handlers take their dependencies as arguments; only this module (used by the CLI, the API and
the workers) decides which concrete ones a process uses.
"""

from __future__ import annotations

from typing import Any

from events.catalog import registry
from events.store import EventStore
from services.config import Settings
from services.domain.policy import DEFAULT_POLICY
from services.domain.regions import default_regions
from services.registration import Registrar
from services.secrets import resolve_secrets


async def event_store(settings: Settings, database_url: str, **pool_args: Any) -> EventStore:
    """The store with every event type and the keyring for personal data."""
    master = resolve_secrets(settings).master()
    return await EventStore.connect(database_url, registry, master, **pool_args)


def registrar(settings: Settings, store: EventStore) -> Registrar:
    return Registrar(store, resolve_secrets(settings).lookup(), default_regions(), DEFAULT_POLICY)
