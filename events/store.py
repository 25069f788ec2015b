"""The Postgres event store: append with optimistic concurrency, read streams and the log.

An append is one statement (events/queries/append_one.sql, append_many.sql): one round trip,
all events or none. One-event appends made at the same time share statements and commits
(group commit, `_Batcher`, events/queries/append_batch.sql), each still judged on its own
expected version. An append expecting a version older than one this store has seen committed
fails at once (`_Heads`). Reads are plain SELECTs. See README "Event store" for the guarantees.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final
from uuid import UUID, uuid4

import asyncpg
import msgspec
from cryptography.exceptions import InvalidTag

from events import personal
from events.errors import EventDecodeError, IdempotencyKeyReused, WrongExpectedVersion
from events.keyring import Keyring
from events.types import Event, EventRegistry, RecordedEvent

CHANNEL: Final = "jaga_events"
"""NOTIFY channel on which appends wake the followers of the log."""
IDLE_IN_TRANSACTION: Final = "60s"
"""How long the server lets one of our connections sit idle inside a transaction."""
ANY: Final = -1
"""Expected version: append whatever the stream's version."""
NO_STREAM: Final = 0
"""Expected version: the stream must not exist yet."""


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """Who appends, why, and when it happened: stored on every event of the append."""

    actor: str
    correlation_id: UUID = msgspec.field(default_factory=uuid4)
    causation_id: UUID | None = None
    occurred_at: datetime | None = None  # business time; defaults to now


class StreamAppend(msgspec.Struct, frozen=True):
    """Events for one stream, expecting it at `expected` (a version, NO_STREAM or ANY)."""

    stream_id: str
    events: Sequence[Event]
    expected: int = ANY


class AppendResult(msgspec.Struct, frozen=True):
    """Where an append landed: the stream's new version and the events' global positions."""

    stream_id: str
    stream_version: int
    first_position: int
    last_position: int


class Page(msgspec.Struct, frozen=True):
    """A batch of the global log. Pass `checkpoint` as `after` to read on."""

    events: list[RecordedEvent]
    checkpoint: int


class Problem(msgspec.Struct, frozen=True):
    stream_id: str
    stream_version: int | None
    position: int | None
    problem: str


class Verification(msgspec.Struct, frozen=True):
    ok: bool
    streams_checked: int
    events_checked: int
    problems: list[Problem]


_COLUMNS = """position, stream_id, stream_version, event_id, event_type, schema_version,
    payload, occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key,
    hash, prev_hash"""


# A position is (writing transaction id << 20) + index. Below the oldest running transaction
# every transaction has ended, so every event that can still appear lies above everything a
# reader has read: reading only below it never skips an event that commits late.
_SAFE = "position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)"

_READ_STREAM = f"""SELECT {_COLUMNS} FROM events
    WHERE stream_id = $1 AND stream_version >= $2
      AND ($3::bigint IS NULL OR stream_version <= $3)
      AND ($4::timestamptz IS NULL OR recorded_at <= $4)
    ORDER BY stream_version"""
_READ_ALL = f"""SELECT {_COLUMNS} FROM events WHERE position > $1 AND {_SAFE}
    ORDER BY position LIMIT $2"""
_READ_TYPES = f"""SELECT {_COLUMNS} FROM events
    WHERE position > $1 AND {_SAFE} AND event_type = ANY($3::text[])
    ORDER BY position LIMIT $2"""
_HORIZON = f"SELECT max(position) FROM events WHERE position > $1 AND {_SAFE}"

_QUERIES = resources.files("events") / "queries"
_APPEND_ONE = (_QUERIES / "append_one.sql").read_text(encoding="utf-8")
_APPEND_MANY = (_QUERIES / "append_many.sql").read_text(encoding="utf-8")
_APPEND_BATCH = (_QUERIES / "append_batch.sql").read_text(encoding="utf-8")


