"""`jaga bench api`: the HTTP API under load from another process, on loopback.

`jaga serve` runs as a child process on a copy of the log bench/projections.py generates and
caches (100,000 participants by default, every read model built; its personal data sealed
under the bench keys, which the server is given), and a finance officer's token is made for
it. The load comes from a second child process, this module run as `python -m bench.api` (a
`LoadPlan` as JSON on stdin, the `Outcomes` as JSON on stdout): asyncio tasks each holding one
keep-alive HTTP/1.1 connection, each sending its next request as soon as the last one is
answered (closed loop).

- `get_participant_rps`, `get_participant_p99_ms`: GET /participants/by-nik/{nik} over 32
  connections, the NIKs of every participant of the log in a shuffled order (a finance
  officer: NIK and phone come back masked), against GET /health of the same app (a constant
  `{"status":"ok"}`; no token, no database), baseline, ours, ours, baseline
  (`bench.common.interleaved`).
- `post_payment_rps`, `post_payment_p99_ms`: POST /payments over 16 connections, each a
  self-paying participant paying for one month they owe (arrears still payable first, then
  the months falling due from the next due date, skipping any paid ahead), under a reference
  of its own; the participants are taken in turn, so no two requests in flight are for the
  same person. Measured once each of them has paid one month unmeasured, as in an API that
  has been running: the first command for a participant since the process started reads
  their whole stream and opens their personal data (that round is shown in the note).
- `mixed_rps`, `mixed_p50_ms`, `mixed_p95_ms`, `mixed_p99_ms`: 24 readers (by NIK) and 4
  writers (payments) at once, held at 85% reads (`Mix`).
- `errors`: answers other than 2xx over all of it (must be none).

A latency runs from writing the request to reading the whole answer, for the successful ones.
The CPU that the client, the API process and the database's backends spent per request is
measured for each figure and shown in the notes: a client that is the bottleneck shows there.

No worker runs beside the server: the read models are not kept up during the load (a read by
NIK does not need to see the payments of the same run), and its CPU is not taken from the two
processes measured.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec
import psutil

from bench.common import (
    Figure,
    Tally,
    figure_seconds,
    interleaved,
    machine_info,
    progress,
    report,
    run_workers,
)
from bench.projections import (
    BENCH_LOOKUP_KEY,
    BENCH_MASTER_KEYS,
    MONTHS,
    PARTICIPANTS,
    SEED,
    copy_of,
    drop_log,
    ensure_log,
    log_database,
    open_store,
    percentile,
    running,
)
from events.store import Context, EventStore
from projections.contributions import next_due_month, payer_of
from projections.participants import standing
from services import bootstrap
from services.access import Principal, Role
from services.bootstrap import migrate_database, projection_runner
from services.config import Settings
from services.domain.calendar import Month, business_date
from services.domain.coverage import MonthStatus
from services.domain.rates import contribution_due
from services.processes import choose_port
from services.users import CreateUser
from workers.actors import catch_up_all
from workers.supervisor import jaga_command

DEFAULT_SECONDS = 8.0
"""Measured seconds per figure (the GET figure's split over four interleaved phases)."""
READERS = 32
WRITERS = 16
MIXED_READERS = 24
MIXED_WRITERS = 4
READ_SHARE = 0.85
PAYERS = 2_000
"""Self-paying members the payments go round (fewer when the log has fewer)."""
MONTHS_AHEAD = 12
"""How far past the next due month the plan looks for months paid ahead; later ones are
taken as unpaid."""
BASELINE_PATH = "/health"
SERVER_START_SECONDS = 180.0
FIRST_ROUND_SECONDS = 300.0
"""The most the unmeasured first payment of every payer may take."""
TARGETS = {"get_ratio": 0.50, "get_p99_ms": 20, "post_rps": 1000, "post_p99_ms": 50}


# -- the client ----------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection, opened on first use.

    Lean on purpose, so that the client is not what is measured: on this kind of machine
    httpx spent 2 to 5 ms of CPU per request at 32 connections, aiohttp about 0.4 ms, this
    about 0.15 ms (the API about 0.4 ms for /health). Enough for this API, whose answers all
    carry a Content-Length.
    """

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, message: bytes) -> tuple[int, bytes]:
        """Send a whole request (`http_request`); the answer's status and body. A connection
        the server has closed meanwhile (uvicorn ends idle ones after 5 s) is opened again."""
        if self._stream is None or self._stream[0].at_eof():
            self.close()
            self._stream = await asyncio.open_connection(*self._address)
        reader, writer = self._stream
        writer.write(message)
        head = await reader.readuntil(b"\r\n\r\n")
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ValueError("a chunked answer: this client reads Content-Length only")
        body = await reader.readexactly(length)
        if close:
            self.close()
        return int(head[9:12]), body

    def close(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None


def http_request(method: str, path: str, headers: str, body: bytes = b"") -> bytes:
    """The bytes of a request; `headers` are whole lines (each ending in CRLF)."""
    if body:
        headers += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return f"{method} {path} HTTP/1.1\r\n{headers}\r\n".encode() + body


# -- what the load child is told, and what it answers ------------------------------------------


class PayerPlan(msgspec.Struct, frozen=True, array_like=True):
    """A self-paying member and the months they owe, in the order they are paid."""

    participant_id: str
    income: int
    programmes: tuple[str, ...]
    months: list[str]
    """Arrears still payable, then the months falling due that are not paid ahead; the
    payments go on with the months after the last."""


class LoadPlan(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    token: str
    niks: list[str]
    payers: list[PayerPlan]
    run_id: str
    seconds: float
    warmup: float
    server_pid: int
    database: str
    """The database whose backends' CPU is counted (when the server is on this machine)."""


class Cpu(msgspec.Struct, frozen=True):
    """Seconds of CPU spent by the load client, the API process and the database backends."""

    client: float = 0.0
    server: float = 0.0
    database: float = 0.0

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.client + other.client, self.server + other.server, self.database + other.database
        )


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """One side of one figure: successes, latency percentiles, errors and CPU."""

    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error: str
    """The first error's status and body ("" when none)."""
    cpu: Cpu

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """Latencies, CPU per request and errors, for a figure's note."""
        per = 1e6 / max(1, self.requests + self.errors)
        text = (
            f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f}, p99 {self.p99_ms:.1f}, max "
            f"{self.max_ms:.0f}; CPU per request: client {self.cpu.client * per:.0f} µs, API "
            f"{self.cpu.server * per:.0f} µs, PostgreSQL {self.cpu.database * per:.0f} µs "
            f"({self.requests:,} requests in {self.seconds:.1f} s)"
        )
        if self.errors:
            text += f"; {self.errors:,} errors, the first: {self.error}"
        return text


