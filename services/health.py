"""Liveness and readiness endpoints for orchestrators and humans.

`/health` answers as long as the process serves HTTP; `/ready` also proves the backing services
answer and that no read model is stopped, so a load balancer only routes to instances that can
do work. A read model that is merely behind keeps the instance ready (reads that must see a
write wait for it, `min_position`); one stopped at an event it cannot apply does not, since its
answers will not move on until someone acts. A failed check is an RFC 9457 problem naming it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.datastructures import State

from services.api import problem
from services.api.problems import problem_response
from services.resources import db_pool, redis_client

CHECK_TIMEOUT = 2.0


class CheckResult(msgspec.Struct, frozen=True, omit_defaults=True):
    """Outcome of one readiness check."""

    status: str
    """Either ok or fail."""
    latency_ms: float
    error: str | None = None


class ProjectionHealth(msgspec.Struct, frozen=True, omit_defaults=True):
    """The serving (active) build of one read model."""

    state: str
    """active, or stopped (at an event it cannot apply)."""
    position: int
    """Checkpoint: every event up to this global position is applied."""
    events_applied: int
    lag_seconds: float
    """Age of the oldest event of the log past the checkpoint (0: caught up)."""
    failed_position: int | None = None
    failed_type: str | None = None
    error: str | None = None


class Readiness(msgspec.Struct, frozen=True):
    """Body of a 200 from /ready: every check passed."""

    status: str
    checks: dict[str, CheckResult]
    projections: dict[str, ProjectionHealth]


class Liveness(msgspec.Struct, frozen=True):
    """Body of /health."""

    status: str


class NotReady(Exception):
    """A check that reached its service and found it unfit to serve."""


_PROJECTIONS = """
    SELECT g.name, g.position, g.events_applied, g.failed_position, g.failed_type, g.error,
           coalesce(extract(epoch FROM now() - (
               SELECT e.recorded_at FROM events e WHERE e.position > g.position
               ORDER BY e.position LIMIT 1)), 0)::float8 AS lag_seconds
    FROM projection_generations g WHERE g.state = 'active' ORDER BY g.name"""


async def projection_health(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, ProjectionHealth]:
    """Each read model's serving build: checkpoint, lag and whether it is stopped. Cheap at any
    size of the log: one row per read model and one index probe past each checkpoint."""
    found: dict[str, ProjectionHealth] = {}
    for row in await conn.fetch(_PROJECTIONS):
        stopped = row["failed_position"] is not None or row["error"] is not None
        found[row["name"]] = ProjectionHealth(
            state="stopped" if stopped else "active",
            position=row["position"],
            events_applied=row["events_applied"],
            lag_seconds=round(row["lag_seconds"], 3),
            failed_position=row["failed_position"],
            failed_type=row["failed_type"],
            error=row["error"],
        )
    return found


async def _check(probe: Callable[[], Awaitable[object]]) -> CheckResult:
    began = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe()
    except NotReady as unfit:
        return CheckResult("fail", _ms_since(began), str(unfit))
    except Exception as exc:  # any failure means "not ready"; report what it was
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return CheckResult("fail", _ms_since(began), error)
    return CheckResult("ok", _ms_since(began))


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)


class HealthController(Controller):
    """Operational endpoints, outside any business area."""

    tags = ["operations"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/health", summary="Liveness: the process serves HTTP",
        description="Answers as long as the process serves HTTP; checks nothing else.",
    )  # fmt: skip
    async def health(self) -> Liveness:
        return Liveness("ok")

    @get(
        "/ready",
        summary="Readiness: PostgreSQL and Redis answer, no read model is stopped",
        description="Checks that PostgreSQL and Redis answer and that every read model's "
        "serving build is running (not stopped at an event it cannot apply), with each one's "
        "checkpoint and lag in seconds. A failed check answers 503 naming it.",
        responses={503: problem_response(
            503, "not-ready", "Service Unavailable",
            "readiness check failed: projections (claim_board stopped at position "
            "6879302384254977, ClaimPaid: KeyError: 'claim-1')",
        )},
    )  # fmt: skip
    async def ready(self, state: State) -> Readiness:
        pool = db_pool(state)
        redis = redis_client(state)
        projections: dict[str, ProjectionHealth] = {}

        async def database() -> object:
            async with pool.acquire(timeout=CHECK_TIMEOUT) as conn:
                return await conn.fetchval("SELECT 1")

        async def cache() -> object:
            return await redis.ping()

        async def read_models() -> None:
            async with pool.acquire(timeout=CHECK_TIMEOUT) as conn:
                projections.update(await projection_health(conn))
            stopped = [
                f"{name} stopped at position {p.failed_position} ({p.failed_type}): {p.error}"
                for name, p in projections.items()
                if p.state == "stopped"
            ]
            if stopped:
                raise NotReady("; ".join(stopped))

        results = await asyncio.gather(_check(database), _check(cache), _check(read_models))
        checks = dict(zip(("database", "redis", "projections"), results, strict=True))
        failed = [name for name, result in checks.items() if result.status != "ok"]
        if failed:
            reasons = ", ".join(
                f"{name} ({checks[name].error})" if name == "projections" else name
                for name in failed
            )
            raise problem(
                503, "not-ready", "Service Unavailable", f"readiness check failed: {reasons}",
                extra={"checks": msgspec.to_builtins(checks),
                       "projections": msgspec.to_builtins(projections)},
            )  # fmt: skip
        return Readiness("ready", checks, projections)
