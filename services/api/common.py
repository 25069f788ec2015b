"""What every area of the API shares: command results, read-your-writes, idempotency keys and
cursors. One way to do each, so that every endpoint behaves the same.

- A command answers `CommandResult`: the global position of its last event and the resource
  it affected. A read given `min_position` waits (bounded) until the read models it uses have
  applied the log up to that position, instead of showing stale data.
- `Idempotency-Key`: the first response to a key is kept (per user) and returned again for a
  repeat of the same request; the same key with another request is refused (422). Every
  command endpoint runs its command through `run_command`.
- Lists page with opaque cursors (keyset pagination, never OFFSET).
- The parameter types and input guards several areas use (free text, ids, dates, scope).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, TypeVar

import asyncpg
import msgspec
from litestar import Request
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.plugins.problem_details import ProblemDetailsException

from events.store import AppendResult
from services.access import Principal
from services.api import problem
from services.domain.calendar import business_date
from services.domain.errors import ValidationFailed
from services.resources import db_pool

T = TypeVar("T")

MAX_WAIT_SECONDS = 5.0
"""The longest a read waits for the read models to reach `min_position`."""
_POLL_SECONDS = 0.02


class Resource(msgspec.Struct, frozen=True):
    """What a command affected: its kind, id and where to read it."""

    kind: str
    id: str
    href: str


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to every command: pass `position` as `min_position` to a later read to see
    the command's effect in the read models."""

    position: Annotated[int, msgspec.Meta(examples=[6879302384254977])]
    resource: Resource
    events: Annotated[list[str], msgspec.Meta(examples=[["PaymentRecorded", "ContributionPaid"]])]
    """The types of the events the command appended (empty when it changed nothing)."""


TRANSACTION_BITS = 20
"""A position is the writing transaction's id shifted this many bits left plus the event's
index in the transaction (events/sql/0001_event_log.sql)."""


async def command_result(
    pool: asyncpg.Pool, resource: Resource, streams: Sequence[str], position: int
) -> CommandResult:
    """The answer to a command that appended to `streams` in the transaction of `position`
    (0: nothing appended): the types of its events, read back in one range scan of that
    transaction's positions, and the position of the last one to wait for."""
    if not position:
        return CommandResult(position=0, resource=resource, events=[])
    first = position >> TRANSACTION_BITS << TRANSACTION_BITS
    rows = await pool.fetch(
        """SELECT position, event_type FROM events
           WHERE position BETWEEN $1 AND $2 AND stream_id = ANY($3::text[]) ORDER BY position""",
        first,
        first + (1 << TRANSACTION_BITS) - 1,
        list(streams),
    )
    last = rows[-1]["position"] if rows else position
    return CommandResult(position=last, resource=resource, events=[r[1] for r in rows])


Appended = tuple[list[str], int]
"""The streams a command appended to and the position of its last event (0: none)."""


def appended(results: Sequence[AppendResult]) -> Appended:
    """What the write side's append results say `command_result` needs."""
    return [r.stream_id for r in results], max((r.last_position for r in results), default=0)


MAX_POSITION = 2**63 - 1
"""Positions are PostgreSQL bigints."""

MinPosition = Annotated[
    int | None,
    Parameter(
        ge=0,
        le=MAX_POSITION,
        description="Wait (at most 5 s) until the read models have applied the log up to this "
        "position (a command's `position`), so the answer shows that command's effect.",
        examples=[Example(value=6879302384254977)],
    ),
]
"""A query parameter: Litestar enforces and documents `Parameter` constraints on parameters,
not `msgspec.Meta` ones (those only apply inside bodies)."""


