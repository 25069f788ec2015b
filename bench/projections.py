"""`jaga bench projections`: read models against the log they are built from, same run.

- `rebuild_participant_status`: `jaga projections rebuild participant_status`, run as a child
  process (the operator's command), over a log of about 1.5 million events (100,000
  participants, a year of contributions: bench/synthetic.py); events of the log per second
  of the rebuild (from the build's start to its take-over, as the database timed them),
  against plain `read_all` paging through the same log, decoded, in this process. Baseline,
  rebuild, rebuild, baseline (ABBA).
- `rebuild_peak_rss_mb`: the peak resident memory of the process doing that rebuild.
- `lag_p99_ms` (and p50, p95): a real `jaga worker` and `jaga scheduler` keep every read
  model up to date while workers' own payments are recorded through `Cashier.pay` at 500
  events/s (a payment is two events) for 60 s ($JAGA_BENCH_SECONDS shortens it); for each
  payment, from the moment its append returned (committed) to the first poll (every 5 ms)
  that finds it in `rm.participants` (see `LagRun`).

The log is generated once into a database of its own, `jaga_bench_log_g<generator version>_
p<participants>_m<months>_s<seed>`, with every read model built, and reused while it exists
(`--fresh` makes it again). Each run works on a copy of it (dropped afterwards), so the lag
phase's payments never grow the cached log. Its personal data is sealed under fixed,
published bench keys (synthetic people only; never use them for real data).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import resource
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import psutil

from bench.common import (
    Figure,
    Tally,
    _maintenance_connection,
    figure_seconds,
    machine_info,
    progress,
    report,
    with_database,
)
from bench.synthetic import GENERATOR_VERSION, generate, plan, summary_lines
from events.catalog import registry
from events.personal import LookupHasher, MasterKeys
from events.store import Context, EventStore
from services.bootstrap import migrate_database, projection_runner
from services.commands import PayContributions
from services.contributions import Cashier
from services.domain.calendar import Month, business_date
from services.domain.policy import DEFAULT_POLICY
from services.domain.rates import contribution_due
from services.domain.regions import default_regions
from services.registration import Registrar
from workers.actors import catch_up_all
from workers.broker import redis_client
from workers.scheduler import SCHEDULE, SLOT_TTL, due_slot
from workers.supervisor import jaga_command

PARTICIPANTS = 100_000
MONTHS = 12
SEED = 1
LAG_SECONDS = 60.0
LAG_EVENTS_PER_SECOND = 500
EVENTS_PER_PAYMENT = 2  # PaymentRecorded in the payment's stream, ContributionPaid in the member's
POLL_SECONDS = 0.005
PAYERS = 5000
"""Members the lag load cycles through (each pays month after month ahead)."""
SETTLE_SECONDS = 10.0
"""How long after the load the bench waits for the last payments to show."""
READY_SECONDS = 300.0
"""How long the workers get to catch every read model up before the load starts."""
PROJECTION = "participant_status"

TARGETS = {"rebuild_ratio": 0.25, "rebuild_floor": 30_000, "lag_p99_ms": 250, "rss_mb": 300}

_BENCH_MASTER = hashlib.sha256(b"jaga bench master key: synthetic data only").digest()
BENCH_MASTER_KEYS = f"bench={base64.b64encode(_BENCH_MASTER).decode()}"
_BENCH_LOOKUP = hashlib.sha256(b"jaga bench lookup key: synthetic data only").digest()
BENCH_LOOKUP_KEY = base64.b64encode(_BENCH_LOOKUP).decode()


@dataclass
class FloorFigure(Figure):
    """A ratio that must also reach an absolute rate."""

    floor: float = 0.0

    @property
    def met(self) -> bool:
        return super().met and self.value >= self.floor

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "floor": self.floor}


def log_database(participants: int, months: int, seed: int) -> str:
    return f"jaga_bench_log_g{GENERATOR_VERSION}_p{participants}_m{months}_s{seed}"


async def open_store(dsn: str, **pool_args: Any) -> EventStore:
    """A store on a bench database that opens personal data with the bench keys."""
    return await EventStore.connect(
        dsn, registry, MasterKeys.parse(BENCH_MASTER_KEYS), command_timeout=600, **pool_args
    )


# -- the cached log ------------------------------------------------------------------------------


async def ensure_log(
    url: str, participants: int, months: int, seed: int, *, fresh: bool
) -> dict[str, Any]:
    """The log database's description; generated (with its read models built) when missing,
    unfinished or `fresh` is asked for. Its COMMENT marks it finished."""
    name = log_database(participants, months, seed)
    conn = await _maintenance_connection(url)
    try:
        comment = await conn.fetchval(
            """SELECT shobj_description(oid, 'pg_database') FROM pg_database
               WHERE datname = $1""",
            name,
        )
        if comment and not fresh:
            progress.print(f"[dim]reusing the log in {name}[/]")
            return json.loads(comment)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    described = await _generate_log(with_database(url, name), participants, months, seed)
    conn = await _maintenance_connection(url)
    try:
        sql = await conn.fetchval("SELECT format('COMMENT ON DATABASE %I IS %L', $1::text, "
                                  "$2::text)", name, json.dumps(described))  # fmt: skip
        await conn.execute(sql)
    finally:
        await conn.close()
    return described


async def _generate_log(dsn: str, participants: int, months: int, seed: int) -> dict[str, Any]:
    progress.print(f"generating {participants:,} participants over {months} months (seed {seed})")
    await migrate_database(dsn)
    store = await open_store(dsn, min_size=2, max_size=16)
    try:
        the_plan = plan(participants, seed=seed, months=months)
        summary = await generate(
            store, LookupHasher(_BENCH_LOOKUP), the_plan,
            progress=lambda text: progress.print(f"[dim]  {text}[/]"),
        )  # fmt: skip
        for line in summary_lines(summary):
            progress.print(f"  {line}")
        progress.print("building every read model")
        started = time.perf_counter()
        runner = projection_runner(store)
        await runner.prepare()
        await catch_up_all(runner)
        built = time.perf_counter() - started
        await store.pool.execute("VACUUM (ANALYZE)")
        events = await store.pool.fetchval("SELECT count(*) FROM events")
    finally:
        await store.close()
    return {
        "generator_version": GENERATOR_VERSION,
        "participants": summary.participants,
        "events": events,
        "generated_seconds": summary.seconds,
        "generated_events_per_second": round(summary.events / max(summary.seconds, 0.001)),
        "read_models_seconds": round(built, 1),
        "now": the_plan.now.isoformat(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@asynccontextmanager
async def copy_of(url: str, template: str) -> AsyncIterator[str]:
    """A copy of the database `template` for one run, dropped afterwards."""
    name = f"jaga_bench_run_{secrets.token_hex(4)}"
    conn = await _maintenance_connection(url)
    try:
        version = int(await conn.fetchval("SHOW server_version_num"))
        strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""  # no WAL for the copy
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
    finally:
        await conn.close()
    try:
        yield with_database(url, name)
    finally:
        conn = await _maintenance_connection(url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# -- rebuild ---------------------------------------------------------------------------------


async def read_pass(store: EventStore, batch_size: int) -> Tally:
    """The whole log through `read_all`, decoded (personal data opened), as a runner pages."""
    started = time.perf_counter()
    after, count = 0, 0
    while True:
        page = await store.read_all(after, batch_size=batch_size)
        if not page.events:
            return Tally(count, time.perf_counter() - started)
        count += len(page.events)
        after = page.checkpoint


class Rebuilt:
    """One rebuild by a child process: the database's timing, the wall clock, memory."""

    def __init__(self, seconds: float, wall: float, applied: int, sampled_rss: int) -> None:
        self.seconds = seconds
        self.wall = wall
        self.applied = applied
        self.sampled_rss = sampled_rss


