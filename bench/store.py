"""`jaga bench store`: event store throughput against raw asyncpg on the same database, same run.

The raw baseline is what the store's guarantees (optimistic concurrency, hash chain, gap-safe
positions, idempotency, typed decoding) are paid against. Both sides start from the same event
Struct, run on the same server in a scratch database, with the same pool settings and the same
JSON codec, interleaved so drift hits both. Baseline writers hold one raw connection each, so
the baseline pays no pool overhead at all; ours goes through the store's own pool, exactly as
the application calls it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar
from uuid import UUID, uuid4

import asyncpg
import msgspec

from bench.common import (
    Figure,
    Tally,
    figure_seconds,
    interleaved,
    machine_info,
    progress,
    report,
    run_workers,
    scratch_database,
)
from events.errors import WrongExpectedVersion
from events.migrations import migrate
from events.personal import MasterKeys, Personal
from events.store import NO_STREAM, Context, EventStore, init_connection
from events.types import Event, EventRegistry

DEFAULT_SECONDS = 8.0
"""Measured seconds per figure (split over four interleaved phases), plus a short warm-up."""

SINGLE_WRITERS = 16
HOT_WRITERS = 4
HOT_STREAMS = 100
HOT_ZIPF_S = 1.0
_ZIPF_CUM_WEIGHTS = list(itertools.accumulate(1 / k**HOT_ZIPF_S for k in range(1, HOT_STREAMS + 1)))
BATCH = 1000
READ_BATCH = 1000
READ_MIN_EVENTS = 50_000
"""read_all scans at least this many events; fewer and it would mostly measure round trips."""
READ_HORIZON_WAIT = 30.0
"""Seconds to wait for transactions open elsewhere on the server to let read_all see our events."""

TARGETS = {
    "append_single_w16": 0.70,
    "append_hot_w4": 0.50,
    "append_batch_1000": 0.60,
    "read_all": 0.50,
}


# -- the events ----------------------------------------------------------------------------------


class ContributionPaid(Event, frozen=True, kw_only=True):
    """A realistic payload: a monthly BPJS contribution paid by the regency for one worker.

    No personal fields (NIK, name): sealing them is a separate cost, not measured here.
    """

    contribution_id: UUID
    worker_id: UUID
    batch_id: UUID
    member_number: str
    regency_code: str
    month: str
    programs: list[str]
    wage_basis_idr: int
    jkk_idr: int
    jkm_idr: int
    amount_idr: int
    paid_at: datetime
    payment_reference: str
    bank_reference: str
    channel: str


class WorkerRegistered(Event, frozen=True, kw_only=True):
    """A registration: its NIK, name, birth date and phone are personal data, sealed under the
    worker's own key (a new key per worker, as every registration brings a new person)."""

    __subject__: ClassVar[str] = "participant_id"
    participant_id: UUID
    cohort_id: UUID
    nik: Personal
    name: Personal
    birth_date: Personal
    phone: Personal
    kecamatan: str
    desa: str
    occupation: str
    declared_income_idr: int
    registered_at: datetime


registry = EventRegistry([ContributionPaid, WorkerRegistered])


def make_events(count: int, seed: int = 7) -> list[ContributionPaid]:
    """Distinct events, built up front: constructing domain objects is not the store's cost."""
    rng = random.Random(seed)
    events = []
    for n in range(count):
        jkk, jkm = 10_000, 6_800
        events.append(
            ContributionPaid(
                contribution_id=UUID(int=rng.getrandbits(128), version=4),
                worker_id=UUID(int=rng.getrandbits(128), version=4),
                batch_id=UUID(int=rng.getrandbits(128), version=4),
                member_number=f"{rng.randrange(10**10, 10**11)}",
                regency_code="3204",
                month=f"2026-{1 + n % 12:02d}",
                programs=["JKK", "JKM"],
                wage_basis_idr=1_000_000,
                jkk_idr=jkk,
                jkm_idr=jkm,
                amount_idr=jkk + jkm,
                paid_at=datetime(2026, 3, 18, 9, 30, n % 60, tzinfo=UTC),
                payment_reference=f"SP2D/3204/2026/{n:06d}",
                bank_reference=f"BJB-2026031809{n:08d}",
                channel="bank_transfer",
            )
        )
    return events