def _storing_keys(sql: str) -> str:
    """append_one.sql that also stores the new subject keys its payload is sealed under
    ($10 subjects, $11 master key ids, $12 wrapped keys), in the same transaction: it appends
    only if every one of them was stored (none was created concurrently meanwhile), and says
    so in a fourth column. One commit instead of two for an event about a new person."""
    anchors = (
        "appended AS (",
        "    WHERE $2 = -1 OR $2 = x.actual\n",
        "SELECT x.actual, a.position, a.stream_version FROM x",
    )
    if not all(sql.count(anchor) == 1 for anchor in anchors):
        raise AssertionError("append_one.sql changed: update _storing_keys")
    keys_ok = "(SELECT count(*) FROM keys) = cardinality($10::text[])"
    return (
        sql.replace(
            anchors[0],
            "keys AS (\n"
            "    INSERT INTO subject_keys (subject_id, master_key_id, wrapped_key)\n"
            "    SELECT * FROM unnest($10::text[], $11::text[], $12::bytea[])\n"
            "    ON CONFLICT (subject_id) DO NOTHING\n"
            "    RETURNING 1\n"
            "),\n" + anchors[0],
        )
        .replace(anchors[1], f"    WHERE ($2 = -1 OR $2 = x.actual) AND {keys_ok}\n")
        .replace(anchors[2], f"SELECT x.actual, a.position, a.stream_version, {keys_ok} FROM x")
    )


_APPEND_ONE_STORING_KEYS = _storing_keys(_APPEND_ONE)


_ANY_RETRIES = 3
_Db = asyncpg.Pool | asyncpg.Connection
_Encoded = tuple[list[str], list[int], list[bytes]]
MAX_EVENTS_PER_TRANSACTION = 1 << 20


