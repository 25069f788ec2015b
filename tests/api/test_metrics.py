"""/metrics and /ready against real PostgreSQL and Redis: request rates and latencies by route,
events appended, read-model checkpoints, lag and failures, queue depth, reminders."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import asyncpg
import dramatiq
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from events.catalog import PersonalDataErased, registry
from events.store import NO_STREAM, Context, EventStore
from services import bootstrap
from services.access import Principal, Role
from services.app import create_app
from services.bootstrap import migrate_database
from services.config import Settings
from services.users import CreateUser
from tests.api.conftest import OFFICER_PASSWORD, Officer
from tests.api.test_auth_api import assert_problem
from workers.broker import JOBS_QUEUE, PROJECTIONS_QUEUE, create_broker

Client = AsyncTestClient[Litestar]
TYPES = ("UserCreated", "UserPasswordSet")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_and_timed_by_route_template_and_status(
    api_client: Client, officers: dict[str, Officer]
) -> None:
    route = "/audit/streams/{stream_id}/events"
    name = "jaga_http_request_duration_seconds_count"
    before = await scrape(api_client)
    auditor = officers["auditor"].headers
    for _ in range(3):
        response = await api_client.get(f"/audit/streams/user-{uuid4()}/events", headers=auditor)
        assert response.status_code == 404
    unauthenticated = await api_client.get(f"/audit/streams/user-{uuid4()}/events")
    assert unauthenticated.status_code == 401
    after = await scrape(api_client)

    assert value(after, name, method="GET", route=route, status="404") - value(
        before, name, method="GET", route=route, status="404"
    ) == 3  # fmt: skip
    assert value(after, name, method="GET", route=route, status="401") - value(
        before, name, method="GET", route=route, status="401"
    ) == 1  # fmt: skip
    slow = "jaga_http_request_duration_seconds_bucket"
    assert value(after, slow, method="GET", route=route, status="404", le="+Inf") >= 3
    assert not [key for key in after if key[0] == name and ("route", "") in key[1]]


async def test_appends_of_any_process_are_counted_from_the_log(
    api_client: Client, api_store: EventStore
) -> None:
    await scrape(api_client)  # the first scrape sets where counting starts
    before = await scrape(api_client)
    accounts = bootstrap.accounts(Settings(), api_store)
    operator = Principal("operator", frozenset({Role.ADMIN}))
    for _ in range(2):
        command = CreateUser(username=f"m{uuid4().hex[:8]}", display_name="M", roles=["finance"])
        await accounts.create(command, OFFICER_PASSWORD, operator, Context(actor="admin:op"))
    name = "jaga_events_appended_total"
    for _ in range(200):  # counted once below the log's gap-safe head: an open transaction
        after = await scrape(api_client)  # anywhere on the server holds it back a moment
        grown = [value(after, name, type=t) - value(before, name, type=t) for t in TYPES]
        if grown == [2, 2]:
            break
        await asyncio.sleep(0.05)
    assert grown == [2, 2]


async def test_read_models_reminders_and_queues_as_the_database_and_redis_have_them(
    api_client: Client,
    api_settings: Settings,
    redis_url: str,
    read_models: Callable[[], Awaitable[None]],
    api_store: EventStore,
) -> None:
    await read_models()
    broker = create_broker(redis_url, api_settings.redis_namespace)
    try:
        for queue, delay in ((PROJECTIONS_QUEUE, None), (JOBS_QUEUE, None), (JOBS_QUEUE, 60_000)):
            message = dramatiq.Message(
                queue_name=queue, actor_name="project", args=(), kwargs={}, options={}
            )
            broker.enqueue(message, delay=delay)
        samples = await scrape(api_client)
    finally:
        for queue in (PROJECTIONS_QUEUE, JOBS_QUEUE):
            broker.flush(queue)
        broker.close()

    assert value(samples, "jaga_queue_messages", queue="projections", state="ready") == 1
    assert value(samples, "jaga_queue_messages", queue="jobs", state="ready") == 1
    assert value(samples, "jaga_queue_messages", queue="jobs", state="delayed") == 1
    assert value(samples, "jaga_queue_messages", queue="jobs", state="dead") == 0

    generations = await api_store.pool.fetch(
        "SELECT name, position, events_applied FROM projection_generations WHERE state = 'active'"
    )
    assert generations
    for g in generations:
        projection = g["name"]
        checkpoint = value(samples, "jaga_read_model_checkpoint", projection=projection)
        assert checkpoint >= g["position"]
        assert value(samples, "jaga_read_model_stopped", projection=projection) == 0
        assert value(samples, "jaga_read_model_lag_seconds", projection=projection) >= 0
    reminders = await api_store.pool.fetch(
        "SELECT state, channel, count(*) FROM rm.reminders GROUP BY state, channel"
    )
    for row in reminders:
        shown = value(samples, "jaga_reminders", state=row["state"], channel=row["channel"])
        assert shown == row["count"]
    assert value(samples, "jaga_metrics_source_up", source="database") == 1
    assert value(samples, "jaga_metrics_source_up", source="redis") == 1


# -- a stopped read model ---------------------------------------------------------------------


@pytest.fixture
async def stopped_install(
    scratch_database_url: str, redis_url: str, redis_namespace: str
) -> AsyncIterator[Client]:
    """An installation of its own whose claim board stopped at an event it could not apply,
    and whose audit timeline is behind by an event recorded a moment ago."""
    await migrate_database(scratch_database_url)
    conn = await asyncpg.connect(scratch_database_url)
    try:
        # the migration gave every read model its first generation, at position 0
        await conn.execute(
            """UPDATE projection_generations
               SET failed_position = 42, failed_type = 'ClaimPaid',
                   error = 'KeyError: claim-1', failed_at = now()
               WHERE name = 'claim_board' AND state = 'active'"""
        )
    finally:
        await conn.close()
    settings = Settings(redis_namespace=f"{redis_namespace}:{uuid4().hex[:8]}")
    app = create_app(settings, scratch_database_url, redis_url)
    store = await EventStore.connect(scratch_database_url, registry, min_size=1, max_size=1)
    try:
        erased = PersonalDataErased(subject_id="p-1", reason="masa retensi habis")
        await store.append("personal_data-p-1", [erased], NO_STREAM, context=Context(actor="a:x"))
    finally:
        await store.close()
    await asyncio.sleep(0.05)
    async with AsyncTestClient(app) as client:
        yield client


async def test_a_stopped_read_model_makes_the_instance_unready_and_is_named(
    stopped_install: Client,
) -> None:
    ready = await stopped_install.get("/ready")
    problem = assert_problem(ready, 503, "not-ready")
    assert "claim_board stopped at position 42 (ClaimPaid): KeyError: claim-1" in problem["detail"]
    assert problem["checks"]["projections"]["status"] == "fail"
    assert problem["checks"]["database"]["status"] == problem["checks"]["redis"]["status"] == "ok"
    assert problem["projections"]["claim_board"]["state"] == "stopped"
    behind = problem["projections"]["audit_timeline"]
    assert (behind["state"], behind["position"]) == ("active", 0)
    assert 0.05 <= behind["lag_seconds"] < 60

    samples = await scrape(stopped_install)
    assert value(samples, "jaga_read_model_stopped", projection="claim_board") == 1
    assert value(samples, "jaga_read_model_stopped", projection="audit_timeline") == 0


async def test_a_caught_up_installation_is_ready_with_its_lag(
    api_client: Client, read_models: Callable[[], Awaitable[None]]
) -> None:
    await read_models()
    ready = await api_client.get("/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "ok", "redis": "ok", "projections": "ok",
    }  # fmt: skip
    assert {"participant_status", "audit_timeline", "claim_board"} <= set(body["projections"])
    assert all(p["state"] == "active" and p["lag_seconds"] >= 0
               for p in body["projections"].values())  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_metrics_answer_without_redis(
    api_settings: Settings, migrated_database_url: str
) -> None:
    app = create_app(api_settings, migrated_database_url, f"redis://127.0.0.1:{_closed_port()}/0")
    async with AsyncTestClient(app) as client:
        samples = await scrape(client)
        ready = await client.get("/ready")
    assert value(samples, "jaga_metrics_source_up", source="redis") == 0
    assert value(samples, "jaga_metrics_source_up", source="database") == 1
    assert_problem(ready, 503, "not-ready")
