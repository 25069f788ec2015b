"""Schemathesis over the whole OpenAPI document against the real app (ASGI, real PostgreSQL and
Redis): no request a client can send produces a 500, and every answer is one the document
declares (status, content type, body schema).

The run has an installation of its own (a scratch database, so its made-up cohorts, workers and
payments stay there) holding a cohort, its members, a payment and a claim, read models caught
up, and a user holding every role. Each operation gets generated requests valid by the
document, then invalid ones, then valid ones aimed at the seeded records (so answers other than
404 are checked too). Bounded so the run stays well under two minutes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any, NamedTuple
from uuid import uuid4

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from events.catalog import registry
from events.personal import MasterKeys
from events.store import Context, EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services import bootstrap
from services.access import Principal, Role
from services.app import create_app
from services.bootstrap import migrate_database
from services.claims import ClaimsDesk
from services.commands import RecordKpj
from services.config import Settings
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.streams import participant_stream
from services.users import CreateUser
from tests.api.test_audit_api import at, dated_claim
from tests.conftest import with_path
from tests.projections.conftest import catch_up
from tests.services.conftest import MASTER, make_registrar, open_cohort
from tests.services.test_contributions import block
from tests.services.workers import worker

PASSWORD = "kopi-kepahiang-2025"
LOOKUP_KEY = "bG9va3VwLWtleS1mb3ItdGVzdHMtb25seS0zMi1ieXRlcw=="
"""The NIK lookup key of tests/services/conftest.LOOKUP, which seeds the records."""
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 5}
"""Generated requests per operation and mode; plus `AIMED` valid ones at the seeded records."""
AIMED = 4
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance,
]  # fmt: skip
SPARED = {"POST /auth/logout"}
"""Would revoke the run's own token (tests/api/test_auth_api.py covers it)."""
QUERY = {"min_position": 0}
"""Reads never wait for the read models here (caught up before the run; a far position would
only make each read wait 5 s for its 503, a path tests/api/test_common.py covers)."""


class Installation(NamedTuple):
    database_url: str
    token: str
    records: dict[str, str]
    """Path parameter -> the id of a seeded record."""


@pytest.fixture(scope="module")
async def installation(database_url: str) -> AsyncIterator[Installation]:
    """A database of its own, seeded through the write side, read models caught up."""
    name = f"jaga_fuzz_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_path(database_url, f"/{name}")
    try:
        await migrate_database(url)
        store = await EventStore.connect(
            url, registry, MasterKeys.parse(MASTER), min_size=1, max_size=4
        )
        try:
            records = await seed(store)
            accounts = bootstrap.accounts(Settings(), store)
            username = f"semua{uuid4().hex[:6]}"
            everything = CreateUser(
                username=username, display_name="Semua peran", roles=[r.value for r in Role]
            )
            operator = Principal("operator", frozenset({Role.ADMIN}))
            await accounts.create(everything, PASSWORD, operator, Context(actor="admin:operator"))
            records["username"] = username
            token = (await accounts.login(username, PASSWORD)).token
            await catch_up(ProjectionRunner(store, all_projections()))
        finally:
            await store.close()
        yield Installation(url, token, records)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed(store: EventStore) -> dict[str, str]:
    registrar = make_registrar(store)
    cohort_id = await open_cohort(registrar, at(date(2025, 10, 1)), quota=3)
    first = 7_000_000 + int(time.time()) % 1_000_000
    members = [
        (await registrar.register(worker(cohort_id, first + n), at(date(2025, 10, 6))))
        for n in range(4)  # the fourth waits on the list
    ]
    cashier = Cashier(store, registrar, DEFAULT_POLICY)
    reference = f"BPD-FUZZ-{uuid4().hex[:8]}"
    await cashier.pay(block(cohort_id, 3 * 3 * 16_800, reference), at(date(2025, 10, 10)))
    payment = await store.pool.fetchval(
        "SELECT payload->>'payment_id' FROM events WHERE event_type = 'PaymentRecorded' LIMIT 1"
    )
    desk = ClaimsDesk(store, registrar, DEFAULT_POLICY)
    participant_id = members[0].participant_id
    claim_id = await dated_claim(desk, participant_id)
    accident_id = await store.pool.fetchval(
        "SELECT payload->>'accident_id' FROM events WHERE event_type = 'AccidentReported'"
    )
    kpj = f"{first:011d}"
    await registrar.record_kpj(RecordKpj(participant_id, kpj), at(date(2025, 10, 20)))
    return {
        "cohort_id": cohort_id, "participant_id": participant_id, "claim_id": claim_id,
        "payment_id": payment, "accident_id": accident_id, "subject_id": participant_id,
        "subject_kind": "participant", "stream_id": participant_stream(participant_id),
        "nik": worker(cohort_id, first).nik, "kpj": kpj,
    }  # fmt: skip