class Outcomes(msgspec.Struct, frozen=True, kw_only=True):
    health: Outcome
    by_nik: Outcome
    payments: Outcome
    first_payments: Outcome
    """Each payer's first payment since the server started (the unmeasured warm-up)."""
    mixed: Outcome
    mixed_reads: Outcome
    mixed_writes: Outcome


# -- the load ------------------------------------------------------------------------------------


class Run:
    """What one phase of closed-loop requests recorded."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.error = ""
        self.seconds = 0.0
        self.cpu = Cpu()

    def failed(self, status: int, body: bytes) -> None:
        self.errors += 1
        if not self.error:
            self.error = f"{status} {body[:300].decode(errors='replace')}"


def outcome(runs: Sequence[Run]) -> Outcome:
    """The runs of one side, taken together."""
    latencies = [seconds * 1000 for run in runs for seconds in run.latencies] or [0.0]
    errors = [run.error for run in runs if run.error]
    return Outcome(
        requests=sum(len(run.latencies) for run in runs),
        seconds=sum(run.seconds for run in runs),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies),
        errors=sum(run.errors for run in runs),
        error=errors[0] if errors else "",
        cpu=sum((run.cpu for run in runs), Cpu()),
    )


class CpuProbe:
    """CPU times of this process, the API process and the database's backends for one
    database (found by their process titles; none when the server is on another machine)."""

    def __init__(self, server_pid: int, database: str) -> None:
        self._server = psutil.Process(server_pid)
        self._title = f" {database} "

    def _backends(self) -> dict[int, float]:
        found = {}
        for proc in psutil.process_iter(["cmdline"]):
            title = " ".join(proc.info["cmdline"] or ())
            if title.startswith("postgres:") and self._title in title:
                try:
                    found[proc.pid] = _cpu_seconds(proc)
                except psutil.Error:
                    continue
        return found

    def sample(self) -> tuple[float, float, dict[int, float]]:
        return time.process_time(), _cpu_seconds(self._server), self._backends()

    def since(self, before: tuple[float, float, dict[int, float]]) -> Cpu:
        client, server, backends = self.sample()
        database = sum(cpu - before[2].get(pid, 0.0) for pid, cpu in backends.items())
        return Cpu(client - before[0], server - before[1], database)


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


class Mix:
    """Holds the reads at `share` of the requests done: a side ahead of its share by more than
    `slack` requests waits until the other catches up (both sides can never wait at once)."""

    def __init__(self, share: float, slack: int) -> None:
        self.share = share
        self.slack = slack
        self.reads = 0
        self.writes = 0
        self._changed = asyncio.Condition()

    def may(self, read: bool) -> bool:
        if read:
            return self.reads * (1 - self.share) <= (self.writes + self.slack) * self.share
        return self.writes * self.share <= (self.reads + self.slack) * (1 - self.share)

    async def turn(self, read: bool, deadline: float) -> bool:
        """Wait until this side may send another request; False if the deadline came first."""
        if self.may(read):
            return True
        try:
            async with asyncio.timeout(max(0.0, deadline - time.perf_counter())):
                async with self._changed:
                    await self._changed.wait_for(lambda: self.may(read))
        except TimeoutError:
            return False
        return True

    async def done(self, read: bool) -> None:
        if read:
            self.reads += 1
        else:
            self.writes += 1
        async with self._changed:
            self._changed.notify_all()


class Load:
    """The load child's requests and phases against one server."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        count = max(READERS, WRITERS, MIXED_READERS + MIXED_WRITERS)
        self.connections = [Connection(plan.host, plan.port) for _ in range(count)]
        self.probe = CpuProbe(plan.server_pid, plan.database)
        self._headers = f"Host: {plan.host}:{plan.port}\r\nAuthorization: Bearer {plan.token}\r\n"
        niks = list(plan.niks)
        random.Random(0).shuffle(niks)
        self._niks = itertools.cycle(niks)
        self._payments = self._payment_bodies()

    def health(self) -> bytes:
        """The baseline: the same headers as the others (its route ignores the token)."""
        return http_request("GET", BASELINE_PATH, self._headers)

    def by_nik(self) -> bytes:
        return http_request("GET", f"/participants/by-nik/{next(self._niks)}", self._headers)

    def payment(self) -> bytes:
        return http_request("POST", "/payments", self._headers, next(self._payments))

    def first_payments(self) -> Callable[[], bytes | None]:
        """Requests for each payer's first month owed, then None."""
        bodies = iter([next(self._payments) for _ in self.plan.payers])

        def request() -> bytes | None:
            body = next(bodies, None)
            return None if body is None else http_request("POST", "/payments", self._headers, body)

        return request

    def _payment_bodies(self) -> Iterator[bytes]:
        """Round after round over the payers, each paying their next month owed."""
        dues: dict[tuple[int, tuple[str, ...], Month], int] = {}
        n = 0
        for round_ in itertools.count():
            for payer in self.plan.payers:
                if round_ < len(payer.months):
                    month = Month.parse(payer.months[round_])
                else:
                    month = Month.parse(payer.months[-1]) + (round_ - len(payer.months) + 1)
                key = (payer.income, payer.programmes, month)
                if key not in dues:
                    dues[key] = contribution_due(payer.income, payer.programmes, month).total
                n += 1
                yield msgspec.json.encode(
                    {
                        "reference": f"BENCH-API/{self.plan.run_id}/{n}",
                        "payer": payer.participant_id,
                        "payer_kind": "participant",
                        "channel": "qris",
                        "amount": dues[key],
                        "paid_at": datetime.now(UTC),
                        "months": [str(month)],
                        "participant_ids": [payer.participant_id],
                    }
                )

    async def _loop(
        self,
        connection: Connection,
        request: Callable[[], bytes | None],
        run: Run,
        deadline: float,
        mix: Mix | None = None,
        read: bool = True,
    ) -> int:
        """Requests one after the other until the deadline, or until `request()` has none."""
        done = 0
        while time.perf_counter() < deadline:
            if mix is not None and not await mix.turn(read, deadline):
                break
            message = request()
            if message is None:
                break
            started = time.perf_counter()
            status, body = await connection.request(message)
            elapsed = time.perf_counter() - started
            if 200 <= status < 300:
                run.latencies.append(elapsed)
                done += 1
                if mix is not None:
                    await mix.done(read)
            else:
                run.failed(status, body)
        return done

    async def phase(
        self, runs: list[Run], workers: int, seconds: float, request: Callable[[], bytes | None]
    ) -> Tally:
        """`workers` connections sending `request()`s for `seconds`, recorded as a new run."""
        run = Run()
        runs.append(run)
        before = self.probe.sample()
        tally = await run_workers(
            workers, seconds, lambda i, deadline: self._loop(self.connections[i], request, run,
                                                             deadline)
        )  # fmt: skip
        run.seconds, run.cpu = tally.seconds, self.probe.since(before)
        return tally

    async def mixed(self, seconds: float) -> tuple[Run, Run]:
        """Readers and writers at once, held at READ_SHARE reads; (reads, writes)."""
        reads, writes = Run(), Run()
        mix = Mix(READ_SHARE, slack=MIXED_WRITERS)

        async def work(i: int, deadline: float) -> int:
            read = i < MIXED_READERS
            request, run = (self.by_nik, reads) if read else (self.payment, writes)
            return await self._loop(self.connections[i], request, run, deadline, mix, read)

        before = self.probe.sample()
        tally = await run_workers(MIXED_READERS + MIXED_WRITERS, seconds, work)
        cpu = self.probe.since(before)
        reads.seconds = writes.seconds = tally.seconds
        reads.cpu = cpu  # the mix's CPU, counted once (with the reads)
        return reads, writes