def make_registrations(count: int, seed: int = 11) -> list[WorkerRegistered]:
    rng = random.Random(seed)
    return [
        WorkerRegistered(
            participant_id=UUID(int=rng.getrandbits(128), version=4),
            cohort_id=UUID(int=1, version=4),
            nik=f"170803{rng.randrange(1, 29):02d}0{rng.randrange(1, 10)}9{rng.randrange(0, 10)}"
            f"{n % 10000:04d}",
            name=rng.choice(["Siti Rahayu", "Heri Wijaya", "Slamet Santoso", "Dewi Lestari"]),
            birth_date=f"19{rng.randrange(60, 99)}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 9)}",
            phone=f"08{rng.randrange(10**9, 10**10)}",
            kecamatan="17.08.03",
            desa="17.08.03.2019",
            occupation="tukang ojek",
            declared_income_idr=1_000_000,
            registered_at=datetime(2026, 10, 1, 8, n % 60, tzinfo=UTC),
        )
        for n in range(count)
    ]


# -- the raw baseline ----------------------------------------------------------------------------

PLAIN_TABLE = """
CREATE TABLE plain_events (
    id              bigserial   PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    payload         json        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text        NOT NULL,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid
)
"""

PLAIN_INSERT = """
INSERT INTO plain_events (stream_id, stream_version, event_id, event_type, schema_version,
                          payload, occurred_at, actor, correlation_id, causation_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""

READ_COLUMNS = """position, stream_id, stream_version, event_id, event_type, schema_version,
    payload, occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key,
    hash, prev_hash"""

PLAIN_PAGE = f"""
SELECT {READ_COLUMNS} FROM events WHERE position > $1 AND position <= $2
ORDER BY position LIMIT $3
"""


def plain_row(
    stream_id: str, version: int, event: Event
) -> tuple[str, int, UUID, str, int, bytes, datetime, str, UUID, None]:
    """The baseline's row: the same fields the store is given, encoded the same way (in the
    clear: the baseline seals nothing)."""
    event_type, schema_version = registry.describe(event)
    payload = registry.encode(event)
    return (
        stream_id,
        version,
        uuid4(),
        event_type,
        schema_version,
        payload,
        datetime.now(UTC),
        "bench",
        uuid4(),
        None,
    )


# -- the benchmark -------------------------------------------------------------------------------


class StoreBench:
    """Pools, events and counters shared by the figures of one run."""

    def __init__(
        self,
        store: EventStore,
        plain: asyncpg.Pool,
        events: Sequence[Event],
        *,
        new_person_each: bool = False,
    ) -> None:
        self.store = store
        self.plain = plain
        self.events = events
        self._ids = itertools.count()
        self._people = itertools.count(1)
        self._new_person_each = new_person_each
        self.hot_appended = 0
        self.hot_conflicts = 0

    def event(self, n: int) -> Event:
        """The n-th event; with `new_person_each`, a registration of a person never seen
        before (a fresh participant id: a new key to make), for both sides alike."""
        event = self.events[n % len(self.events)]
        if self._new_person_each:
            return msgspec.structs.replace(
                event, participant_id=UUID(int=next(self._people), version=4)
            )
        return event

    def new_stream(self, kind: str) -> str:
        return f"{kind}-{next(self._ids)}"

    # append_single_w16 ---------------------------------------------------------------------

    async def single_plain(self, seconds: float) -> Tally:
        async def work(w: int, deadline: float) -> int:
            done = 0
            async with self.plain.acquire() as conn:
                while time.perf_counter() < deadline:
                    row = plain_row(self.new_stream("single"), 1, self.event(done + w))
                    await conn.execute(PLAIN_INSERT, *row)
                    done += 1
            return done

        return await run_workers(SINGLE_WRITERS, seconds, work)

    async def single_ours(self, seconds: float) -> Tally:
        async def work(w: int, deadline: float) -> int:
            done = 0
            while time.perf_counter() < deadline:
                await self.store.append(
                    self.new_stream("single"),
                    [self.event(done + w)],
                    NO_STREAM,
                    context=Context(actor="bench"),
                )
                done += 1
            return done

        return await run_workers(SINGLE_WRITERS, seconds, work)

    # append_hot_w4 -------------------------------------------------------------------------

    @staticmethod
    def hot_stream(rng: random.Random) -> str:
        """Stream k with probability proportional to 1/k^s: a few streams take most writes."""
        (k,) = rng.choices(range(HOT_STREAMS), cum_weights=_ZIPF_CUM_WEIGHTS)
        return f"hot-{k}"

    async def hot_plain(self, seconds: float) -> Tally:
        async def work(w: int, deadline: float) -> int:
            rng = random.Random(w)
            done = 0
            async with self.plain.acquire() as conn:
                while time.perf_counter() < deadline:
                    row = plain_row(self.hot_stream(rng), done + 1, self.event(done + w))
                    await conn.execute(PLAIN_INSERT, *row)
                    done += 1
            return done

        return await run_workers(HOT_WRITERS, seconds, work)

    async def hot_ours(self, seconds: float) -> Tally:
        """Append expecting the version this writer last saw; when another writer got there
        first, take the actual version from the conflict and retry (as a command handler with
        an aggregate cache does; a cold writer starts from the stored version)."""

        async def work(w: int, deadline: float) -> int:
            rng = random.Random(1000 + w)
            seen: dict[str, int] = {}
            done = 0
            while time.perf_counter() < deadline:
                stream = self.hot_stream(rng)
                if stream not in seen:
                    seen[stream] = await self.store.stream_version(stream)
                while True:
                    try:
                        result = await self.store.append(
                            stream,
                            [self.event(done + w)],
                            seen[stream],
                            context=Context(actor="bench"),
                        )
                    except WrongExpectedVersion as conflict:
                        self.hot_conflicts += 1
                        seen[stream] = conflict.actual
                        continue
                    seen[stream] = result.stream_version
                    break
                done += 1
                self.hot_appended += 1
            return done

        return await run_workers(HOT_WRITERS, seconds, work)

    async def hot_lost(self) -> tuple[int, str]:
        """Events the writers were told were appended but the log does not hold, plus holes."""
        async with self.store.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT stream_id, count(*) AS n, min(stream_version) AS lo,
                          max(stream_version) AS hi
                   FROM events WHERE stream_id LIKE 'hot-%' GROUP BY stream_id"""
            )
        stored = sum(r["n"] for r in rows)
        holes = sum(r["hi"] - r["n"] for r in rows)
        bad = [r["stream_id"] for r in rows if (r["lo"], r["hi"]) != (1, r["n"])]
        lost = abs(self.hot_appended - stored) + holes
        note = (
            f"{self.hot_appended:,} appends acknowledged, {stored:,} stored "
            f"in {len(rows)} streams, "
            f"{self.hot_conflicts:,} WrongExpectedVersion retries"
        )
        if bad:
            note += f"; streams not contiguous 1..n: {', '.join(bad[:5])}"
            lost = max(lost, len(bad))
        return lost, note

    # append_batch_1000 ---------------------------------------------------------------------

    async def batch_plain(self, seconds: float) -> Tally:
        async def work(w: int, deadline: float) -> int:
            done = 0
            async with self.plain.acquire() as conn:
                while time.perf_counter() < deadline:
                    stream = self.new_stream("batch")
                    rows = [plain_row(stream, v + 1, self.event(v)) for v in range(BATCH)]
                    async with conn.transaction():
                        await conn.executemany(PLAIN_INSERT, rows)
                    done += BATCH
            return done

        return await run_workers(1, seconds, work)

    async def batch_ours(self, seconds: float) -> Tally:
        async def work(w: int, deadline: float) -> int:
            done = 0
            while time.perf_counter() < deadline:
                await self.store.append(
                    self.new_stream("batch"),
                    [self.event(v) for v in range(BATCH)],
                    NO_STREAM,
                    context=Context(actor="bench"),
                )
                done += BATCH
            return done

        return await run_workers(1, seconds, work)

    # read_all ------------------------------------------------------------------------------

    async def prepare_read(self) -> tuple[int, int]:
        """Enough events to scan, vacuumed so neither side pays for setting hint bits first.
        Returns the safe head position both sides read up to, and how many events lie below."""
        total = await self.store.pool.fetchval("SELECT count(*) FROM events")
        while total < READ_MIN_EVENTS:
            await self.store.append(
                self.new_stream("batch"),
                [self.event(v) for v in range(BATCH)],
                NO_STREAM,
                context=Context(actor="bench"),
            )
            total += BATCH
        await self.store.pool.execute("VACUUM (ANALYZE) events")
        # The store only reads below the oldest running transaction of the whole server; wait
        # for that horizon to pass our events so that both sides scan the same range.
        last = await self.store.pool.fetchval("SELECT max(position) FROM events")
        for _ in range(int(READ_HORIZON_WAIT / 0.2)):
            head = await self.store.head()
            if head >= last:
                break
            await asyncio.sleep(0.2)
        if head < last:
            progress.print(
                f"[yellow]an open transaction somewhere on the server holds the safe head at "
                f"{head:,} (last position {last:,}); both sides read up to there[/]"
            )
        readable = await self.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE position <= $1", head
        )
        if readable < READ_BATCH:
            raise RuntimeError(
                f"only {readable} events are safe to read: a transaction left open on the "
                "server (in any database) holds back read_all; end it and run again"
            )
        return head, readable

    async def read_plain(self, seconds: float, head: int) -> Tally:
        async def work(w: int, deadline: float) -> int:
            done, after = 0, 0
            async with self.plain.acquire() as conn:
                while time.perf_counter() < deadline:
                    if after >= head:
                        after = 0
                    rows = await conn.fetch(PLAIN_PAGE, after, head, READ_BATCH)
                    after = rows[-1][0]
                    done += len(rows)
            return done

        return await run_workers(1, seconds, work)

    async def read_ours(self, seconds: float, head: int) -> Tally:
        async def work(w: int, deadline: float) -> int:
            done, after = 0, 0
            while time.perf_counter() < deadline:
                if after >= head:
                    after = 0
                page = await self.store.read_all(after, batch_size=READ_BATCH)
                after = page.checkpoint
                done += len(page.events)
            return done

        return await run_workers(1, seconds, work)


