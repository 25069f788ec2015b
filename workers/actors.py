"""The Dramatiq actors: catch read models up, rebuild them, run the scheduled jobs.

Actors are `async def` and share one pool, event store and projection runner per worker
process (`WorkerContext`, opened when the worker boots, or at the first message if PostgreSQL
was down then). Running an actor twice at once is safe: the runner serialises the steps of
each projection, and the jobs record their effects under idempotency keys. Errors that say
"not now" (PostgreSQL or Redis unreachable, the worker stopping) are retried with back-off;
anything else fails the message and is logged.

Only worker processes declare the actors (`declare`); everyone else enqueues by name
(`message`), so sending never needs the actors' dependencies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import dramatiq
import msgspec
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from dramatiq.threading import Interrupt

from projections.runner import ProjectionRunner
from services.config import Settings
from services.domain.calendar import business_date
from workers.broker import JOBS_QUEUE, PROJECTIONS_QUEUE, TRANSIENT

if TYPE_CHECKING:
    from events.store import EventStore
    from workers.wake import Waker

log = logging.getLogger("jaga.workers")

SERVER_SETTINGS = {"application_name": "jaga-worker"}
"""Named in pg_stat_activity (events/store.create_pool adds the idle-in-transaction limit)."""

HELD_BACK_PATIENCE = 2.0
"""Seconds a catch-up waits for events that are committed but still behind an older open
transaction; past that, the next notification or periodic wake-up fetches them."""

MINUTE = 60_000
HOUR = 60 * MINUTE


def _transient(limit: int) -> Callable[[int, BaseException], bool]:
    """Retry up to `limit` times, and only what a later try can fix: lost connections, and an
    interrupted run (worker stopping, time limit), whose committed steps are kept."""
    kinds = (
        *TRANSIENT,
        Interrupt,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.OperatorInterventionError,
        asyncpg.TooManyConnectionsError,
    )

    def retry_when(retries: int, error: BaseException) -> bool:
        return retries < limit and isinstance(error, kinds)

    return retry_when


# -- the per-process context ---------------------------------------------------------------


class Opened(msgspec.Struct, frozen=True):
    settings: Settings
    store: EventStore
    runner: ProjectionRunner


class WorkerContext(Middleware):
    """One pool, event store and projection runner for the actors of this worker process.

    Opened at boot (which also creates the generations of new projections, `prepare`) so a
    started worker serves at once; if PostgreSQL is down then, the first message opens it.
    Closed after the worker threads have stopped, before the event loop does.
    """

    def __init__(self, settings: Settings, database_url: str, waker: Waker, pool_size: int):
        self.settings = settings
        self.database_url = database_url
        self.waker = waker
        self.pool_size = pool_size
        self._opened: Opened | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> Opened:
        async with self._lock:
            if self._opened is None:
                from services.bootstrap import event_store, projection_runner

                store = await event_store(
                    self.settings, self.database_url, min_size=1, max_size=self.pool_size,
                    server_settings=SERVER_SETTINGS,
                )  # fmt: skip
                try:
                    runner = projection_runner(store)
                    await runner.prepare()
                except BaseException:
                    await store.close()
                    raise
                self._opened = Opened(self.settings, store, runner)
                log.info("worker ready: projections %s", ", ".join(runner.projections) or "none")
            return self._opened

    async def close(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            try:
                await asyncio.wait_for(opened.store.close(), 10)
            except TimeoutError:
                opened.store.pool.terminate()

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        global _context
        _context = self  # before any worker thread takes a message

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        try:
            _loop().run_coroutine(self.open())
        except Exception as exc:
            log.warning("worker could not open the database yet (%s); retrying per message", exc)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        _loop().run_coroutine(self.close())


_context: WorkerContext | None = None


def _loop() -> Any:
    thread = get_event_loop_thread()
    if thread is None:
        raise RuntimeError("no event loop thread: the broker needs the AsyncIO middleware")
    return thread


async def _opened() -> Opened:
    if _context is None:
        raise RuntimeError("the actors run only in a worker process (workers/worker.py)")
    return await _context.open()


async def _started(target: str) -> None:
    """This run covers what the wake-up was for: let the next notification queue another."""
    assert _context is not None
    try:
        await asyncio.to_thread(_context.waker.started, target)
    except TRANSIENT as exc:  # the mark expires by itself
        log.debug("could not clear the wake-up mark of %s: %s", target, exc)


# -- catching up ---------------------------------------------------------------------------

_HELD_BACK = """SELECT EXISTS (
    SELECT 1 FROM projection_generations g,
    LATERAL (SELECT 1 FROM events e
             WHERE e.position > g.position AND e.event_type = ANY($3::text[])
             ORDER BY e.position LIMIT 1) later
    WHERE g.name = $1 AND g.version = $2 AND g.state IN ('active', 'building')
      AND g.error IS NULL)"""
"""Is anything this projection consumes committed past a checkpoint? Walked along the
position index from the checkpoint (a plain join was planned as a scan of the whole log)."""


async def catch_up(runner: ProjectionRunner, name: str) -> int:
    """Run a projection up to the head of the log; returns the events applied.

    The runner reads only below the oldest open transaction (gap-safe), so an event can be
    committed yet not readable while some other transaction is still open; such events get
    no second notification. Wait for them a little (HELD_BACK_PATIENCE) instead of leaving
    them to the periodic wake-up.
    """
    p = runner.projection(name)
    applied = 0
    deadline = time.monotonic() + HELD_BACK_PATIENCE
    while True:
        applied += await runner.run(name)
        held_back = await runner.store.pool.fetchval(_HELD_BACK, name, p.version, p.event_types())
        if not held_back or time.monotonic() >= deadline:
            return applied
        await asyncio.sleep(0.01)


async def catch_up_all(runner: ProjectionRunner) -> dict[str, int]:
    """`catch_up` every projection at once; one that fails does not hold the others back
    (the first error is raised once all are done)."""
    names = list(runner.projections)
    results = await asyncio.gather(*(catch_up(runner, n) for n in names), return_exceptions=True)
    applied: dict[str, int] = {}
    failed: list[BaseException] = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            log.error("projection %s could not catch up: %s", name, result)
            failed.append(result)
        else:
            applied[name] = result
    if failed:
        raise failed[0]
    return applied


async def project(name: str) -> None:
    """Catch one projection up (sent by the listener when events are appended)."""
    opened = await _opened()
    await _started(name)
    applied = await catch_up(opened.runner, name)
    if applied:
        log.debug("projection %s: %d event(s) applied", name, applied)


async def project_all() -> None:
    """Catch every projection up (the periodic wake-up: covers lost notifications)."""
    from workers.wake import ALL

    opened = await _opened()
    await _started(ALL)
    await catch_up_all(opened.runner)


async def rebuild(name: str, requested_at: float) -> None:
    """Rebuild a projection beside the serving one, which it replaces when caught up.

    `requested_at` (Unix time) makes a redelivered message harmless: a build that took over
    after the request already is the rebuild asked for.
    """
    opened = await _opened()
    activated = await opened.store.pool.fetchval(
        """SELECT extract(epoch FROM activated_at) FROM projection_generations
           WHERE name = $1 AND state = 'active'""",
        name,
    )
    if activated is not None and float(activated) > requested_at:
        log.info("projection %s: rebuilt since the request; nothing to do", name)
        return
    total = await opened.runner.events_to_apply(name)
    reported = time.monotonic()

    def progress(applied: int) -> None:
        nonlocal reported
        if time.monotonic() - reported >= 5:
            reported = time.monotonic()
            log.info("projection %s: rebuilt %d of %d event(s)", name, applied, total)

    generation = await opened.runner.rebuild(name, progress=progress)
    log.info("projection %s: generation %d rebuilt and serving", name, generation)


# -- scheduled jobs ------------------------------------------------------------------------


def jakarta_today() -> date:
    """The business date now (Asia/Jakarta)."""
    return business_date(datetime.now(UTC))


async def run_reminders(store: EventStore, settings: Settings, today: date) -> object:
    from services.reminders import send_due_reminders

    return await send_due_reminders(store, settings, today)


async def run_sla_watch(store: EventStore, settings: Settings, today: date) -> object:
    from services.sla_watch import watch_sla as watch

    return await watch(store, today)


JobRun = Callable[["EventStore", Settings, date], Awaitable[object]]

JOBS: dict[str, tuple[str, JobRun]] = {
    "reminders": ("send_reminders", run_reminders),
    "sla-watch": ("watch_sla", run_sla_watch),
}
"""Each scheduled job by its CLI name: its actor and what it runs."""


def summary(result: object) -> str:
    """`field=value …` of a job's result, lists given by their length."""
    fields = msgspec.to_builtins(result)
    if not isinstance(fields, dict):
        return str(fields)
    return " ".join(
        f"{key}={len(value) if isinstance(value, list) else value}" for key, value in fields.items()
    )