async def generate_load(plan: LoadPlan) -> Outcomes:
    """Every figure's load, one after the other, against the server of the plan."""
    load = Load(plan)
    progress.print(
        f"GET /participants/by-nik/{{nik}} vs GET {BASELINE_PATH}: {READERS} connections, "
        f"{plan.seconds:.0f} s each ({len(plan.niks):,} NIKs)"
    )
    health_runs: list[Run] = []
    nik_runs: list[Run] = []
    await interleaved(
        lambda s: load.phase(health_runs, READERS, s, load.health),
        lambda s: load.phase(nik_runs, READERS, s, load.by_nik),
        plan.seconds,
        plan.warmup,
    )
    progress.print(
        f"POST /payments: {WRITERS} connections, a first month for each of {len(plan.payers):,} "
        f"payers, then {plan.seconds:.0f} s"
    )
    payment_runs: list[Run] = []
    await load.phase(payment_runs, WRITERS, FIRST_ROUND_SECONDS, load.first_payments())
    await load.phase(payment_runs, WRITERS, plan.seconds, load.payment)
    progress.print(
        f"mixed: {MIXED_READERS} readers and {MIXED_WRITERS} writers, {READ_SHARE:.0%} reads, "
        f"{plan.seconds:.0f} s"
    )
    reads, writes = await load.mixed(plan.seconds)
    mixed = outcome([reads, writes])
    for connection in load.connections:
        connection.close()
    return Outcomes(
        # `interleaved` warms each side up with its first run: that one is left out.
        health=outcome(health_runs[1:]),
        by_nik=outcome(nik_runs[1:]),
        payments=outcome(payment_runs[1:]),
        first_payments=outcome(payment_runs[:1]),
        mixed=msgspec.structs.replace(mixed, seconds=reads.seconds),
        mixed_reads=outcome([reads]),
        mixed_writes=outcome([writes]),
    )