async def init_connection(conn: asyncpg.Connection) -> None:
    """Payloads travel as raw JSON bytes in both directions: no str round trip."""
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=bytes, decoder=bytes, format="binary"
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset: Jaga leaves no session state behind (asyncpg already rolls back open
    transactions and drops listeners), so skip the extra reset round trip per release."""


async def create_pool(dsn: str, **pool_args: Any) -> asyncpg.Pool:
    """An asyncpg pool set up for the event store (JSON codec, cheap release).

    Idle connections are kept (no inactivity timer, unless `max_inactive_connection_lifetime`
    is given): re-arming and cancelling that timer costs a fifth of each acquire and release.

    A transaction left open holds the xmin horizon, and with it every reader of the log
    (read_all reads below the oldest running transaction): the server ends any of ours that
    sits idle in a transaction for a minute.
    """
    pool_args.setdefault("max_inactive_connection_lifetime", 0)
    pool_args["server_settings"] = {
        "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION,
        **(pool_args.get("server_settings") or {}),
    }
    return await asyncpg.create_pool(dsn, init=init_connection, reset=_keep_session, **pool_args)


class _Wake:
    """NOTIFY after commit, coalesced: the first append of a quiet spell wakes followers at
    once; under load, one NOTIFY per interval covers every append made meanwhile.

    NOTIFY inside the append would take a server-wide lock through every commit.
    """

    INTERVAL = 0.005

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending = False
        self._task: asyncio.Task[None] | None = None

    def soon(self) -> None:
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._pending:
            self._pending = False
            try:
                await self._pool.execute("SELECT pg_notify($1, '')", CHANNEL)
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                return  # followers still poll: a lost wake-up delays, never loses
            await asyncio.sleep(self.INTERVAL)

    async def flush(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


class _Heads:
    """The highest version of each stream that this store has seen committed.

    Versions only grow, so an append expecting an older version cannot succeed: it fails at
    once, as the database would have refused it, with that version as the actual one, and
    costs no round trip. (If another process has appended since, the database has a newer
    version still; the caller's retry learns it from the database, as it would have anyway.)
    Only versions read outside callers' transactions are recorded: they are committed.
    """

    LIMIT = 100_000

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def saw(self, stream_id: str, version: int) -> None:
        if version > self._seen.get(stream_id, 0):
            if len(self._seen) >= self.LIMIT:
                self._seen.clear()
            self._seen[stream_id] = version

    def stale(self, item: StreamAppend) -> WrongExpectedVersion | None:
        """The conflict an append is bound to meet, if this store already knows of it."""
        known = self._seen.get(item.stream_id, 0)
        if item.expected != ANY and known > item.expected:
            return WrongExpectedVersion(item.stream_id, item.expected, known)
        return None


_OneRow = tuple[int, int | None, int | None, bool]
"""A single-event append's answer: version before, position, new version, keys stored."""


class _Pending(msgspec.Struct):
    item: StreamAppend
    encoded: _Encoded
    context: Context
    new_keys: list[tuple[str, str, bytes]]
    done: asyncio.Future[_OneRow | None]


# Errors for which the server wrote nothing and that one request of a batch may cause alone.
_REFUSED = (
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
    asyncpg.TransactionRollbackError,
)


class _Batcher:
    """Group commit for single-event appends through the pool.

    Up to `limit` appends run at once, each as its own statement (append_one.sql), exactly as
    without the batcher. Beyond that, appends wait, and whenever one of the running statements
    ends, every waiting append (one per stream) goes in ONE statement and transaction
    (append_batch.sql): one round trip and one commit for all of them. Each append in a batch
    is still all or nothing and checked against its own expected version; if the server refuses
    a batch as a whole (say, a concurrent append elsewhere took a version), nothing of it was
    written and each of its appends is made again alone. Under load this trades a few
    connections' worth of parallel statements for commits shared by many appends; with spare
    slots nothing waits. Two slots (measured: one makes larger batches, but appends that
    conflict and retry then wait longer; three or more make batches too small to pay).
    """

    def __init__(self, store: EventStore, limit: int) -> None:
        self._store = store
        self._limit = limit
        self._busy = 0
        self._waiting: list[_Pending] = []
        self._writing: set[str] = set()  # streams of the statements running
        self._tasks: set[asyncio.Task[None]] = set()

    async def append(
        self,
        item: StreamAppend,
        encoded: _Encoded,
        context: Context,
        new_keys: list[tuple[str, str, bytes]],
    ) -> list[AppendResult]:
        stream = item.stream_id
        if self._busy < self._limit and not self._waiting and stream not in self._writing:
            self._busy += 1
            self._writing.add(stream)
            try:
                return await self._store._append_one(item, encoded, context, new_keys)
            finally:
                self._writing.discard(stream)
                self._freed()
        done = asyncio.get_running_loop().create_future()
        pending = _Pending(item, encoded, context, new_keys, done)
        self._waiting.append(pending)
        row = await done
        if row is None:  # the batch was refused as a whole, writing nothing: append alone
            return await self._store._append_one(item, encoded, context, new_keys)
        return _appended(item, row)

    def _freed(self) -> None:
        """A slot is free. It is kept for the next batch, which goes once the callers just
        answered have run on (and, as often as not, appended again) so that it takes them
        too; they wait for it rather than take the slot one by one."""
        asyncio.get_running_loop().call_soon(self._next, True)

    def _next(self, first: bool = False) -> None:
        """Send every waiting append, one per stream, as one batch in the slot just freed.

        Appends that waited behind one to the same stream, which has just landed, are bound to
        conflict: they fail first, and the batch waits one more turn of the loop for their
        callers, who as often as not retry at once, so that it takes the retries too rather
        than leave them a whole batch behind."""
        if first and self._fail_stale():
            asyncio.get_running_loop().call_soon(self._next)
            return
        self._busy -= 1
        if not self._waiting or self._busy >= self._limit:
            return
        batch: list[_Pending] = []
        later: list[_Pending] = []
        streams: set[str] = set()
        for pending in self._waiting:
            if pending.done.done():  # its caller was cancelled before it was sent
                continue
            conflict = self._store._heads.stale(pending.item)
            if conflict is not None:  # another append to the stream landed while it waited
                pending.done.set_exception(conflict)
                continue
            stream = pending.item.stream_id
            if stream in streams or stream in self._writing:  # one append per stream at once
                later.append(pending)
            else:
                streams.add(stream)
                batch.append(pending)
        self._waiting = later
        if not batch:
            return
        self._busy += 1
        self._writing |= streams
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail_stale(self) -> bool:
        """Fail the waiting appends that expect a version older than one landed meanwhile."""
        failed = False
        for pending in self._waiting:
            if not pending.done.done():
                conflict = self._store._heads.stale(pending.item)
                if conflict is not None:
                    pending.done.set_exception(conflict)
                    failed = True
        return failed

    async def _run(self, batch: list[_Pending]) -> None:
        now = datetime.now(UTC)
        try:
            try:
                if len(batch) == 1:  # append_one.sql: the same answer, less work for the server
                    p = batch[0]
                    row = await self._store._one_row(p.item, p.encoded, p.context, p.new_keys)
                    rows: list[Any] = [row]
                else:
                    rows = await self._store.pool.fetch(
                        _APPEND_BATCH,
                        [p.item.stream_id for p in batch],
                        [p.item.expected for p in batch],
                        [p.encoded[0][0] for p in batch],
                        [p.encoded[1][0] for p in batch],
                        [p.encoded[2][0] for p in batch],
                        [p.context.occurred_at or now for p in batch],
                        [p.context.actor for p in batch],
                        [p.context.correlation_id for p in batch],
                        [p.context.causation_id for p in batch],
                        [n for n, p in enumerate(batch, 1) for _ in p.new_keys],
                        [k[0] for p in batch for k in p.new_keys],
                        [k[1] for p in batch for k in p.new_keys],
                        [k[2] for p in batch for k in p.new_keys],
                    )
            except _REFUSED:
                rows = [None] * len(batch)
            for pending, row in zip(batch, rows, strict=True):
                if not pending.done.done():
                    pending.done.set_result(None if row is None else tuple(row))
        except BaseException as exc:  # the outcome is unknown: every caller learns it
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._writing.difference_update(p.item.stream_id for p in batch)
            self._freed()


class EventStore:
    """Append to and read from the log. Connections come from an asyncpg pool.

    With a keyring, personal fields are sealed before they are stored and opened when read
    (events/personal.py). Without one, events with personal data cannot be appended, and
    reads leave sealed values sealed.
    """

    def __init__(
        self, pool: asyncpg.Pool, registry: EventRegistry, keyring: Keyring | None = None
    ) -> None:
        self._pool = pool
        self.registry = registry
        self.keyring = keyring
        self._wake = _Wake(pool)
        self._heads = _Heads()
        # (type, schema version) -> decoder, for payloads at their type's current version
        self._decoders: dict[tuple[str, int], msgspec.json.Decoder[Any]] = {}
        self._personal_types: dict[str, bool] = {}  # event type -> has personal fields
        self._batcher = _Batcher(self, min(2, pool.get_max_size()))

    @classmethod
    async def connect(
        cls,
        dsn: str,
        registry: EventRegistry,
        master_keys: personal.MasterKeys | None = None,
        **pool_args: Any,
    ) -> EventStore:
        pool = await create_pool(dsn, **pool_args)
        return cls(pool, registry, Keyring(pool, master_keys) if master_keys else None)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def close(self) -> None:
        await self._wake.flush()
        await self._pool.close()

    # -- writing ---------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected: int,
        *,
        context: Context,
        idempotency_key: str | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append events to one stream, all or none. See `append_many`."""
        (result,) = await self.append_many(
            [StreamAppend(stream_id, events, expected)],
            context=context,
            idempotency_key=idempotency_key,
            connection=connection,
        )
        return result

    async def append_many(
        self,
        appends: Sequence[StreamAppend],
        *,
        context: Context,
        idempotency_key: str | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> list[AppendResult]:
        """Append to several streams atomically: every stream's events or nobody's.

        Raises WrongExpectedVersion (nothing appended) when a stream is not at the expected
        version. The same idempotency key with the same request returns the first result and
        writes nothing; with a different request it raises IdempotencyKeyReused. With
        `connection`, the append joins the caller's transaction (then call `wake_readers`
        after committing).
        """
        streams = [item.stream_id for item in appends]
        if len(set(streams)) != len(streams):
            raise ValueError("each stream may appear once per append")
        for item in appends:
            if not item.events:
                raise ValueError(f"no events to append to stream {item.stream_id}")
            if item.expected < ANY:
                raise ValueError(f"bad expected version {item.expected}: not ≥ 0 nor ANY")
            # (A repeated request under an idempotency key gets its first result instead.)
            if idempotency_key is None and (conflict := self._heads.stale(item)) is not None:
                raise conflict
        if sum(len(item.events) for item in appends) > MAX_EVENTS_PER_TRANSACTION:
            raise ValueError(f"at most {MAX_EVENTS_PER_TRANSACTION} events per transaction")
        events = [event for item in appends for event in item.events]
        # One event in a transaction of its own: one statement, which also stores the keys of
        # new data subjects. Anything else: keys first, in their own statement.
        single = len(events) == 1 and idempotency_key is None and connection is None
        encoded, new_keys = await self._encode(events, store_keys=not single)
        db = connection or self._pool
        for attempt in range(_ANY_RETRIES + 1):
            try:
                if single:
                    results = await self._batcher.append(appends[0], encoded, context, new_keys)
                else:
                    results = await self._append_many(
                        db, appends, encoded, context, idempotency_key
                    )
                break
            except _KeyTaken:  # a concurrent append created the subject's key first: use it
                encoded, new_keys = await self._encode(events, store_keys=attempt > 0)
            except WrongExpectedVersion as conflict:
                if connection is None:  # committed (not a caller's transaction's own)
                    self._heads.saw(conflict.stream_id, conflict.actual)
                raise
            except asyncpg.UniqueViolationError as exc:
                conflict = await self._collision(exc, appends)
                # ANY only collides with a concurrent append to the same stream: try again.
                retry = (
                    isinstance(conflict, WrongExpectedVersion)
                    and conflict.expected == ANY
                    and connection is None
                )
                if not retry or attempt == _ANY_RETRIES:
                    raise conflict from exc
        else:  # unreachable: after one retry, keys are stored first and never taken
            raise RuntimeError("append did not complete")
        if connection is None:
            for result in results:
                self._heads.saw(result.stream_id, result.stream_version)
            self._wake.soon()
        return results

    async def _append_one(
        self,
        item: StreamAppend,
        encoded: _Encoded,
        context: Context,
        new_keys: list[tuple[str, str, bytes]],
    ) -> list[AppendResult]:
        return _appended(item, await self._one_row(item, encoded, context, new_keys))

    async def _one_row(
        self,
        item: StreamAppend,
        encoded: _Encoded,
        context: Context,
        new_keys: list[tuple[str, str, bytes]],
    ) -> _OneRow:
        """One single-event append as one statement (append_one.sql), answered as
        append_batch.sql answers for each of its appends: the stream's version before, the
        event's position and version (None when the stream was not at the expected version or
        a key was taken), and whether the new subject keys were stored."""
        (event_type,), (schema_version,), (payload,) = encoded
        args = [
            item.stream_id,
            item.expected,
            event_type,
            schema_version,
            payload,
            context.occurred_at or datetime.now(UTC),
            context.actor,
            context.correlation_id,
            context.causation_id,
        ]
        if new_keys:
            args += [list(column) for column in zip(*new_keys, strict=True)]
            actual, position, version, keys_ok = await self._pool.fetchrow(
                _APPEND_ONE_STORING_KEYS, *args
            )
            return actual, position, version, keys_ok
        actual, position, version = await self._pool.fetchrow(_APPEND_ONE, *args)
        return actual, position, version, True

    async def _append_many(
        self,
        db: _Db,
        appends: Sequence[StreamAppend],
        encoded: _Encoded,
        context: Context,
        idempotency_key: str | None,
    ) -> list[AppendResult]:
        types, versions, payloads = encoded
        streams = [item.stream_id for item in appends]
        expected = [item.expected for item in appends]
        request_hash = (
            _request_hash(streams, expected, types, versions, payloads)
            if idempotency_key is not None
            else None
        )
        rows = await db.fetch(
            _APPEND_MANY,
            streams,
            expected,
            [n for n, item in enumerate(appends, 1) for _ in item.events],
            types,
            versions,
            payloads,
            context.occurred_at or datetime.now(UTC),
            context.actor,
            context.correlation_id,
            context.causation_id,
            idempotency_key,
            request_hash,
        )
        if rows[0]["appended"] == len(payloads):
            return [AppendResult(r[0], r[3], r[4], r[5]) for r in rows]
        if idempotency_key is not None:  # a repeated request: its first result, whatever since
            replayed = await self._replay(db, idempotency_key, request_hash)
            if replayed is not None:
                return replayed
        for r in rows:
            if r["expected"] not in (ANY, r["actual"]):
                raise WrongExpectedVersion(r["stream_id"], r["expected"], r["actual"])
        raise ValueError(f"at most {MAX_EVENTS_PER_TRANSACTION} events per transaction")

    async def _replay(
        self, db: _Db, key: str, request_hash: bytes | None
    ) -> list[AppendResult] | None:
        row = await db.fetchrow(
            "SELECT request_hash, result FROM idempotency_keys WHERE key = $1", key
        )
        if row is None:
            return None
        if row["request_hash"] != request_hash:
            raise IdempotencyKeyReused(key)
        return msgspec.json.decode(row["result"], type=list[AppendResult])

    async def _collision(
        self, exc: asyncpg.UniqueViolationError, appends: Sequence[StreamAppend]
    ) -> Exception:
        """Two appends expected the same version: the later one gets a version conflict."""
        if exc.constraint_name != "events_stream_version_unique":
            return exc
        detail = exc.detail or ""
        item = next((a for a in appends if f"=({a.stream_id}, " in detail), appends[0])
        actual = await self._version(item.stream_id)
        return WrongExpectedVersion(item.stream_id, item.expected, actual)

    async def _version(self, stream_id: str) -> int:
        version = await self._pool.fetchval(
            "SELECT max(stream_version) FROM events WHERE stream_id = $1", stream_id
        )
        self._heads.saw(stream_id, version or 0)
        return version or 0

    def wake_readers(self) -> None:
        """Tell followers of the log to look again; call after committing an append made on
        your own connection (appends through the pool do it themselves)."""
        self._wake.soon()

    # -- reading ---------------------------------------------------------------------------

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        up_to: int | None = None,
        as_known_at: datetime | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events in version order; `as_known_at` keeps only those recorded by then."""
        rows = await self._pool.fetch(_READ_STREAM, stream_id, from_version, up_to, as_known_at)
        return await self._records(rows)

    async def existing_streams(self, stream_ids: Sequence[str]) -> set[str]:
        """Which of these streams have events."""
        rows = await self._pool.fetch(
            "SELECT stream_id FROM events WHERE stream_id = ANY($1::text[]) AND stream_version = 1",
            list(stream_ids),
        )
        return {r[0] for r in rows}

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 when it has no events."""
        return await self._version(stream_id)

    async def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        types: Sequence[str] | None = None,
    ) -> Page:
        """The next events of the whole log after a checkpoint, in global order, gap-safe.

        Only events of finished transactions below the oldest running one are returned, so a
        reader that follows checkpoints never skips an event committed late and never sees one
        twice. With `types`, the checkpoint still moves past the events it filtered out.
        """
        if types is None:
            events = await self._records(await self._pool.fetch(_READ_ALL, after, batch_size))
            return Page(events, events[-1].position if events else after)
        async with self._pool.acquire() as conn, _snapshot(conn):
            return await self.read_page(conn, after, batch_size=batch_size, types=types)

    async def read_page(
        self,
        conn: asyncpg.Connection,
        after: int,
        *,
        batch_size: int = 1000,
        types: Sequence[str] | None = None,
    ) -> Page:
        """`read_all` on the caller's connection, inside the caller's transaction.

        With `types`, the transaction must be REPEATABLE READ (one snapshot for the events
        and the horizon), as a projection runner's is: it reads and writes in one commit.
        """
        if types is None:
            events = await self._records(await conn.fetch(_READ_ALL, after, batch_size))
            return Page(events, events[-1].position if events else after)
        events = await self._records(await conn.fetch(_READ_TYPES, after, batch_size, list(types)))
        if len(events) == batch_size:
            return Page(events, events[-1].position)
        # less than a batch matched: everything safe up to the horizon was scanned
        horizon = await conn.fetchval(_HORIZON, after)
        return Page(events, horizon or after)

    async def head(self) -> int:
        """The highest position a reader can safely have read up to (0 for an empty log)."""
        return await self._pool.fetchval(
            f"SELECT coalesce(max(position), 0) FROM events WHERE {_SAFE}"
        )

    async def verify(self, stream_id: str | None = None) -> Verification:
        """Walk the hash chain of one stream or all; report each broken stream's first problem."""
        async with self._pool.acquire() as conn, _snapshot(conn):
            rows = await conn.fetch("SELECT * FROM jaga_verify($1)", stream_id)
            counts = await conn.fetchrow(
                """SELECT count(DISTINCT stream_id) AS streams, count(*) AS events FROM events
                   WHERE $1::text IS NULL OR stream_id = $1""",
                stream_id,
            )
        problems = [Problem(r[0], r[1], r[2], r[3]) for r in rows]
        return Verification(not problems, counts["streams"], counts["events"], problems)

    async def _encode(
        self, events: list[Event], *, store_keys: bool
    ) -> tuple[_Encoded, list[tuple[str, str, bytes]]]:
        """Types, schema versions and payloads; personal values sealed, never in the clear.

        New data subjects get their keys stored first (`store_keys`), or returned for the
        append to store (see Keyring.prepare)."""
        keys: dict[str, bytes | None] = {}
        new_keys: list[tuple[str, str, bytes]] = []
        sealed = [e for e in events if personal.plan_for(type(e)) is not None]
        if sealed:
            if self.keyring is None:
                raise personal.PersonalDataError(
                    "events with personal data need a keyring (master keys) to be appended"
                )
            subjects = set().union(*(personal.subjects_of(e) for e in sealed))
            if store_keys:
                keys = await self.keyring.get(subjects, create=True)
            else:
                keys, new_keys = await self.keyring.prepare(subjects)
        types, versions, payloads = [], [], []
        for event in events:
            event_type, schema_version = self.registry.describe(event)
            types.append(event_type)
            versions.append(schema_version)
            payloads.append(
                personal.seal(event, keys)
                if personal.plan_for(type(event)) is not None
                else self.registry.encode(event)
            )
        return (types, versions, payloads), new_keys

    async def _records(self, rows: list[asyncpg.Record]) -> list[RecordedEvent]:
        """Decode rows of the log: payloads at their current schema version with a cached
        per-type decoder, others through the upcasters; with a keyring, sealed personal values
        opened with their subjects' keys, read in one query for the page.

        A payload at its current version is decoded first and its personal fields opened in
        the struct (its plan says which: nothing else is touched). One that needs upcasting is
        opened in its JSON text first, so that upcasters see the values."""
        with _gc_paused():
            events, deferred = self._decode_rows(rows, opening=self.keyring is not None)
        if self.keyring is None:
            return events  # type: ignore[return-value]
        # Only events of types with personal fields (or set aside to be upcast) can hold sealed
        # values: most pages hold none, and are done after one look at their types.
        personal_types = {t for t in {r[4] for r in rows} if self._holds_personal_data(t)}
        sealed = [
            n
            for n, (r, record) in enumerate(zip(rows, events, strict=True))
            if record is None or r[4] in personal_types
        ] if personal_types or deferred else []  # fmt: skip
        if not sealed:
            return events  # type: ignore[return-value]
        subjects: set[str] = set()
        for n in sealed:
            record = events[n]
            if record is not None:
                personal.sealed_subjects_of(record.data, subjects)
            else:  # to be opened in its JSON text, then upcast
                subjects |= personal.sealed_subjects(rows[n][6])
        keys = await self.keyring.get(subjects)
        opener = personal.Opener(keys)
        with _gc_paused():
            for n in sealed:
                record = events[n]
                if record is None:
                    events[n] = self._record(rows[n], keys)
                    continue
                try:
                    data = opener.open(record.data)
                except (personal.PersonalDataError, InvalidTag) as exc:
                    raise _unopened(record.type, record.schema_version, rows[n], exc) from exc
                if data is not record.data:
                    events[n] = msgspec.structs.replace(record, data=data)
        return events  # type: ignore[return-value]

    def _holds_personal_data(self, event_type: str) -> bool:
        known = self._personal_types.get(event_type)
        if known is None:
            cls = self.registry.event_class(event_type)
            known = self._personal_types[event_type] = (
                cls is not None and personal.plan_for(cls) is not None
            )
        return known

    def _decode_rows(
        self, rows: list[asyncpg.Record], *, opening: bool
    ) -> tuple[list[RecordedEvent | None], bool]:
        """One pass, no await. Each payload is decoded on its own: joining a page into one JSON
        array costs three page-sized buffers (fresh memory, page faults) and saves nothing.

        With `opening`, a sealed payload that needs upcasting is left out (None, and the flag
        returned with the list says there are such), to be opened before it is decoded."""
        known = self._decoders
        try:  # the common case, as one comprehension
            return [
                RecordedEvent(p, s, v, e, t, sv, known[t, sv].decode(pl), o, r, a, c, ca, i, h, ph)
                for p, s, v, e, t, sv, pl, o, r, a, c, ca, i, h, ph in rows
            ], False  # fmt: skip
        except (KeyError, msgspec.DecodeError, msgspec.ValidationError):
            pass  # a type not seen yet, an older version, or a payload that does not decode
        decoders: dict[str, tuple[int, msgspec.json.Decoder[Any] | None]] = {}
        current = self.registry.current_decoder
        events: list[RecordedEvent | None] = []
        add = events.append
        deferred = False
        for r in rows:
            (position, stream_id, version, event_id, event_type, schema_version, payload,
             occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key,
             hash_, prev_hash) = r  # fmt: skip
            known_type = decoders.get(event_type)
            if known_type is None or known_type[0] != schema_version:
                known_type = decoders[event_type] = (
                    schema_version,
                    current(event_type, schema_version),
                )
            decoder = known_type[1]
            if decoder is None:
                if opening and personal.is_sealed(payload):
                    add(None)
                    deferred = True
                else:
                    add(self._record(r, {}))
                continue
            known[event_type, schema_version] = decoder
            try:
                data = decoder.decode(payload)
            except (msgspec.DecodeError, msgspec.ValidationError):
                add(self._record(r, {}))  # raises the error naming the event
                continue
            add(RecordedEvent(
                position, stream_id, version, event_id, event_type, schema_version, data,
                occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key,
                hash_, prev_hash,
            ))  # fmt: skip
        return events, deferred

    def _record(self, r: asyncpg.Record, keys: dict[str, bytes | None]) -> RecordedEvent:
        """One row decoded through the registry (upcasters, errors naming the event), its
        sealed values opened in the JSON text first when keys are given."""
        position, stream_id = r[0], r[1]
        event_type, schema_version, payload = r[4], r[5], r[6]
        if keys and personal.is_sealed(payload):
            try:
                payload = personal.open_sealed(payload, keys)
            except (personal.PersonalDataError, InvalidTag) as exc:
                raise _unopened(event_type, schema_version, r, exc) from exc
        data = self.registry.decode(
            event_type, schema_version, payload, position=position, stream_id=stream_id
        )
        return _recorded(r, data)


