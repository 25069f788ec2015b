"""What every endpoint shares (services/api/common.py) against the session's PostgreSQL:
read-your-writes over projection checkpoints, Idempotency-Key, keyset cursors."""

from __future__ import annotations

import ast
import asyncio
import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Request
from litestar.plugins.problem_details import ProblemDetailsException

from events.catalog import KpjRecorded
from events.errors import WrongExpectedVersion
from events.store import ANY, Context, EventStore
from services.access import Principal, Role
from services.api import common
from services.api.common import (
    MAX_POSITION,
    CommandResult,
    Resource,
    await_read_models,
    decode_cursor,
    encode_cursor,
    idempotent,
)
from services.api.problems import conflict_problem

# -- read-your-writes ------------------------------------------------------------------------------


@pytest.fixture
async def projection(api_store: EventStore) -> AsyncIterator[str]:
    """A read model of the test's own in projection_generations, serving up to position 100
    (of a log that has events further on: positions are (xid << 20) + index)."""
    name = f"test_common_{uuid4().hex[:8]}"
    participant = f"test-common-{uuid4().hex[:8]}"
    await api_store.append(
        f"participant-{participant}", [KpjRecorded(participant_id=participant, kpj="1")], ANY,
        context=Context(actor="test:common"),
    )  # fmt: skip
    await api_store.pool.execute(
        """INSERT INTO projection_generations (name, generation, version, schema_name, state,
               position) VALUES ($1, 1, 1, $2, 'active', 100)""",
        name,
        f"proj_{name}_g1",
    )
    yield name
    await api_store.pool.execute("DELETE FROM projection_generations WHERE name = $1", name)


async def test_a_read_model_already_there_answers_at_once(
    api_store: EventStore, projection: str
) -> None:
    began = time.monotonic()
    await await_read_models(api_store.pool, [projection], 100)
    await await_read_models(api_store.pool, [projection], None)  # no position: no wait at all
    assert time.monotonic() - began < 0.5


async def test_a_read_waits_for_the_read_model_to_reach_the_position(
    api_store: EventStore, projection: str
) -> None:
    async def catch_up() -> None:
        await asyncio.sleep(0.2)
        await api_store.pool.execute(
            "UPDATE projection_generations SET position = 150 WHERE name = $1", projection
        )

    began = time.monotonic()
    await asyncio.gather(await_read_models(api_store.pool, [projection], 150), catch_up())
    assert 0.2 <= time.monotonic() - began < 2


async def test_a_read_model_still_behind_is_a_503_with_retry_after(
    api_store: EventStore, projection: str
) -> None:
    began = time.monotonic()
    with pytest.raises(ProblemDetailsException) as behind:
        await await_read_models(api_store.pool, [projection], 101, patience=0.3)
    assert 0.3 <= time.monotonic() - began < 2
    problem = behind.value
    assert (problem.status_code, problem.type_) == (503, "urn:jaga:problem:read-model-behind")
    assert problem.headers == {"Retry-After": "1"}
    assert projection in str(problem.detail) and "101" in str(problem.detail)

    # a projection without a serving build is behind too
    with pytest.raises(ProblemDetailsException):
        await await_read_models(api_store.pool, [projection, "no_such_model"], 1, patience=0.05)


async def test_a_position_past_the_log_is_refused_at_once(
    api_store: EventStore, projection: str
) -> None:
    last = await api_store.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    began = time.monotonic()
    with pytest.raises(ProblemDetailsException) as unknown:
        await await_read_models(api_store.pool, [projection], last + 1_000)
    assert time.monotonic() - began < 1  # no waiting for what can never come
    assert (unknown.value.status_code, unknown.value.type_) == (
        422, "urn:jaga:problem:unknown-position",
    )  # fmt: skip


# -- Idempotency-Key -------------------------------------------------------------------------------


class Paid(msgspec.Struct, frozen=True):
    amount: int


def command_request(key: str | None, user: str, path: str = "/payments") -> Request[Any, Any, Any]:
    """A request as Litestar hands it to a command handler: method, path, header, user."""
    headers = [(b"idempotency-key", key.encode())] if key is not None else []
    principal = Principal(user, frozenset({Role.FINANCE}))
    return Request({
        "type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
        "root_path": "", "scheme": "http", "server": ("testserver", 80), "query_string": b"",
        "headers": headers, "user": principal, "path_params": {}, "state": {},
    })  # fmt: skip


class Command:
    """A command that counts its runs, and can be held mid-run or made to fail."""

    def __init__(self) -> None:
        self.runs = 0
        self.started = asyncio.Event()
        self.hold: asyncio.Event | None = None
        self.fail = False

    async def __call__(self) -> CommandResult:
        self.runs += 1
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail:
            raise RuntimeError("the bank is down")
        return CommandResult(
            position=1000 + self.runs, resource=Resource("payment", "p-1", "/payments/p-1"),
            events=["PaymentRecorded"],
        )  # fmt: skip


async def run(
    store: EventStore, request: Request[Any, Any, Any], body: object, command: Command
) -> CommandResult:
    return await idempotent(request, store.pool, body, command, response_type=CommandResult)