def _load_main() -> None:
    plan = msgspec.json.decode(sys.stdin.buffer.read(), type=LoadPlan)
    outcomes = asyncio.run(generate_load(plan))
    sys.stdout.buffer.write(msgspec.json.encode(outcomes))


# -- the benchmark -------------------------------------------------------------------------------


async def log_niks(pool: asyncpg.Pool) -> list[str]:
    """The NIK of every participant of the log whose NIK is known (not erased)."""
    rows = await pool.fetch(
        "SELECT nik FROM rm.participants WHERE nik ~ '^[0-9]{16}$' ORDER BY participant_id"
    )
    return [r[0] for r in rows]


def months_owed(row: Mapping[str, Any], today: date) -> list[str]:
    """The months a self-paying member owes, in the order they are paid: arrears still
    payable, then from the next due month on, those not paid ahead (looking MONTHS_AHEAD
    months on; none for a member who is neither active nor in arrears)."""
    found = standing(row, today)
    if found.status_as_of not in ("active", "in_arrears") or found.history is None:
        return []
    owed = [
        r.month for r in found.history.months
        if r.status is MonthStatus.IN_ARREARS and payer_of(row, r.month) == "participant"
    ]  # fmt: skip
    paid = set(row["paid_months"] or ())
    first = next_due_month(today)
    owed += [
        month for month in (first + k for k in range(MONTHS_AHEAD + 1))
        if str(month) not in paid and payer_of(row, month) == "participant"
    ]  # fmt: skip
    return [str(m) for m in owed]