async def await_read_models(
    pool: asyncpg.Pool,
    projections: Sequence[str],
    min_position: int | None,
    *,
    patience: float = MAX_WAIT_SECONDS,
) -> None:
    """Return once the active builds of `projections` have applied the log up to
    `min_position`; 503 (with Retry-After) when they have not within `patience` seconds, and
    422 at once for a position no event of the log has (no command returned it)."""
    if min_position is None:
        return
    deadline = time.monotonic() + patience
    checked_log = False
    while True:
        behind = await pool.fetchval(
            """SELECT count(*) FROM unnest($1::text[]) AS wanted(name)
               WHERE NOT EXISTS (SELECT 1 FROM projection_generations g
                                 WHERE g.name = wanted.name AND g.state = 'active'
                                   AND g.position >= $2)""",
            list(projections),
            min_position,
        )
        if not behind:
            return
        if not checked_log:
            checked_log = True
            last = await pool.fetchval("SELECT max(position) FROM events")
            if last is None or min_position > last:
                raise problem(
                    422, "unknown-position", "No such position",
                    f"min_position {min_position} is past the last event of the log "
                    f"({last or 0}): pass the position a command returned",
                )  # fmt: skip
        if time.monotonic() >= deadline:
            raise problem(
                503, "read-model-behind", "Read model not up to date yet",
                f"the read models ({', '.join(projections)}) have not reached position "
                f"{min_position} within {patience:g} s; retry shortly",
                headers={"Retry-After": "1"},
            )  # fmt: skip
        await asyncio.sleep(_POLL_SECONDS)


# -- idempotency keys ----------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_KEY = 200


async def idempotent(
    request: Request[Any, Any, Any],
    pool: asyncpg.Pool,
    body: object,
    run: Callable[[], Awaitable[T]],
    *,
    response_type: type[T],
) -> T:
    """Run a command once per `Idempotency-Key` (and user): a repeat with the same body gets
    the first answer; the same key with another body, or while the first is still running,
    is refused. Without the header the command simply runs."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return await run()
    if not 1 <= len(key) <= _MAX_KEY:
        raise problem(
            400, "bad-idempotency-key", "Bad Idempotency-Key",
            f"the {IDEMPOTENCY_HEADER} header must be 1 to {_MAX_KEY} characters",
        )  # fmt: skip
    user = getattr(request.user, "username", "")
    digest = hashlib.sha256(
        msgspec.json.encode([request.method, request.url.path, msgspec.to_builtins(body)])
    ).digest()
    claimed = await pool.fetchrow(
        """INSERT INTO api_idempotency (username, key, request_hash) VALUES ($1, $2, $3)
           ON CONFLICT (username, key) DO NOTHING RETURNING 1""",
        user,
        key,
        digest,
    )
    if claimed is None:
        row = await pool.fetchrow(
            "SELECT request_hash, response FROM api_idempotency WHERE username = $1 AND key = $2",
            user,
            key,
        )
        if row is None or bytes(row["request_hash"]) != digest:
            raise problem(
                422, "idempotency-key-reused", "Idempotency-Key reused",
                f"the {IDEMPOTENCY_HEADER} {key!r} was already used for a different request",
            )  # fmt: skip
        if row["response"] is None:
            raise problem(
                409, "idempotency-key-in-flight", "Request in progress",
                f"a request with {IDEMPOTENCY_HEADER} {key!r} is still being processed",
                headers={"Retry-After": "1"},
            )  # fmt: skip
        return msgspec.json.decode(row["response"], type=response_type)
    try:
        result = await run()
    except BaseException:
        await pool.execute(
            "DELETE FROM api_idempotency WHERE username = $1 AND key = $2 AND response IS NULL",
            user,
            key,
        )
        raise
    await pool.execute(
        "UPDATE api_idempotency SET response = $3 WHERE username = $1 AND key = $2",
        user,
        key,
        msgspec.json.encode(result),
    )
    return result


async def run_command(
    request: Request[Any, Any, Any],
    body: object,
    run: Callable[[], Awaitable[T]],
    *,
    response_type: type[T],
) -> T:
    """Run an endpoint's command once per `Idempotency-Key` and user (`idempotent`), the keys
    kept through the app's database pool: the one way every command endpoint does it, so that
    none forgets the header or keeps its keys elsewhere. `run` makes the command's checks (a
    check that refuses frees the key again), calls the service and builds the answer (from
    the events appended: `command_result`); `body` tells requests to the same path apart (the
    parsed body, or the path's ids when there is none)."""
    pool = db_pool(request.app.state)
    return await idempotent(request, pool, body, run, response_type=response_type)


# -- cursors -------------------------------------------------------------------------------------

Limit = Annotated[
    int,
    Parameter(
        ge=1, le=200, description="Items per page (at most 200)", examples=[Example(value=50)]
    ),
]
Cursor = Annotated[
    str | None,
    Parameter(
        max_length=500, pattern=r"^[A-Za-z0-9_-]+$",
        description="`next_cursor` of the previous page",
        examples=[Example(value="WzY4NzkzMDIzODQyNTQ5Nzdd")],
    ),
]  # fmt: skip


class Page(msgspec.Struct, frozen=True):
    """One page of a list; pass `next_cursor` as `cursor` for the next (null: the last page)."""

    items: list[Any]
    next_cursor: str | None


def encode_cursor(key: Sequence[Any]) -> str:
    """An opaque cursor for the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, *, width: int, kinds: Sequence[type] | None = None
) -> list[Any] | None:
    """The sort key in a cursor; 400 for a cursor this API did not make. Only scalars are
    accepted, integers within PostgreSQL's bigint; with `kinds`, each part must be of its
    kind (a forged cursor must never reach a query as a value of the wrong type)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != width
        or not all(_scalar(part) for part in key)
        or (kinds is not None and not all(map(_of_kind, key, kinds)))
    ):
        raise bad_cursor()
    return key