async def test_a_repeat_gets_the_first_answer_and_runs_nothing(api_store: EventStore) -> None:
    user, key, command = f"u{uuid4().hex[:8]}", str(uuid4()), Command()
    first = await run(api_store, command_request(key, user), Paid(16_800), command)
    again = await run(api_store, command_request(key, user), Paid(16_800), command)
    assert again == first and command.runs == 1

    # another user's key is another key; no key at all runs every time
    other = await run(api_store, command_request(key, user + "x"), Paid(16_800), command)
    assert other.position == 1002
    await run(api_store, command_request(None, user), Paid(16_800), command)
    await run(api_store, command_request(None, user), Paid(16_800), command)
    assert command.runs == 4


async def test_the_same_key_with_another_request_is_422(api_store: EventStore) -> None:
    user, key, command = f"u{uuid4().hex[:8]}", str(uuid4()), Command()
    await run(api_store, command_request(key, user), Paid(16_800), command)
    for request, body in (
        (command_request(key, user), Paid(33_600)),  # another body
        (command_request(key, user, "/payments/p-1/reversal"), Paid(16_800)),  # another route
    ):
        with pytest.raises(ProblemDetailsException) as reused:
            await run(api_store, request, body, command)
        assert (reused.value.status_code, reused.value.type_) == (
            422, "urn:jaga:problem:idempotency-key-reused",
        )  # fmt: skip
    assert command.runs == 1


async def test_a_repeat_while_the_first_runs_is_409_in_flight(api_store: EventStore) -> None:
    user, key, command = f"u{uuid4().hex[:8]}", str(uuid4()), Command()
    command.hold = asyncio.Event()
    first = asyncio.create_task(run(api_store, command_request(key, user), Paid(1), command))
    await command.started.wait()
    with pytest.raises(ProblemDetailsException) as in_flight:
        await run(api_store, command_request(key, user), Paid(1), command)
    assert (in_flight.value.status_code, in_flight.value.type_) == (
        409, "urn:jaga:problem:idempotency-key-in-flight",
    )  # fmt: skip
    assert in_flight.value.headers == {"Retry-After": "1"}
    command.hold.set()
    answered = await first
    assert await run(api_store, command_request(key, user), Paid(1), command) == answered
    assert command.runs == 1


async def test_a_failed_command_releases_its_key(api_store: EventStore) -> None:
    user, key, command = f"u{uuid4().hex[:8]}", str(uuid4()), Command()
    command.fail = True
    with pytest.raises(RuntimeError):
        await run(api_store, command_request(key, user), Paid(1), command)
    command.fail = False
    retried = await run(api_store, command_request(key, user), Paid(1), command)
    assert (retried.position, command.runs) == (1002, 2)


async def test_a_key_must_be_1_to_200_characters(api_store: EventStore) -> None:
    for key in ("", "k" * 201):
        with pytest.raises(ProblemDetailsException) as bad:
            await run(api_store, command_request(key, "u"), Paid(1), Command())
        assert (bad.value.status_code, bad.value.type_) == (
            400, "urn:jaga:problem:bad-idempotency-key",
        )  # fmt: skip


def test_only_run_command_calls_idempotent() -> None:
    """One way for an endpoint to run a command once per key: through `run_command`, which
    keeps the keys on the app's pool, never by calling `idempotent` itself."""
    callers = set()
    for path in sorted(Path(common.__file__).parent.glob("*.py")):
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)]
                if any(getattr(call.func, "id", None) == "idempotent" for call in calls):
                    callers.add(f"{path.name}:{function.name}")
    assert callers == {"common.py:run_command"}


# -- cursors ---------------------------------------------------------------------------------------

keys = st.lists(
    st.one_of(
        st.integers(-(2**63), MAX_POSITION), st.text(max_size=30), st.booleans(), st.none(),
    ),
    min_size=1, max_size=4,
)  # fmt: skip


@given(keys)
def test_a_cursor_gives_back_the_key_it_was_made_of(key: list[Any]) -> None:
    cursor = encode_cursor(key)
    assert "=" not in cursor and decode_cursor(cursor, width=len(key)) == key
    assert decode_cursor(None, width=len(key)) is None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "width", "kinds"),
    [
        ("not base64 at all!", 1, None),
        (_b64(b"not json"), 1, None),
        (_b64(b'{"a": 1}'), 1, None),  # not a list
        (encode_cursor([1, 2]), 1, None),  # another width
        (encode_cursor([[1]]), 1, None),  # not a scalar
        (_b64(b"[99999999999999999999999]"), 1, None),  # beyond bigint
        (encode_cursor(["6879302384254977"]), 1, (int,)),  # a string where a position goes
        (encode_cursor([True]), 1, (int,)),  # a boolean is no position either
    ],
)
def test_a_cursor_this_api_did_not_make_is_400(
    cursor: str, width: int, kinds: tuple[type, ...] | None
) -> None:
    with pytest.raises(ProblemDetailsException) as bad:
        decode_cursor(cursor, width=width, kinds=kinds)
    assert (bad.value.status_code, bad.value.type_) == (400, "urn:jaga:problem:bad-cursor")


def test_a_cursor_of_the_right_kinds_passes() -> None:
    cursor = encode_cursor([6879302384254977, "p-1"])
    assert decode_cursor(cursor, width=2, kinds=(int, str)) == [6879302384254977, "p-1"]


def test_a_version_conflict_that_reaches_the_api_is_a_409_naming_the_stream() -> None:
    found = conflict_problem(WrongExpectedVersion("claim-c1", 3, 4))
    assert found.status_code == 409
    assert found.type_ == "urn:jaga:problem:version-conflict"
    assert found.extra == {"stream_id": "claim-c1", "expected": 3, "actual": 4}
    assert "nothing was recorded" in str(found.detail)