async def due_payers(pool: asyncpg.Pool, today: date, limit: int) -> list[PayerPlan]:
    rows = await pool.fetch(
        """SELECT * FROM rm.participants WHERE status = 'enrolled' AND funder = 'mandiri'
           ORDER BY participant_id LIMIT $1""",
        limit,
    )
    plans = []
    for row in rows:
        if owed := months_owed(row, today):
            programmes = tuple(row["programmes"] or ("JKK", "JKM"))
            plans.append(PayerPlan(row["participant_id"], row["declared_income"], programmes,
                                   owed))  # fmt: skip
    if not plans:
        raise RuntimeError("the log has no self-paying member who owes a month")
    return plans


async def finance_officer(store: EventStore) -> str:
    """A token of a new finance officer (payments, participants; personal data masked)."""
    accounts = bootstrap.accounts(Settings(), store)
    username, password = f"bench{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    await accounts.create(
        CreateUser(username=username, display_name="Bench finance officer",
                   roles=[Role.FINANCE.value]),
        password, Principal("bench", frozenset({Role.ADMIN})), Context(actor="admin:bench"),
    )  # fmt: skip
    return (await accounts.login(username, password)).token


async def until_serving(host: str, port: int, server: subprocess.Popen[bytes]) -> None:
    """Wait for the API to answer /health (it migrates and opens its pools first)."""
    deadline = time.perf_counter() + SERVER_START_SECONDS
    probe = http_request("GET", BASELINE_PATH, f"Host: {host}:{port}\r\n")
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jaga serve exited with {server.returncode} (output below)")
        connection = Connection(host, port)
        try:
            if (await connection.request(probe))[0] == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        await asyncio.sleep(0.2)
    raise RuntimeError(f"jaga serve did not answer within {SERVER_START_SECONDS:.0f} s")


