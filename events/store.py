"""The Postgres event store: append with optimistic concurrency, read streams and the log.

All writes go through the SQL function `jaga_append` (events/sql/0004_append.sql): one round
trip, all events or none. Reads are plain SELECTs. See README "Event store" for the guarantees.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID, uuid4

import asyncpg
import msgspec
from cryptography.exceptions import InvalidTag

from events import personal
from events.errors import (
    EventDecodeError,
    IdempotencyKeyReused,
    NotFirstWrite,
    WrongExpectedVersion,
)
from events.keyring import Keyring
from events.types import Event, EventRegistry, RecordedEvent

CHANNEL: Final = "jaga_events"
"""NOTIFY channel on which appends wake the followers of the log."""
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

# Below this transaction id every transaction has ended, so every event a reader can still
# see appear lies above everything it has read (see 0004_append.sql).
_SAFE = "transaction_id < pg_snapshot_xmin(pg_current_snapshot())"

_READ_ALL = f"""SELECT {_COLUMNS} FROM events WHERE position > $1 AND {_SAFE}
    ORDER BY position LIMIT $2"""
_READ_TYPES = f"""SELECT {_COLUMNS} FROM events
    WHERE position > $1 AND {_SAFE} AND event_type = ANY($3::text[])
    ORDER BY position LIMIT $2"""
_HORIZON = f"SELECT max(position) FROM events WHERE position > $1 AND {_SAFE}"

_SQLSTATE_CONFLICT = "JG001"
_SQLSTATE_KEY_REUSED = "JG002"
_SQLSTATE_NOT_FIRST = "JG003"


_ANY_RETRIES = 3


async def init_connection(conn: asyncpg.Connection) -> None:
    """Payloads travel as raw JSON bytes in both directions: no str round trip."""
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=bytes, decoder=bytes, format="binary"
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset: Jaga leaves no session state behind (asyncpg already rolls back open
    transactions and drops listeners), so skip the extra reset round trip per release."""


async def create_pool(dsn: str, **pool_args: Any) -> asyncpg.Pool:
    """An asyncpg pool set up for the event store (JSON codec, cheap release)."""
    return await asyncpg.create_pool(dsn, init=init_connection, reset=_keep_session, **pool_args)


