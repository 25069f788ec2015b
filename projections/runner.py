"""The projection runner: checkpoints, batching, failures, rebuilds without downtime.

Each build of a projection is a *generation* with its own schema (`proj_<name>_g<n>`) and its
own checkpoint in `projection_generations`. One step of a generation is one REPEATABLE READ
transaction that locks the generation's row, reads the log after its checkpoint (gap-safe,
events/store.py), applies the page and moves the checkpoint: the read model's writes and the
checkpoint commit together or not at all (invariant 5). A session advisory lock per generation
makes runners queue instead of racing, and the row lock makes a second runner that slipped
through fail with a serialization error instead of applying a page twice.

A new version (or `rebuild`) builds a generation beside the active one, from position 0,
while the active one serves. When a step finds it caught up, the same transaction retires the
old generation and points the `rm.<table>` views at the new one (invariant 6).

An event a projection cannot apply stops that generation just before it: the failure (the
event's position and type, the error) is recorded, logged and counted, and every later step
retries it; other projections go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg
import msgspec
from prometheus_client import Counter, Gauge

from events.errors import EventStoreError
from events.personal import PersonalDataError
from events.store import EventStore
from events.types import RecordedEvent
from projections.projection import Projection

log = logging.getLogger("jaga.projections")

APPLIED = Counter("jaga_projection_events_applied", "Events applied to read models", ["projection"])
CHECKPOINT = Gauge("jaga_projection_checkpoint", "Position of the active build", ["projection"])
FAILED = Gauge(
    "jaga_projection_failed", "1 while a projection is stopped at an event", ["projection"]
)

Progress = Callable[[int], None]
"""Called after each step of a rebuild with the number of events applied so far."""


class ProjectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: int
    generation: int
    state: str  # active, building, or stopped (at an event it cannot apply)
    position: int
    events_applied: int
    lag_events: int
    lag_seconds: float
    updated_at: datetime
    failed_position: int | None = None
    failed_type: str | None = None
    error: str | None = None


class _Generation(msgspec.Struct, frozen=True):
    name: str
    generation: int
    version: int
    schema_name: str
    state: str
    position: int


class StepResult(msgspec.Struct, frozen=True):
    applied: int
    caught_up: bool
    failed: bool = False
    took_over: bool = False


class _Refused(Exception):
    """The projection raised on an event; carries how many events before it applied."""

    def __init__(self, applied: int, event: RecordedEvent | None, error: BaseException) -> None:
        self.applied = applied
        self.event = event
        self.error = error


class ProjectionRunner:
    """Runs a set of projections against one event store."""

    def __init__(
        self, store: EventStore, projections: Sequence[Projection], *, batch_size: int = 2000
    ) -> None:
        names: set[str] = set()
        tables: set[str] = set()
        for p in projections:
            p.check()
            if p.name in names:
                raise ValueError(f"two projections are named {p.name}")
            if tables & set(p.tables):
                raise ValueError(f"projection {p.name} reuses a table name: {p.tables}")
            names.add(p.name)
            tables.update(p.tables)
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size

    def projection(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            known = ", ".join(sorted(self.projections))
            raise KeyError(f"no projection named {name!r} (known: {known})") from None

    # -- generations -------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Give each projection a generation of its current version: the first build of a new
        projection serves at once; a new version of an existing one builds beside it."""
        for p in self.projections.values():
            async with self.store.pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "prj:" + p.name)
                rows = await conn.fetch(
                    """SELECT state, version FROM projection_generations
                       WHERE name = $1 AND state IN ('active', 'building')""",
                    p.name,
                )
                if any(r["version"] == p.version for r in rows):
                    continue
                active = any(r["state"] == "active" for r in rows)
                await self._new_generation(conn, p, "building" if active else "active")

    async def rebuild(self, name: str, progress: Progress | None = None) -> int:
        """Build the projection again from position 0 beside the active build, then take over;
        resumes a rebuild already under way. Returns the generation that took over."""
        p = self.projection(name)
        async with self.store.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "prj:" + p.name)
            building = await conn.fetchval(
                """SELECT generation FROM projection_generations
                   WHERE name = $1 AND state = 'building' AND version = $2""",
                p.name,
                p.version,
            )
            if building is None:
                active = await conn.fetchval(
                    "SELECT 1 FROM projection_generations WHERE name = $1 AND state = 'active'",
                    p.name,
                )
                state = "building" if active else "active"
                building = await self._new_generation(conn, p, state)
        while True:
            result = await self.step(name, building)
            if progress is not None:
                progress(await self._applied(name, building))
            if result.failed:
                raise ProjectionStopped(await self._status_of(name, building))
            if result.took_over or (result.caught_up and await self._is_active(name, building)):
                return building

    async def _new_generation(self, conn: asyncpg.Connection, p: Projection, state: str) -> int:
        generation = await conn.fetchval(
            """SELECT coalesce(max(generation), 0) + 1 FROM projection_generations
               WHERE name = $1""",
            p.name,
        )
        schema = f"proj_{p.name}_g{generation}"
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(p.schema_sql(schema))
        await conn.execute(
            """INSERT INTO projection_generations
               (name, generation, version, schema_name, state, activated_at)
               VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 = 'active' THEN now() END)""",
            p.name,
            generation,
            p.version,
            schema,
            state,
        )
        if state == "active":
            await _serve(conn, p, schema)
        log.info("projection %s: generation %s (v%s) %s", p.name, generation, p.version, state)
        return generation

    # -- running -----------------------------------------------------------------------------

    async def run(self, name: str) -> int:
        """Bring every generation of this projection's current version up to the head of the
        log (the active one, and a build under way); returns the events applied."""
        p = self.projection(name)
        applied = 0
        for generation in await self._generations(p):
            while True:
                result = await self.step(name, generation)
                applied += result.applied
                if result.failed or result.caught_up:
                    break
        return applied

    async def run_all(self) -> dict[str, int]:
        """`run` each projection; one that fails does not hold the others back."""
        done: dict[str, int] = {}
        for name in self.projections:
            try:
                done[name] = await self.run(name)
            except (asyncpg.PostgresError, EventStoreError, OSError):
                log.exception("projection %s could not run", name)
        return done

    async def step(self, name: str, generation: int) -> StepResult:
        """Apply one page to one generation, with its checkpoint, in one transaction."""
        p = self.projection(name)
        async with self.store.pool.acquire() as conn:
            schema = f"proj_{name}_g{generation}"
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", schema)
            try:
                for _ in range(5):
                    try:
                        async with conn.transaction(isolation="repeatable_read"):
                            return await self._step(conn, p, generation)
                    except asyncpg.SerializationError:
                        continue  # another runner moved the row since our snapshot: read again
                raise RuntimeError(f"projection {name}: generation {generation} kept conflicting")
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", schema)

    async def _step(self, conn: asyncpg.Connection, p: Projection, generation: int) -> StepResult:
        row = await conn.fetchrow(
            """SELECT name, generation, version, schema_name, state, position
               FROM projection_generations WHERE name = $1 AND generation = $2 FOR UPDATE""",
            p.name,
            generation,
        )
        if row is None or row["state"] == "retired" or row["version"] != p.version:
            return StepResult(0, caught_up=True)
        gen = _Generation(*row.values())
        try:
            page = await self.store.read_page(
                conn, gen.position, batch_size=self.batch_size, types=p.event_types()
            )
        except (EventStoreError, PersonalDataError) as exc:  # does not decode: stop before it
            await self._record_failure(conn, gen, getattr(exc, "position", None), exc)
            return StepResult(0, caught_up=True, failed=True)
        try:
            await _apply(conn, p, gen.schema_name, page.events)
        except _Refused as refused:
            if refused.applied:
                last = page.events[refused.applied - 1].position
                await self._advance(conn, gen, last, refused.applied)
            event = refused.event
            await self._record_failure(
                conn,
                gen,
                event.position if event else None,
                refused.error,
                event.type if event else None,
            )
            return StepResult(refused.applied, caught_up=True, failed=True)
        caught_up = len(page.events) < self.batch_size
        await self._advance(conn, gen, page.checkpoint, len(page.events), clear=True)
        if caught_up and gen.state == "building":
            await self._take_over(conn, p, gen)
            return StepResult(len(page.events), caught_up=True, took_over=True)
        return StepResult(len(page.events), caught_up=caught_up)

    async def _advance(
        self,
        conn: asyncpg.Connection,
        gen: _Generation,
        position: int,
        applied: int,
        *,
        clear: bool = False,
    ) -> None:
        if position == gen.position and not clear:
            return
        await conn.execute(
            """UPDATE projection_generations
               SET position = $3, events_applied = events_applied + $4, updated_at = now(),
                   failed_position = CASE WHEN $5 THEN NULL ELSE failed_position END,
                   failed_type = CASE WHEN $5 THEN NULL ELSE failed_type END,
                   error = CASE WHEN $5 THEN NULL ELSE error END,
                   failed_at = CASE WHEN $5 THEN NULL ELSE failed_at END
               WHERE name = $1 AND generation = $2""",
            gen.name,
            gen.generation,
            position,
            applied,
            clear,
        )
        if applied:
            APPLIED.labels(gen.name).inc(applied)
        if gen.state == "active":
            CHECKPOINT.labels(gen.name).set(position)
        if clear:
            FAILED.labels(gen.name).set(0)

    async def _record_failure(
        self,
        conn: asyncpg.Connection,
        gen: _Generation,
        position: int | None,
        error: BaseException,
        event_type: str | None = None,
    ) -> None:
        event_type = event_type or getattr(error, "event_type", None)
        text = f"{type(error).__name__}: {error}"
        previous = await conn.fetchval(
            "SELECT error FROM projection_generations WHERE name = $1 AND generation = $2",
            gen.name,
            gen.generation,
        )
        await conn.execute(
            """UPDATE projection_generations
               SET failed_position = $3, failed_type = $4, error = $5, failed_at = now()
               WHERE name = $1 AND generation = $2""",
            gen.name,
            gen.generation,
            position,
            event_type,
            text,
        )
        FAILED.labels(gen.name).set(1)
        if previous != text:  # say it once, not on every retry
            log.error(
                "projection %s (generation %s) stopped at position %s (%s): %s",
                gen.name,
                gen.generation,
                position,
                event_type,
                text,
                exc_info=error,
            )

    async def _take_over(self, conn: asyncpg.Connection, p: Projection, gen: _Generation) -> None:
        """Retire the active generation and serve this one, atomically."""
        old = await conn.fetchrow(
            """SELECT generation, schema_name FROM projection_generations
               WHERE name = $1 AND state = 'active' FOR UPDATE""",
            p.name,
        )
        await conn.execute(
            """UPDATE projection_generations SET state = 'retired', updated_at = now()
               WHERE name = $1 AND state = 'active'""",
            p.name,
        )
        await conn.execute(
            """UPDATE projection_generations
               SET state = 'active', activated_at = now(), updated_at = now()
               WHERE name = $1 AND generation = $2""",
            p.name,
            gen.generation,
        )
        await _serve(conn, p, gen.schema_name)
        await _analyze(conn, gen.schema_name)
        if old is not None:
            await conn.execute(f"DROP SCHEMA IF EXISTS {old['schema_name']} CASCADE")
        log.info("projection %s: generation %s took over", p.name, gen.generation)

    # -- status ------------------------------------------------------------------------------

    async def status(self) -> list[ProjectionStatus]:
        """Each projection's active build, and any build under way."""
        found: list[ProjectionStatus] = []
        for name in self.projections:
            async with self.store.pool.acquire() as conn:
                generations = await conn.fetch(
                    """SELECT generation FROM projection_generations
                       WHERE name = $1 AND state IN ('active', 'building')
                       ORDER BY generation""",
                    name,
                )
            for g in generations:
                found.append(await self._status_of(name, g["generation"]))
        return found

    async def _status_of(self, name: str, generation: int) -> ProjectionStatus:
        p = self.projection(name)
        async with self.store.pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT g.*, lag.events AS lag_events,
                          coalesce(extract(epoch FROM now() - lag.oldest), 0) AS lag_seconds
                   FROM projection_generations g,
                   LATERAL (SELECT count(*) AS events, min(e.recorded_at) AS oldest
                            FROM events e
                            WHERE e.position > g.position AND e.event_type = ANY($3::text[])
                           ) lag
                   WHERE g.name = $1 AND g.generation = $2""",
                name,
                generation,
                p.event_types(),
            )
        stopped = row["failed_position"] is not None or row["error"] is not None
        state = "stopped" if stopped else row["state"]
        return ProjectionStatus(
            name=name,
            version=row["version"],
            generation=generation,
            state=state,
            position=row["position"],
            events_applied=row["events_applied"],
            lag_events=row["lag_events"],
            lag_seconds=float(row["lag_seconds"]),
            updated_at=row["updated_at"],
            failed_position=row["failed_position"],
            failed_type=row["failed_type"],
            error=row["error"],
        )

    async def events_to_apply(self, name: str) -> int:
        """How many events of the log this projection consumes (a rebuild's total)."""
        return await self.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = ANY($1::text[])",
            self.projection(name).event_types(),
        )

    async def _generations(self, p: Projection) -> list[int]:
        rows = await self.store.pool.fetch(
            """SELECT generation FROM projection_generations
               WHERE name = $1 AND version = $2 AND state IN ('active', 'building')
               ORDER BY generation""",
            p.name,
            p.version,
        )
        return [r["generation"] for r in rows]

    async def _applied(self, name: str, generation: int) -> int:
        return await self.store.pool.fetchval(
            "SELECT events_applied FROM projection_generations WHERE name=$1 AND generation=$2",
            name,
            generation,
        )

    async def _is_active(self, name: str, generation: int) -> bool:
        state = await self.store.pool.fetchval(
            "SELECT state FROM projection_generations WHERE name = $1 AND generation = $2",
            name,
            generation,
        )
        return state == "active"