async def _run(database_url: str, seconds: float) -> None:
    warmup = min(1.0, seconds / 8)
    events = make_events(1024)
    payload_sizes = [len(registry.encode(e)) for e in events]
    if min(payload_sizes) < 256:
        raise AssertionError(f"payloads must be ≥ 256 bytes, smallest is {min(payload_sizes)}")
    figures: list[Figure] = []
    async with scratch_database(database_url, "jaga_bench") as dsn:
        progress.print(f"[dim]scratch database {dsn.rsplit('/', 1)[-1]}; migrating[/]")
        await migrate(dsn)
        # Ours is used as the application uses it: the store's own pool, with encryption of
        # personal data on (a keyring); the baseline holds one raw connection per writer.
        store = await EventStore.connect(
            dsn,
            registry,
            MasterKeys.parse(MasterKeys.generate("bench")),
            min_size=SINGLE_WRITERS,
            max_size=SINGLE_WRITERS,
            command_timeout=60,
        )
        plain = await asyncpg.create_pool(
            dsn,
            min_size=SINGLE_WRITERS,
            max_size=SINGLE_WRITERS,
            init=init_connection,
            command_timeout=60,
        )
        try:
            await plain.execute(PLAIN_TABLE)
            async with plain.acquire() as conn:
                machine = await machine_info(conn)
            b = StoreBench(store, plain, events)
            size_note = f"payload {min(payload_sizes)}-{max(payload_sizes)} bytes"

            progress.print(f"append_single_w16 ({SINGLE_WRITERS} writers, new stream each)")
            base, ours = await interleaved(b.single_plain, b.single_ours, seconds, warmup)
            figures.append(
                Figure("append_single_w16", ours.rate, "events/s", base.rate,
                       TARGETS["append_single_w16"], size_note)
            )  # fmt: skip

            progress.print(f"append_hot_w4 ({HOT_WRITERS} writers, Zipf over {HOT_STREAMS})")
            base, ours = await interleaved(b.hot_plain, b.hot_ours, seconds, warmup)
            lost, lost_note = await b.hot_lost()
            figures.append(
                Figure("append_hot_w4", ours.rate, "events/s", base.rate, TARGETS["append_hot_w4"],
                       f"successful appends/s; {lost_note}")
            )  # fmt: skip

            progress.print(f"append_batch_{BATCH}")
            base, ours = await interleaved(b.batch_plain, b.batch_ours, seconds, warmup)
            figures.append(
                Figure("append_batch_1000", ours.rate, "events/s", base.rate,
                       TARGETS["append_batch_1000"], f"{BATCH} events per call, one writer")
            )  # fmt: skip

            head, readable = await b.prepare_read()
            progress.print(f"read_all ({readable:,} events, pages of {READ_BATCH})")
            base, ours = await interleaved(
                lambda s: b.read_plain(s, head), lambda s: b.read_ours(s, head), seconds, warmup
            )
            figures.append(
                Figure("read_all", ours.rate, "events/s", base.rate, TARGETS["read_all"],
                       f"decoded to Structs vs raw asyncpg Records, {readable:,} events in the log")
            )  # fmt: skip

            figures.append(Figure("lost_events", lost, "events", None, 0, "in append_hot_w4"))
        finally:
            await store.close()
            await plain.close()
    figures += await _sealed(database_url, seconds, warmup, figures)
    report("store", figures, machine)