class _Wake:
    """Coalesced NOTIFY after commit: at most one in flight, one more if appends came meanwhile.

    NOTIFY inside the append would take a server-wide lock through every commit; sent after
    commit it costs one small statement per burst of appends instead.
    """

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

    async def flush(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


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
        writes nothing; with a different request it raises IdempotencyKeyReused. Within a
        caller's transaction (`connection`), the append must come before any other write.
        """
        streams: list[str] = []
        expected: list[int] = []
        counts: list[int] = []
        for item in appends:
            if not item.events:
                raise ValueError(f"no events to append to stream {item.stream_id}")
            if item.expected < ANY:
                raise ValueError(f"bad expected version {item.expected}: not ≥ 0 nor ANY")
            streams.append(item.stream_id)
            expected.append(item.expected)
            counts.append(len(item.events))
        all_events = [event for item in appends for event in item.events]
        types, versions, payloads = await self._encode(all_events)
        if len(set(streams)) != len(streams):
            raise ValueError("each stream may appear once per append")
        request_hash = (
            _request_hash(streams, expected, types, versions, payloads)
            if idempotency_key is not None
            else None
        )
        args = (
            streams,
            expected,
            counts,
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
        sql = "SELECT * FROM jaga_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        for attempt in range(_ANY_RETRIES + 1):
            try:
                if connection is not None:
                    rows = await connection.fetch(sql, *args)
                else:
                    rows = await self._pool.fetch(sql, *args)
                break
            except asyncpg.PostgresError as exc:
                error = _translate(exc)
                # ANY never conflicts, except with a concurrent creation of the same stream.
                retry = (
                    isinstance(error, WrongExpectedVersion)
                    and error.expected == ANY
                    and connection is None
                    and attempt < _ANY_RETRIES
                )
                if not retry:
                    raise error from exc
        if connection is None:
            self._wake.soon()
        return [AppendResult(r[0], r[1], r[2], r[3]) for r in rows]

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
        rows = await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM events
                WHERE stream_id = $1 AND stream_version >= $2
                  AND ($3::bigint IS NULL OR stream_version <= $3)
                  AND ($4::timestamptz IS NULL OR recorded_at <= $4)
                ORDER BY stream_version""",
            stream_id,
            from_version,
            up_to,
            as_known_at,
        )
        return await self._records(rows)

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 when it has no events."""
        version = await self._pool.fetchval(
            "SELECT version FROM streams WHERE stream_id = $1", stream_id
        )
        return version or 0

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
            rows = await self._pool.fetch(_READ_ALL, after, batch_size)
            events = await self._records(rows)
            return Page(events, events[-1].position if events else after)
        async with self._pool.acquire() as conn, _snapshot(conn):
            rows = await conn.fetch(_READ_TYPES, after, batch_size, list(types))
            if len(rows) == batch_size:
                checkpoint = rows[-1][0]
            else:  # less than a batch matched: everything safe up to the horizon was scanned
                horizon = await conn.fetchval(_HORIZON, after)
                checkpoint = horizon or after
        return Page(await self._records(rows), checkpoint)

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

    async def _encode(self, events: list[Event]) -> tuple[list[str], list[int], list[bytes]]:
        """Types, schema versions and payloads; personal values sealed, never in the clear."""
        subjects = set().union(*(personal.subjects_of(e) for e in events))
        keys: dict[str, bytes | None] = {}
        if subjects:
            if self.keyring is None:
                raise personal.PersonalDataError(
                    "events with personal data need a keyring (master keys) to be appended"
                )
            keys = await self.keyring.get(subjects, create=True)
        types, versions, payloads = [], [], []
        for event in events:
            event_type, schema_version, payload = self.registry.encode(event)
            if personal.plan_for(type(event)) is not None:
                payload = personal.seal(event, keys)
            types.append(event_type)
            versions.append(schema_version)
            payloads.append(payload)
        return types, versions, payloads

    async def _records(self, rows: list[asyncpg.Record]) -> list[RecordedEvent]:
        keys: dict[str, bytes | None] = {}
        if self.keyring is not None:
            subjects = {
                s for r in rows if personal.is_sealed(r[6]) for s in personal.sealed_subjects(r[6])
            }
            if subjects:
                keys = await self.keyring.get(subjects)
        return [self._record(r, keys) for r in rows]

    def _record(self, r: asyncpg.Record, keys: dict[str, bytes | None]) -> RecordedEvent:
        position, stream_id = r[0], r[1]
        event_type, schema_version, payload = r[4], r[5], r[6]
        if keys and personal.is_sealed(payload):
            try:
                payload = personal.open_sealed(payload, keys)
            except (personal.PersonalDataError, InvalidTag) as exc:
                reason = f"personal data does not open: {exc!r}"
                raise EventDecodeError(
                    event_type, schema_version, position, stream_id, reason
                ) from exc
        data = self.registry.decode(
            event_type, schema_version, payload, position=position, stream_id=stream_id
        )
        return RecordedEvent(
            position, stream_id, r[2], r[3], event_type, schema_version, data,
            r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
        )  # fmt: skip


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


def _translate(exc: asyncpg.PostgresError) -> Exception:
    state = exc.sqlstate
    if state == _SQLSTATE_CONFLICT:
        detail = msgspec.json.decode(exc.detail or "{}")
        return WrongExpectedVersion(detail["stream_id"], detail["expected"], detail["actual"])
    if state == _SQLSTATE_KEY_REUSED:
        detail = msgspec.json.decode(exc.detail or "{}")
        return IdempotencyKeyReused(detail.get("idempotency_key", ""))
    if state == _SQLSTATE_NOT_FIRST:
        return NotFirstWrite(str(exc))
    return exc