def bad_cursor() -> ProblemDetailsException:
    """The problem for a cursor this API did not make."""
    return problem(400, "bad-cursor", "Bad cursor", "the cursor is not one this API returned")


def cursor_instant(value: Any) -> datetime:
    """A timestamp from a cursor (400 when it is not one)."""
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        raise bad_cursor()
    return instant


def _scalar(part: object) -> bool:
    if isinstance(part, int) and not isinstance(part, bool):
        return -MAX_POSITION - 1 <= part <= MAX_POSITION
    return part is None or isinstance(part, str | float | bool)


def _of_kind(part: object, kind: type) -> bool:
    return isinstance(part, kind) and (kind is bool or not isinstance(part, bool))


# -- input shared by the areas -------------------------------------------------------------------

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""One line of free text: no control characters (a NUL cannot be stored in a read model)."""
MULTILINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Free text that may run over lines (a chronology, a statement)."""
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"
"""Ids given in paths and bodies: uuids, cohort ids and accident ids given by clients."""
IdParam = Annotated[str, Parameter(pattern=ID_PATTERN, description="The resource's id.")]
Id = Annotated[
    str, msgspec.Meta(pattern=ID_PATTERN, examples=["3f1c2a9e-0b7d-5e41-9a7c-2d8e6f4b1a03"])
]
CohortFilter = Annotated[
    str | None,
    Parameter(
        pattern=ID_PATTERN, description="Only this cohort's.", examples=[Example(value="kph2025")]
    ),
]
ParticipantFilter = Annotated[
    str | None,
    Parameter(
        pattern=ID_PATTERN, description="Only this participant's.",
        examples=[Example(value="3f1c2a9e-0b7d-5e41-9a7c-2d8e6f4b1a03")],
    ),
]  # fmt: skip

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
"""Business dates outside are typing errors (and would overflow calendar arithmetic)."""
_CLOCK_SKEW = timedelta(minutes=5)

AsOf = Annotated[
    date | None,
    Parameter(
        description=f"The business date (Jakarta, {EARLIEST} to {LATEST}) to compute for; "
        "default today.",
        examples=[Example(value="2025-12-31")],
    ),
]  # fmt: skip
Money = Annotated[int, msgspec.Meta(ge=0, le=10**15, description="Rupiah, whole.")]


def business_today() -> date:
    """Today in Asia/Jakarta: the business date reads are worked out for by default."""
    return business_date(datetime.now(UTC))


def check_day(value: date | None, field: str) -> None:
    """422 for a business date outside EARLIEST..LATEST."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValidationFailed.one(field, f"{value} is not between {EARLIEST} and {LATEST}")


def check_past_instant(value: datetime | None, field: str) -> None:
    """An instant that already happened (allowing for clock skew), from 2000 on."""
    if value is None:
        return
    if value.utcoffset() is None:
        raise ValidationFailed.one(field, "an instant with its time zone")
    if value < datetime(EARLIEST.year, 1, 1, tzinfo=UTC):
        raise ValidationFailed.one(field, f"{value.isoformat()} is before {EARLIEST}")
    if value > datetime.now(UTC) + _CLOCK_SKEW:
        raise ValidationFailed.one(field, f"{value.isoformat()} is in the future")


def scope_of(principal: Principal) -> list[str] | None:
    """The kecamatan codes a user's lists are limited to, for SQL (`= ANY`); None: the whole
    regency."""
    return sorted(principal.kecamatan) if principal.kecamatan else None