def _unopened(
    event_type: str, schema_version: int, r: asyncpg.Record, exc: Exception
) -> EventDecodeError:
    reason = f"personal data does not open: {exc!r}"
    return EventDecodeError(event_type, schema_version, r[0], r[1], reason)


class _KeyTaken(Exception):
    """A new subject key could not be stored with the append: one was created meanwhile."""


def _appended(item: StreamAppend, row: _OneRow) -> list[AppendResult]:
    """The result of a single-event append from its statement's answer (see `_one_row`)."""
    actual, position, version, keys_ok = row
    if not keys_ok:
        raise _KeyTaken
    if position is None or version is None:
        raise WrongExpectedVersion(item.stream_id, item.expected, actual)
    return [AppendResult(item.stream_id, version, position, position)]


def _recorded(r: asyncpg.Record, data: Event) -> RecordedEvent:
    """The envelope of a row of `_COLUMNS` around its decoded event."""
    return RecordedEvent(*r[:6], data, *r[7:])


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a page is decoded (synchronous code only).

    A page of 1,000 events allocates ~7,000 GC-tracked objects (asyncpg Records, UUIDs, lists)
    that all stay alive: collecting every 700 allocations promotes them generation by
    generation for nothing (a third of read_all's time). Paused, the page costs one young
    collection afterwards. Nothing is leaked: the collector runs again as soon as we return.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _snapshot(conn: asyncpg.Connection) -> Any:
    """A read-only transaction whose queries all see one snapshot of the log."""
    return conn.transaction(isolation="repeatable_read", readonly=True)


def _request_hash(
    streams: list[str],
    expected: list[int],
    types: list[str],
    versions: list[int],
    payloads: list[bytes],
) -> bytes:
    """What makes two requests under one idempotency key the same request."""
    digest = hashlib.sha256(msgspec.json.encode([streams, expected, types, versions]))
    for payload in payloads:
        digest.update(len(payload).to_bytes(8, "big"))
        digest.update(payload)
    return digest.digest()