async def rebuild_pass(dsn: str, env: Mapping[str, str]) -> Rebuilt:
    """`jaga projections rebuild participant_status` in a child; its RSS sampled meanwhile."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = await asyncio.create_subprocess_exec(
            *jaga_command("projections", "rebuild", PROJECTION),
            env={**env, "DATABASE_URL": dsn}, stdout=subprocess.DEVNULL, stderr=errors,
        )  # fmt: skip
        peak = 0
        watched = psutil.Process(child.pid)
        while child.returncode is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, watched.memory_info().rss)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), 0.02)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"the rebuild failed:\n{errors.read().decode(errors='replace')}")
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """SELECT extract(epoch FROM activated_at - started_at) AS seconds, events_applied
               FROM projection_generations WHERE name = $1 AND state = 'active'""",
            PROJECTION,
        )
    finally:
        await conn.close()
    return Rebuilt(float(row["seconds"]), wall, row["events_applied"], peak)


# -- lag -------------------------------------------------------------------------------------


class Payer(msgspec.Struct, frozen=True):
    """A member paying for themself: who, and what one month costs them."""

    participant_id: str
    income: int
    programmes: tuple[str, ...]


async def payers(store: EventStore, limit: int) -> list[Payer]:
    rows = await store.pool.fetch(
        """SELECT participant_id, declared_income, programmes FROM rm.participants
           WHERE status = 'enrolled' AND funder = 'mandiri' ORDER BY participant_id LIMIT $1""",
        limit,
    )
    if not rows:
        raise RuntimeError("the log has no members paying for themselves")
    return [Payer(r[0], r[1], tuple(r[2])) for r in rows]


class LagRun:
    """Payments at a steady rate through the Cashier, and each one's delay until the read
    model shows it.

    A payment is shown once `participant_status`'s serving build has applied its share: the
    runner commits a page's writes and its checkpoint together, so a reader of rm.participants
    sees the share exactly when the checkpoint has passed the payment's position (the share
    follows the payment record in the same append). Polling that checkpoint costs the server
    one row however many payments wait; `verify` then checks the rows themselves.
    """

    def __init__(self, store: EventStore, members: list[Payer], run_id: str) -> None:
        self.store = store
        self.registrar = Registrar(store, LookupHasher(_BENCH_LOOKUP), default_regions(),
                                   DEFAULT_POLICY)  # fmt: skip
        self.cashier = Cashier(store, self.registrar, DEFAULT_POLICY)
        self.members = members
        self.run_id = run_id
        self.pending: dict[int, float] = {}  # position of the payment -> when it committed
        self.shown: dict[str, int] = {}  # participant -> position of their last payment
        self.lags: list[float] = []
        self.paid = 0
        self.first_month = Month.of(business_date(datetime.now(UTC))) + 1
        self._sent = 0

    async def warm(self) -> None:
        """Load the payers' states into the write side's cache, as a running API has them."""
        sem = asyncio.Semaphore(8)

        async def load(member: Payer) -> None:
            async with sem:
                await self.registrar.participant(member.participant_id)

        await asyncio.gather(*(load(m) for m in self.members))

    async def pay(self) -> None:
        n = self._sent
        self._sent += 1
        member = self.members[n % len(self.members)]
        month = self.first_month + n // len(self.members)
        due = contribution_due(member.income, member.programmes, month).total
        receipt = await self.cashier.pay(
            PayContributions(
                reference=f"BENCH-LAG/{self.run_id}/{n}", payer=member.participant_id,
                payer_kind="participant", channel="qris", amount=due,
                paid_at=datetime.now(UTC), months=[str(month)],
                participant_ids=[member.participant_id],
            ),
            Context(actor="bench:lag"),
        )  # fmt: skip
        self.pending[receipt.position] = time.perf_counter()
        self.shown[member.participant_id] = receipt.position
        self.paid += 1

    async def watch(self, conn: asyncpg.Connection, until: asyncio.Event) -> None:
        """Poll the checkpoint until told to stop and no payment waits any more."""
        while self.pending or not until.is_set():
            if self.pending:
                checkpoint = await conn.fetchval(
                    """SELECT position FROM projection_generations
                       WHERE name = $1 AND state = 'active'""",
                    PROJECTION,
                )
                seen = time.perf_counter()
                for position in [p for p in self.pending if p < checkpoint]:
                    self.lags.append(seen - self.pending.pop(position))
            await asyncio.sleep(POLL_SECONDS)

    async def verify(self, conn: asyncpg.Connection) -> int:
        """How many payers' rows in rm.participants do not show their last payment."""
        pids, positions = list(self.shown), list(self.shown.values())
        return await conn.fetchval(
            """SELECT count(*) FROM unnest($1::text[], $2::bigint[]) AS t(pid, position)
               LEFT JOIN rm.participants p ON p.participant_id = t.pid
               WHERE p.last_position IS NULL OR p.last_position <= t.position""",
            pids,
            positions,
        )

    async def load(self, seconds: float, rate: float) -> float:
        """Start a payment every 1/rate seconds (open loop: a slow one does not hold back the
        next); returns the seconds it took to start and finish them all."""
        started = time.perf_counter()
        tasks = []
        total = int(seconds * rate)
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.pay()))
        await asyncio.gather(*tasks)
        return time.perf_counter() - started


