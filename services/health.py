"""Liveness and readiness endpoints for orchestrators and humans.

`/health` answers as long as the process serves HTTP; `/ready` also proves
the backing services answer, so a load balancer only routes to instances
that can do work. A failed check is an RFC 9457 problem naming the check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.plugins.problem_details import ProblemDetailsException

from services.resources import db_pool, redis_client

CHECK_TIMEOUT = 2.0


class CheckResult(msgspec.Struct, frozen=True, omit_defaults=True):
    """Outcome of one readiness check."""

    status: str
    """Either ok or fail."""
    latency_ms: float
    error: str | None = None


class Readiness(msgspec.Struct, frozen=True):
    """Body of a 200 from /ready: every check passed."""

    status: str
    checks: dict[str, CheckResult]


class Liveness(msgspec.Struct, frozen=True):
    """Body of /health."""

    status: str


async def _check(probe: Callable[[], Awaitable[object]]) -> CheckResult:
    began = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe()
    except Exception as exc:  # any failure means "not ready"; report what it was
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return CheckResult("fail", _ms_since(began), error)
    return CheckResult("ok", _ms_since(began))


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)


class HealthController(Controller):
    """Operational endpoints, outside any business area."""

    tags = ["operations"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/health", summary="Liveness: the process serves HTTP")
    async def health(self) -> Liveness:
        return Liveness("ok")

    @get("/ready", summary="Readiness: PostgreSQL and Redis answer")
    async def ready(self, state: State) -> Readiness:
        pool = db_pool(state)
        redis = redis_client(state)

        async def database() -> object:
            async with pool.acquire(timeout=CHECK_TIMEOUT) as conn:
                return await conn.fetchval("SELECT 1")

        async def cache() -> object:
            return await redis.ping()

        database_result, redis_result = await asyncio.gather(_check(database), _check(cache))
        checks = {"database": database_result, "redis": redis_result}
        failed = [name for name, result in checks.items() if result.status != "ok"]
        if failed:
            raise ProblemDetailsException(
                status_code=503,
                title="Service Unavailable",
                detail=f"readiness check failed: {', '.join(failed)}",
                extra={"checks": msgspec.to_builtins(checks)},
            )
        return Readiness("ready", checks)