async def _sealed(
    database_url: str, seconds: float, warmup: float, plain_figures: list[Figure]
) -> list[Figure]:
    """What sealing costs where an event does carry personal data: the single-append and read
    figures again, in a scratch database of their own, with every event the registration of a
    new person (NIK, name, birth date and phone sealed under a key made for that person).

    Reported, not held to the store's targets: those are for the log as a whole, which the
    figures above measure with encryption on (an event without personal fields pays nothing
    for it). The cost per personal event is the difference of the per-event times of the
    sealed and plain runs, each against its own baseline (so machine drift cancels out)."""
    events = make_registrations(1024)
    async with scratch_database(database_url, "jaga_bench_sealed") as dsn:
        await migrate(dsn)
        pool_args = {"min_size": SINGLE_WRITERS, "max_size": SINGLE_WRITERS, "command_timeout": 60}
        store = await EventStore.connect(
            dsn, registry, MasterKeys.parse(MasterKeys.generate("bench")), **pool_args
        )
        plain = await asyncpg.create_pool(dsn, init=init_connection, **pool_args)
        try:
            await plain.execute(PLAIN_TABLE)
            b = StoreBench(store, plain, events, new_person_each=True)
            progress.print(
                f"append_single_w16_sealed ({SINGLE_WRITERS} writers, a new person each)"
            )
            base, ours = await interleaved(b.single_plain, b.single_ours, seconds, warmup)
            appended = Figure(
                "append_single_w16_sealed", ours.rate, "events/s", base.rate, None,
                "each a new person: key made, wrapped and stored with the append; NIK, name, "
                "birth date, phone sealed (AES-GCM) vs plain INSERT",
            )  # fmt: skip
            head, readable = await b.prepare_read()
            progress.print(f"read_all_sealed ({readable:,} events, pages of {READ_BATCH})")
            base, ours = await interleaved(
                lambda s: b.read_plain(s, head), lambda s: b.read_ours(s, head), seconds, warmup
            )
            read = Figure(
                "read_all_sealed", ours.rate, "events/s", base.rate, None,
                "every event a different person: one key per event read and unwrapped, four "
                "values opened, vs raw asyncpg Records",
            )  # fmt: skip
        finally:
            await store.close()
            await plain.close()
    by_name = {f.name: f for f in plain_figures}
    return [
        appended,
        read,
        _cost("seal_cost_append_us", appended, by_name["append_single_w16"]),
        _cost("seal_cost_read_us", read, by_name["read_all"]),
    ]


def _cost(name: str, sealed: Figure, plain: Figure) -> Figure:
    """Extra microseconds per personal event: sealed minus plain per-event time, each scaled
    to its own run's baseline (the baselines are the same plain SQL in both runs)."""
    assert sealed.baseline and plain.baseline
    extra = (1 / sealed.value - 1 / sealed.baseline) - (1 / plain.value - 1 / plain.baseline)
    return Figure(
        name, extra * 1e6, "us/event", None, None,
        f"what sealing adds per personal event, from {sealed.name} and {plain.name}",
    )  # fmt: skip


def main(database_url: str, *, seconds: float | None = None) -> None:
    """Run the store benchmark in a scratch database on the server of `database_url`."""
    asyncio.run(_run(database_url, figure_seconds(seconds, DEFAULT_SECONDS)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url", nargs="?", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per figure")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give a database URL or set DATABASE_URL")
    main(args.database_url, seconds=args.seconds)