async def run_load(plan: LoadPlan) -> Outcomes:
    """The load child (`python -m bench.api`); its progress goes to our stderr."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.api", stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    out, _ = await child.communicate(msgspec.json.encode(plan))
    if child.returncode != 0:
        raise RuntimeError(f"the load generator exited with {child.returncode}")
    return msgspec.json.decode(out, type=Outcomes)


async def _measure(
    database_url: str, redis_url: str, template: str, seconds: float
) -> tuple[Outcomes, dict[str, Any], str]:
    progress.print("copying the log for this run")
    async with copy_of(database_url, template) as dsn:
        await migrate_database(dsn)
        store = await open_store(dsn, min_size=1, max_size=4)
        try:
            runner = projection_runner(store)
            await runner.prepare()  # read models whose version changed since the log was made
            await catch_up_all(runner)
            async with store.pool.acquire() as conn:
                machine = await machine_info(conn)
            niks = await log_niks(store.pool)
            payers = await due_payers(store.pool, business_date(datetime.now(UTC)), PAYERS)
            token = await finance_officer(store)
        finally:
            await store.close()
        host, port = "127.0.0.1", choose_port()
        env = {
            **os.environ, "DATABASE_URL": dsn, "REDIS_URL": redis_url,
            "JAGA_MASTER_KEYS": BENCH_MASTER_KEYS, "JAGA_LOOKUP_KEY": BENCH_LOOKUP_KEY,
            "JAGA_HOST": host, "JAGA_PORT": str(port), "JAGA_LOG_LEVEL": "WARNING",
            "JAGA_REDIS_NAMESPACE": f"jaga-bench-{secrets.token_hex(4)}",
        }  # fmt: skip
        with running({"api": jaga_command("serve")}, env) as children:
            server = children["api"]
            progress.print(f"jaga serve on {host}:{port}; waiting for it to answer")
            await until_serving(host, port, server)
            outcomes = await run_load(
                LoadPlan(
                    host=host, port=port, token=token, niks=niks, payers=payers,
                    run_id=secrets.token_hex(4), seconds=seconds, warmup=min(2.0, seconds / 4),
                    server_pid=server.pid, database=dsn.rsplit("/", 1)[-1],
                )
            )  # fmt: skip
    note = f"{len(niks):,} participants' NIKs, {len(payers):,} self-paying payers"
    return outcomes, machine, note


def figures_of(outcomes: Outcomes, about: str) -> list[Figure]:
    health, nik, pay = outcomes.health, outcomes.by_nik, outcomes.payments
    first = outcomes.first_payments
    mixed, reads, writes = outcomes.mixed, outcomes.mixed_reads, outcomes.mixed_writes
    share = reads.requests / max(1, mixed.requests)
    errors = sum(o.errors for o in (health, nik, first, pay, mixed))
    return [
        Figure(
            "get_participant_rps", nik.rps, "requests/s", health.rps, TARGETS["get_ratio"],
            f"GET /participants/by-nik/{{nik}} as a finance officer (NIK and phone masked), "
            f"{READERS} connections ({about}): {nik.describe()}. Baseline GET "
            f"{BASELINE_PATH} (a constant {{\"status\":\"ok\"}}, no token, no database): "
            f"{health.describe()}",
        ),
        Figure("get_participant_p99_ms", nik.p99_ms, "ms", None, TARGETS["get_p99_ms"]),
        Figure(
            "post_payment_rps", pay.rps, "commands/s", None, TARGETS["post_rps"],
            f"POST /payments, one participant-month each, {WRITERS} connections: "
            f"{pay.describe()}. Before it, the first payment of each payer since the server "
            f"started (their stream read, personal data opened): {first.rps:,.0f}/s, "
            f"{first.describe()}",
            at_least=True,
        ),
        Figure("post_payment_p99_ms", pay.p99_ms, "ms", None, TARGETS["post_p99_ms"]),
        Figure(
            "mixed_rps", mixed.rps, "requests/s", None, None,
            f"{MIXED_READERS} readers (by NIK) and {MIXED_WRITERS} writers (payments), "
            f"{share:.1%} reads: {mixed.describe()}; reads p99 {reads.p99_ms:.1f} ms, "
            f"payments p99 {writes.p99_ms:.1f} ms ({writes.rps:,.0f}/s)",
        ),
        Figure("mixed_p50_ms", mixed.p50_ms, "ms", None, None),
        Figure("mixed_p95_ms", mixed.p95_ms, "ms", None, None),
        Figure("mixed_p99_ms", mixed.p99_ms, "ms", None, None),
        Figure("errors", errors, "answers", None, 0, "answers other than 2xx, every figure"),
    ]  # fmt: skip


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
    await ensure_log(database_url, participants, months, seed, fresh=fresh)
    try:
        outcomes, machine, about = await _measure(
            database_url, redis_url, log_database(participants, months, seed), seconds
        )
    finally:
        if not keep_log:
            await drop_log(database_url, participants, months, seed)
    report("api", figures_of(outcomes, about), machine)


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
    """Run the API benchmark on the servers of `database_url` and `redis_url`, on a copy of
    the log `jaga bench projections` caches (generated when missing); `keep_log=False` drops
    that log afterwards."""
    asyncio.run(
        _run(
            database_url, redis_url, participants=participants, months=months, seed=seed,
            seconds=figure_seconds(seconds, DEFAULT_SECONDS), fresh=fresh, keep_log=keep_log,
        )
    )  # fmt: skip


if __name__ == "__main__":
    _load_main()
