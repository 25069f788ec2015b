"""Fixtures for the HTTP tests: the event store on the session's migrated database."""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from typing import Any, NamedTuple
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from events.catalog import registry
from events.personal import MasterKeys
from events.store import Context, EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services import bootstrap
from services.access import Principal, Role
from services.app import create_app
from services.config import Settings
from services.domain.regions import default_regions
from services.users import CreateUser
from tests.projections.conftest import catch_up
from tests.services.conftest import MASTER

OFFICER_PASSWORD = "kopi-kepahiang-2025"


@pytest.fixture(scope="session")
async def api_store(migrated_database_url: str) -> AsyncIterator[EventStore]:
    """For what the tests set up and check beside the app (accounts hold no personal data)."""
    store = await EventStore.connect(migrated_database_url, registry, min_size=1, max_size=4)
    yield store
    await store.close()


# -- the app with the write side's keys, staff per role, read models caught up ----------------

API_LOOKUP_KEY = base64.b64encode(b"lookup-key-for-the-api-tests-32b").decode()


@pytest.fixture(scope="session")
def api_settings(redis_namespace: str) -> Settings:
    """The keys every store on the shared database uses (tests/services/conftest.MASTER): an
    app sealing participants' personal data under keys of its own would stop the read models
    of every later test (they could not open it)."""
    return Settings(
        master_keys=MASTER, lookup_key=API_LOOKUP_KEY, redis_namespace=f"{redis_namespace}:api"
    )


@pytest.fixture(scope="module")
async def api_client(
    api_settings: Settings, migrated_database_url: str, redis_url: str
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The whole app on the session's database, opened once per module."""
    app = create_app(api_settings, migrated_database_url, redis_url)
    async with AsyncTestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
async def sealed_store(migrated_database_url: str) -> AsyncIterator[EventStore]:
    """A store that opens personal data: for the projections the API reads."""
    store = await EventStore.connect(
        migrated_database_url, registry, MasterKeys.parse(MASTER), min_size=1, max_size=4
    )
    yield store
    await store.close()


@pytest.fixture
def read_models(sealed_store: EventStore) -> Callable[[], Awaitable[None]]:
    """Catch every read model up with the log, here and now (no workers in these tests)."""
    return lambda: catch_up(ProjectionRunner(sealed_store, all_projections()))


class Officer(NamedTuple):
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
async def officers(api_store: EventStore) -> dict[str, Officer]:
    """One user per role (keyed by role name), and a registrar and an auditor scoped to
    kecamatan 17.08.01 ("registrar@17.08.01", "auditor@17.08.01")."""
    accounts = bootstrap.accounts(Settings(), api_store)
    operator = Principal("operator", frozenset({Role.ADMIN}))
    wanted = [(role.value, [role.value], []) for role in Role] + [
        (f"{role}@17.08.01", [role], ["17.08.01"]) for role in ("registrar", "auditor")
    ]
    found: dict[str, Officer] = {}
    for key, roles, kecamatan in wanted:
        username = f"{key.split('@')[0].replace('_', '')}{uuid4().hex[:8]}"
        command = CreateUser(username=username, display_name=key, roles=roles, kecamatan=kecamatan)
        await accounts.create(command, OFFICER_PASSWORD, operator, Context(actor="admin:operator"))
        found[key] = Officer(username, (await accounts.login(username, OFFICER_PASSWORD)).token)
    return found


_VILLAGES = sorted(default_regions().desa.values(), key=lambda d: d.code)
_WORKERS = itertools.count(random.randrange(1_000_000, 10_000_000))
"""A run of its own: the n-th worker's NIK is unique for n below 1.4e8 (see `worker`)."""


def worker(cohort_id: str, kecamatan: str = "17.08.01", **overrides: object) -> dict[str, Any]:
    """The body of POST /participants for a new worker of `kecamatan`: a valid NIK no other
    test uses, whose birth date and sex agree with the body."""
    n = next(_WORKERS)
    born = date(1960, 1, 1) + timedelta(days=(n * 37) % 14000)
    sex = "P" if n % 2 else "L"
    villages = [v for v in _VILLAGES if v.kecamatan_code == kecamatan]
    day = born.day + (40 if sex == "P" else 0)
    body: dict[str, Any] = {
        "cohort_id": cohort_id,
        "nik": f"1708{kecamatan[-2:]}{day:02d}{born:%m%y}{n % 9999 + 1:04d}",
        "name": f"Pekerja {n}",
        "birth_date": born.isoformat(),
        "sex": sex,
        "phone": f"08{5200000000 + n % 10**9}",
        "kecamatan": kecamatan,
        "desa": villages[n % len(villages)].code,
        "occupation": "ojek",
        "declared_income": 1_000_000,
    }
    return body | overrides