@pytest.fixture(scope="module")
def app(installation: Installation, redis_url: str, redis_namespace: str) -> Iterator[Litestar]:
    config = Settings(
        master_keys=MASTER, lookup_key=LOOKUP_KEY, redis_namespace=f"{redis_namespace}:fuzz"
    )
    yield create_app(config, installation.database_url, redis_url)
    asgi.shutdown_lifespans()  # schemathesis runs the app's lifespan in a thread of its own


def test_no_request_makes_a_500_and_every_answer_is_documented(
    app: Litestar, installation: Installation
) -> None:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    headers = {"Authorization": f"Bearer {installation.token}"}
    failures: dict[str, str] = {}
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.label not in SPARED
    ]
    assert len(operations) > 50
    statuses: Counter[int] = Counter()
    began = time.monotonic()
    for operation in operations:
        label = operation.label
        names = {p.name for p in operation.path_parameters}
        aimed = {n: installation.records[n] for n in names if n in installation.records}
        runs: list[tuple[GenerationMode, dict[str, Any] | None, int]] = [
            (mode, None, count) for mode, count in EXAMPLES.items()
        ]
        if aimed:
            runs.append((GenerationMode.POSITIVE, aimed, AIMED))
        for mode, path_parameters, count in runs:
            strategy = operation.as_strategy(
                generation_mode=mode, path_parameters=path_parameters,
                query=QUERY if _takes(operation, "min_position") else None,
            )  # fmt: skip
            exercise(strategy, count, headers, label, failures, statuses)
    took = time.monotonic() - began
    assert sum(n for status, n in statuses.items() if status < 300) > 100, statuses
    report = "\n\n".join(f"{label}\n{message}" for label, message in failures.items())
    assert not failures, f"{len(failures)} operations failed ({took:.0f} s):\n\n{report}"
    assert took < 150


def _takes(operation: Any, name: str) -> bool:
    return any(p.name == name for p in operation.query)


def exercise(
    strategy: Any,
    count: int,
    headers: dict[str, str],
    label: str,
    failures: dict[str, str],
    statuses: Counter[int],
) -> None:
    """`count` requests drawn from `strategy`; the first failure of the operation is kept."""

    @settings(
        max_examples=count, deadline=None, database=None, derandomize=True,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(case=strategy)
    def run(case: Any) -> None:
        if label in failures:
            return
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as failed:
            failures[label] = str(failed)[:3000]

    try:
        run()
    except Unsatisfiable:  # nothing invalid to send (an operation that takes no input)
        return


def test_the_seeded_installation_answers(app: Litestar, installation: Installation) -> None:
    """The aimed requests reach real records: the seeded participant reads back."""
    with asgi.get_client(app) as client:
        headers = {"Authorization": f"Bearer {installation.token}"}
        response = client.get(
            f"/participants/{installation.records['participant_id']}", headers=headers
        )
        assert response.status_code == 200, response.text
        audit = client.get(f"/audit/streams/{installation.records['stream_id']}/events",
                           headers=headers)  # fmt: skip
        assert audit.status_code == 200