async def send_reminders() -> None:
    """Premium reminders due today (scheduled daily)."""
    opened = await _opened()
    result = await run_reminders(opened.store, opened.settings, jakarta_today())
    log.info("premium reminders: %s", summary(result))


async def watch_sla() -> None:
    """Flag claims near or past their payment deadline (scheduled hourly in the day)."""
    opened = await _opened()
    result = await run_sla_watch(opened.store, opened.settings, jakarta_today())
    log.info("claim SLA watch: %s", summary(result))


# -- declaration ---------------------------------------------------------------------------


class ActorSpec(msgspec.Struct, frozen=True, kw_only=True):
    fn: Callable[..., Awaitable[None]]
    queue: str
    retries: int
    min_backoff: int
    max_backoff: int
    time_limit: int
    priority: int = 0


ACTORS: dict[str, ActorSpec] = {
    "project": ActorSpec(
        fn=project, queue=PROJECTIONS_QUEUE, retries=5, min_backoff=200, max_backoff=5_000,
        time_limit=10 * MINUTE,
    ),
    "project_all": ActorSpec(
        fn=project_all, queue=PROJECTIONS_QUEUE, retries=5, min_backoff=200, max_backoff=5_000,
        time_limit=10 * MINUTE,
    ),
    "rebuild": ActorSpec(
        fn=rebuild, queue=PROJECTIONS_QUEUE, retries=20, min_backoff=1_000,
        max_backoff=MINUTE, time_limit=24 * HOUR, priority=10,
    ),
    "send_reminders": ActorSpec(
        fn=send_reminders, queue=JOBS_QUEUE, retries=10, min_backoff=5_000,
        max_backoff=10 * MINUTE, time_limit=HOUR,
    ),
    "watch_sla": ActorSpec(
        fn=watch_sla, queue=JOBS_QUEUE, retries=10, min_backoff=5_000,
        max_backoff=10 * MINUTE, time_limit=HOUR,
    ),
}  # fmt: skip
"""Every actor: its queue, retries of transient errors with exponential back-off (ms), time
limit (ms) and priority (lower first: catch-ups before a long rebuild)."""


def declare(broker: dramatiq.Broker) -> None:
    """Declare every actor on `broker` (worker processes only)."""
    for name, spec in ACTORS.items():
        dramatiq.actor(
            spec.fn, actor_name=name, queue_name=spec.queue, priority=spec.priority,
            broker=broker, retry_when=_transient(spec.retries), min_backoff=spec.min_backoff,
            max_backoff=spec.max_backoff, time_limit=spec.time_limit, notify_shutdown=True,
        )  # fmt: skip


def message(actor_name: str, *args: Any) -> dramatiq.Message[Any]:
    """A message for an actor, by name, on the actor's queue."""
    spec = ACTORS[actor_name]
    return dramatiq.Message(
        queue_name=spec.queue, actor_name=actor_name, args=args, kwargs={}, options={}
    )