class Lag(msgspec.Struct, frozen=True):
    lags: list[float]
    """Seconds from commit to shown, per payment (those never shown: until the bench gave up)."""
    paid: int
    seconds: float
    """How long the load took (started at the rate, and all finished)."""
    unseen: int
    rows_missing: int


@contextlib.contextmanager
def running(
    commands: Mapping[str, list[str]], env: Mapping[str, str]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Child processes for the block (yielded by name), stopped with SIGTERM at its end
    (workers let running actors finish); the output of one that failed is shown."""
    with contextlib.ExitStack() as stack:
        children = {}
        for name, argv in commands.items():
            output = stack.enter_context(tempfile.TemporaryFile())
            child = subprocess.Popen(argv, env=dict(env), stdout=output, stderr=output)
            children[name] = (child, output)
        try:
            yield {name: child for name, (child, _) in children.items()}
        finally:
            for child, _ in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for name, (child, output) in children.items():
                try:
                    child.wait(timeout=45)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                if child.returncode not in (0, -signal.SIGTERM):
                    output.seek(0)
                    tail = output.read()[-3000:].decode(errors="replace")
                    progress.print(f"[yellow]{name} exited with {child.returncode}:[/]\n{tail}")


async def lag_pass(store: EventStore, dsn: str, env: Mapping[str, str], seconds: float) -> Lag:
    """A worker and a scheduler keep the read models up while payments come in."""
    namespace = f"jaga-bench-{secrets.token_hex(4)}"
    child_env = {**env, "DATABASE_URL": dsn, "JAGA_REDIS_NAMESPACE": namespace}
    redis = redis_client(env["REDIS_URL"])
    # Today's reminders and SLA watch count as run (as by the scheduler of a running install):
    # a new scheduler would run them at once, scanning every participant during the load.
    now = datetime.now(UTC)
    for job in SCHEDULE:
        if (slot := due_slot(job, now)) is not None:
            redis.set(f"{namespace}:schedule:{slot}", b"1", ex=SLOT_TTL)
    try:
        return await _lag(store, dsn, child_env, seconds, namespace)
    finally:
        for key in redis.scan_iter(f"{namespace}:*"):
            redis.delete(key)
        redis.close()


async def _lag(
    store: EventStore, dsn: str, child_env: Mapping[str, str], seconds: float, namespace: str
) -> Lag:
    rate = LAG_EVENTS_PER_SECOND / EVENTS_PER_PAYMENT
    run = LagRun(store, await payers(store, min(PAYERS, int(seconds * rate) + 1)), namespace)
    progress.print(f"lag: loading {len(run.members):,} payers into the write side")
    await run.warm()
    conn = await asyncpg.connect(dsn)
    with running({"worker": jaga_command("worker"), "scheduler": jaga_command("scheduler")},
                 child_env):  # fmt: skip
        try:
            progress.print("lag: waiting for the worker and scheduler to show a first payment")
            await run.pay()
            done = asyncio.Event()
            done.set()
            await asyncio.wait_for(run.watch(conn, done), READY_SECONDS)
            run.lags.clear()
            run.paid = 0
            progress.print(f"lag: {rate:.0f} payments/s ({LAG_EVENTS_PER_SECOND} events/s) "
                           f"for {seconds:.0f} s")  # fmt: skip
            stop = asyncio.Event()
            watcher = asyncio.create_task(run.watch(conn, stop))
            took = await run.load(seconds, rate)
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(watcher), SETTLE_SECONDS)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            unseen = len(run.pending)
            now = time.perf_counter()
            lags = run.lags + [now - committed for committed in run.pending.values()]
            missing = await run.verify(conn)
        finally:
            await conn.close()
    return Lag(lags, run.paid, took, unseen, missing)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# -- the benchmark ---------------------------------------------------------------------------


async def _run(
    database_url: str,
    redis_url: str,
    *,
    participants: int,
    months: int,
    seed: int,
    seconds: float,
    fresh: bool,
    keep_log: bool,
) -> None:
    log = await ensure_log(database_url, participants, months, seed, fresh=fresh)
    try:
        figures, machine = await _measure(database_url, redis_url, log, participants, months,
                                          seed, seconds)  # fmt: skip
    finally:
        if not keep_log:
            await drop_log(database_url, participants, months, seed)
    report("projections", figures, machine)


async def drop_log(url: str, participants: int, months: int, seed: int) -> None:
    conn = await _maintenance_connection(url)
    try:
        name = log_database(participants, months, seed)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _measure(
    database_url: str,
    redis_url: str,
    log: dict[str, Any],
    participants: int,
    months: int,
    seed: int,
    seconds: float,
) -> tuple[list[Figure], dict[str, Any]]:
    """Copy the log, then read, rebuild, rebuild, read, and keep the read models up under load."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "JAGA_MASTER_KEYS": BENCH_MASTER_KEYS,
        "JAGA_LOOKUP_KEY": BENCH_LOOKUP_KEY,
        "JAGA_LOG_LEVEL": "WARNING",
    }
    progress.print("copying the log for this run")
    async with copy_of(database_url, log_database(participants, months, seed)) as dsn:
        await migrate_database(dsn)
        store = await open_store(dsn, min_size=2, max_size=8)
        try:
            runner = projection_runner(store)
            await runner.prepare()  # read models whose version changed since the log was made
            await catch_up_all(runner)
            async with store.pool.acquire() as conn:
                machine = await machine_info(conn)
            events = await store.pool.fetchval("SELECT count(*) FROM events")
            progress.print(f"{PROJECTION} over {events:,} events: read, rebuild, rebuild, read")
            reads, rebuilds = Tally(), []
            reads.add(await read_pass(store, runner.batch_size))
            for _ in range(2):
                rebuilds.append(await rebuild_pass(dsn, env))
            reads.add(await read_pass(store, runner.batch_size))
            peak_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
            lag = await lag_pass(store, dsn, env, seconds)
        finally:
            await store.close()
    rebuild_seconds = sum(r.seconds for r in rebuilds)
    rate = len(rebuilds) * events / rebuild_seconds
    walls = ", ".join(f"{r.wall:.1f}" for r in rebuilds)
    sampled = max(r.sampled_rss for r in rebuilds)
    ms = [seconds * 1000 for seconds in lag.lags]
    achieved = lag.paid * EVENTS_PER_PAYMENT / lag.seconds
    lag_note = (
        f"{lag.paid:,} payments ({achieved:,.0f} events/s achieved over {lag.seconds:.0f} s); "
        f"p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} "
        f"ms; {lag.unseen} not shown within {SETTLE_SECONDS:.0f} s after the load; "
        f"{lag.rows_missing} rows of rm.participants not showing their payment at the end"
    )
    figures: list[Figure] = [
        FloorFigure(
            "rebuild_participant_status",
            rate,
            "events/s",
            reads.rate,
            TARGETS["rebuild_ratio"],
            f"{events:,} events in the log ({log['participants']:,} participants, {months} "
            f"months); {rebuilds[-1].applied:,} applied per rebuild; rebuilds took "
            f"{', '.join(f'{r.seconds:.1f}' for r in rebuilds)} s in the database, {walls} s "
            f"with the process start; must also reach {TARGETS['rebuild_floor']:,} events/s",
            floor=TARGETS["rebuild_floor"],
        ),
        Figure("lag_p99_ms", percentile(ms, 99), "ms", None, TARGETS["lag_p99_ms"], lag_note),
        Figure("lag_p95_ms", percentile(ms, 95), "ms", None, TARGETS["lag_p99_ms"]),
        Figure("lag_p50_ms", percentile(ms, 50), "ms", None, TARGETS["lag_p99_ms"]),
        Figure(
            "rebuild_peak_rss_mb",
            peak_rss / 2**20,
            "MB",
            None,
            TARGETS["rss_mb"],
            f"peak resident set of the rebuilding process (getrusage; sampled every 20 ms: "
            f"{sampled / 2**20:.0f} MB)",
        ),
    ]
    return figures, machine


def main(
    database_url: str,
    redis_url: str,
    *,
    participants: int = PARTICIPANTS,
    months: int = MONTHS,
    seed: int = SEED,
    seconds: float | None = None,
    fresh: bool = False,
    keep_log: bool = True,
) -> None:
    """Run the projections benchmark on the servers of `database_url` and `redis_url`;
    `keep_log=False` drops the generated log afterwards instead of keeping it for next time."""
    asyncio.run(
        _run(
            database_url, redis_url, participants=participants, months=months, seed=seed,
            seconds=figure_seconds(seconds, LAG_SECONDS), fresh=fresh, keep_log=keep_log,
        )
    )  # fmt: skip
