"""Prometheus metrics at /metrics (open, like /health).

Measured in the process, per app:
- `jaga_http_request_duration_seconds{method, route, status}`: a histogram of every request by
  route template (its `_count` is the request rate), taken by `request_metrics`, an ASGI
  middleware as thin as it can be (one clock read each side and a cached label lookup).

Read when scraped, so they hold for the whole installation whichever process did the work:
- `jaga_events_appended_total{type}`: events appended to the log by any process since this
  app's first scrape, counted from the log itself below its gap-safe horizon, so each event is
  counted once.
- `jaga_read_model_checkpoint`, `jaga_read_model_lag_seconds`, `jaga_read_model_stopped`,
  `jaga_read_model_events_applied` per read model (its serving build; services/health.py).
- `jaga_queue_messages{queue, state}`: the workers' Dramatiq queues in Redis (ready, delayed,
  dead-lettered).
- `jaga_reminders{state, channel}`: reminders scheduled, sent and failed (rm.reminders).
- `jaga_metrics_source_up{source}`: 0 when the database or Redis could not be read.

Each scrape costs a handful of indexed queries and one Redis round trip.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from events.store import EventStore
from services.api import api_services
from services.health import CHECK_TIMEOUT, projection_health
from services.resources import redis_client
from workers.broker import JOBS_QUEUE, PROJECTIONS_QUEUE

REQUEST_SECONDS = Histogram(
    "jaga_http_request_duration_seconds",
    "HTTP requests by route template and status, and how long they took",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
QUEUES = (PROJECTIONS_QUEUE, JOBS_QUEUE)


def request_metrics(app: ASGIApp) -> ASGIApp:
    """Middleware (outermost, so refusals count too) timing each HTTP request until its
    response is sent, labelled by the route's template rather than its path."""
    observers: dict[tuple[str, str, int], Any] = {}

    async def timed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the server answers when the app fails before responding

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        except HTTPException as refused:  # raised by a middleware, answered further out
            status = refused.status_code
            raise
        finally:
            key = (scope["method"], scope.get("path_template", ""), status)
            observer = observers.get(key)
            if observer is None:
                observer = observers[key] = REQUEST_SECONDS.labels(key[0], key[1], str(status))
            observer.observe(time.perf_counter() - began)

    return timed


class LogAppends:
    """Events appended to the log since the first scrape, by type; each scrape counts the
    events between its checkpoint and the log's current gap-safe head."""

    def __init__(self) -> None:
        self.checkpoint: int | None = None
        self.counts: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def update(self, store: EventStore, conn: asyncpg.Connection) -> None:
        async with self._lock:
            head = await store.head()
            if self.checkpoint is not None and head > self.checkpoint:
                rows = await conn.fetch(
                    """SELECT event_type, count(*) FROM events
                       WHERE position > $1 AND position <= $2 GROUP BY event_type""",
                    self.checkpoint,
                    head,
                )
                for event_type, count in rows:
                    self.counts[event_type] = self.counts.get(event_type, 0) + count
            self.checkpoint = max(head, self.checkpoint or 0)


class Scrape(Collector):
    """The figures read at one scrape, as metric families."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


async def scrape(state: State) -> bytes:
    """The process's metrics and the installation's, in Prometheus text format."""
    metrics: LogAppends = state.log_appends
    found = Scrape()
    database_up, redis_up = await asyncio.gather(
        _database(state, metrics, found), _queues(state, found)
    )
    up = GaugeMetricFamily(
        "jaga_metrics_source_up",
        "Whether the source could be read at this scrape",
        labels=["source"],
    )
    up.add_metric(["database"], database_up)
    up.add_metric(["redis"], redis_up)
    found.families.append(up)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(found)
    return generate_latest(REGISTRY) + generate_latest(registry)


async def _database(state: State, appends: LogAppends, found: Scrape) -> int:
    store = api_services(state).store
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), store.pool.acquire() as conn:
            await appends.update(store, conn)
            projections = await projection_health(conn)
            try:
                reminders = await conn.fetch(
                    "SELECT state, channel, count(*) FROM rm.reminders GROUP BY state, channel"
                )
            except asyncpg.UndefinedTableError:  # the read model has not been built yet
                reminders = []
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return 0
    appended = CounterMetricFamily(
        "jaga_events_appended", "Events appended to the log (any process) since the first scrape",
        labels=["type"],
    )  # fmt: skip
    for event_type, count in sorted(appends.counts.items()):
        appended.add_metric([event_type], count)
    read_models = {
        "checkpoint": ("Global position every event up to which the read model applied", []),
        "lag_seconds": ("Age of the oldest event past the read model's checkpoint", []),
        "stopped": ("1 while the read model is stopped at an event it cannot apply", []),
        "events_applied": ("Events the serving build of the read model applied", []),
    }
    for name, p in projections.items():
        for figure, value in (
            ("checkpoint", p.position), ("lag_seconds", p.lag_seconds),
            ("stopped", int(p.state == "stopped")), ("events_applied", p.events_applied),
        ):  # fmt: skip
            read_models[figure][1].append(([name], value))
    sent = GaugeMetricFamily(
        "jaga_reminders", "Premium reminders by state (scheduled, sent, failed) and channel",
        labels=["state", "channel"],
    )  # fmt: skip
    for row in reminders:
        sent.add_metric([row["state"], row["channel"]], row["count"])
    found.families += [appended, sent]
    for figure, (help_text, samples) in read_models.items():
        family = GaugeMetricFamily(f"jaga_read_model_{figure}", help_text, labels=["projection"])
        for labels, value in samples:
            family.add_metric(labels, value)
        found.families.append(family)
    return 1


async def _queues(state: State, found: Scrape) -> int:
    redis: Redis = redis_client(state)
    namespace = state.settings.redis_namespace
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), redis.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                pipe.llen(f"{namespace}:{queue}")
                pipe.llen(f"{namespace}:{queue}.DQ")
                pipe.zcard(f"{namespace}:{queue}.XQ")
            counts = await pipe.execute()
    except (OSError, TimeoutError, RedisError):
        return 0
    family = GaugeMetricFamily(
        "jaga_queue_messages", "Messages in the workers' queues (Redis) by state",
        labels=["queue", "state"],
    )  # fmt: skip
    for i, queue in enumerate(QUEUES):
        for j, queue_state in enumerate(("ready", "delayed", "dead")):
            family.add_metric([queue, queue_state], counts[3 * i + j])
    found.families.append(family)
    return 1


class MetricsController(Controller):
    """Prometheus scrape endpoint."""

    tags = ["operations"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/metrics",
        summary="Prometheus metrics",
        description="Request rates and latencies by route, events appended, read model "
        "checkpoints and lag, queue depth and reminders sent or failed, in Prometheus text "
        "format. Open like /health.",
        media_type=CONTENT_TYPE_LATEST,
    )  # fmt: skip
    async def metrics(self, state: State) -> Response[bytes]:
        return Response(await scrape(state), media_type=CONTENT_TYPE_LATEST)