class ProjectionStopped(RuntimeError):
    """A rebuild met an event the projection cannot apply."""

    def __init__(self, status: ProjectionStatus) -> None:
        self.status = status
        super().__init__(
            f"projection {status.name} stopped at position {status.failed_position} "
            f"({status.failed_type}): {status.error}"
        )


async def _apply(
    conn: asyncpg.Connection, p: Projection, schema: str, events: list[RecordedEvent]
) -> None:
    """Apply the page; if the projection refuses it, find the first event it refuses and keep
    the ones before it applied (each try in a savepoint, so nothing half-done remains)."""
    if not events:
        return
    try:
        async with conn.transaction():
            await p.apply(conn, schema, events)
        return
    except asyncpg.PostgresConnectionError:
        raise
    except Exception as first:
        if len(events) == 1:
            raise _Refused(0, events[0], first) from first
    for i, event in enumerate(events):
        try:
            async with conn.transaction():
                await p.apply(conn, schema, [event])
        except asyncpg.PostgresConnectionError:
            raise
        except Exception as error:
            raise _Refused(i, event, error) from error


async def _analyze(conn: asyncpg.Connection, schema: str) -> None:
    """Statistics for a build's tables as it starts serving: a table filled in one go has none
    until autovacuum comes by (if it is on), and without them the planner guesses badly."""
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", schema
    )
    for row in tables:
        await conn.execute(f'ANALYZE {schema}."{row[0]}"')


async def _serve(conn: asyncpg.Connection, p: Projection, schema: str) -> None:
    for table in p.tables:
        await conn.execute(f"DROP VIEW IF EXISTS rm.{table}")
        await conn.execute(f"CREATE VIEW rm.{table} AS SELECT * FROM {schema}.{table}")
