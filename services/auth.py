"""User accounts, passwords and API tokens: the I/O around the user decider (services/users.py).

Facts about accounts (created, roles changed, disabled, password set) are events in
`user-<username>`, so an auditor sees who could do what and when. Secrets are kept out of the
log on purpose, in tables of their own (services/sql/): argon2id password hashes and the
SHA-256 of each API token. A change of roles or disabling a user revokes all their tokens in
the same transaction as the event, so nobody keeps rights they just lost.

A token is opaque (`secrets.token_urlsafe(32)`) and carries the user's roles and scope as of
its issue. Checking one is one indexed SELECT; a valid token is then trusted for at most
`TOKEN_CACHE_SECONDS` in this process, so the API pays for the database round trip at most
once a second per token, and a revocation elsewhere takes effect within that second.

Login is rate-limited in Redis (`Logins`): after `max_failures` failed attempts for a
username, or from one client address, within `window`, further attempts are refused
until the window ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from events.errors import WrongExpectedVersion
from events.migrations import Migration, load_folder
from events.store import Context, EventStore
from events.types import Event
from services import users
from services.access import Principal, Role
from services.decider import MAX_ATTEMPTS, Decider, StateCache, back_off
from services.domain.errors import NotFound, ValidationFailed
from services.domain.regions import Regions
from services.users import (
    ChangeUserRoles,
    CreateUser,
    DisableUser,
    EnableUser,
    SetPassword,
    UserState,
    normalise_username,
    user_stream,
)

TOKEN_CACHE_SECONDS = 1.0
TOKEN_CACHE_SIZE = 10_000
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is written at most this often per token: a write per request would cost
the API more than the check itself."""


def migrations() -> list[Migration]:
    """The tables kept outside the log (credentials, API tokens), namespace `services`."""
    return load_folder("services", Path(str(resources.files("services") / "sql")))


# -- refusals ------------------------------------------------------------------------------------


class AuthError(Exception):
    """Base of the refusals of login and token checks (the API answers them with 401/429)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidCredentials(AuthError):
    """Unknown user or wrong password: deliberately not saying which."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class AccountDisabled(AuthError):
    """Right password, but the account is disabled (said only to who knows the password)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"the account {username!r} is disabled")


class LoginThrottled(AuthError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class InvalidToken(AuthError):
    """A token that is unknown, expired or revoked."""


# -- tokens --------------------------------------------------------------------------------------


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    principal: Principal
    issued_at: datetime
    expires_at: datetime


class TokenRow(msgspec.Struct, frozen=True):
    username: str
    roles: list[str]
    kecamatan: list[str]
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def token_hash(token: str) -> bytes:
    """What the database keeps of a token: enough to recognise it, useless to present."""
    return hashlib.sha256(token.encode()).digest()


def token_principal(row: TokenRow, now: datetime) -> Principal:
    """Whom a stored token stands for at `now`, or why it is refused."""
    if row.revoked_at is not None:
        raise InvalidToken("the token was revoked; log in again")
    if row.expires_at <= now:
        raise InvalidToken("the token has expired; log in again")
    return Principal(row.username, frozenset(map(Role, row.roles)), frozenset(row.kecamatan))


class _Cached(msgspec.Struct, frozen=True):
    principal: Principal
    expires_at: datetime
    checked: float  # time.monotonic() of the database check


# -- accounts ------------------------------------------------------------------------------------

_SELECT_TOKEN = """
    SELECT username, roles, kecamatan, expires_at, revoked_at, last_used_at
      FROM api_tokens WHERE token_hash = $1
"""
_REVOKE_USER_TOKENS = """
    UPDATE api_tokens SET revoked_at = $2 WHERE username = $1 AND revoked_at IS NULL
"""
_STORE_PASSWORD = """
    INSERT INTO user_credentials (username, password_hash, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (username) DO UPDATE SET password_hash = $2, updated_at = $3
"""


_Alongside = Callable[[asyncpg.Connection, str], Awaitable[None]]
"""What a change of a user does outside the log, in the transaction of its events."""


class Accounts:
    """Officers' accounts: commands on them, their passwords, and the tokens they log in with.

    `by` on each command is who gives it (an administrator through the API, or the operator
    on the server through the CLI); `context` carries the actor recorded on the events.
    """

    def __init__(
        self,
        store: EventStore,
        regions: Regions,
        *,
        token_lifetime: timedelta,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._kecamatan = frozenset(regions.kecamatan)
        self._token_lifetime = token_lifetime
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self._clock = clock
        self._users: StateCache[UserState] = StateCache(
            Decider(UserState(), users.evolve, lambda c, s: [])  # type: ignore[arg-type]
        )
        self._tokens: dict[bytes, _Cached] = {}
        self._decoy: str | None = None

    # -- reading ---------------------------------------------------------------------------------

    async def user(self, username: str) -> UserState:
        state = await self._state(normalise_username(username))
        if state.status == "none":
            raise NotFound("user", username)
        return state

    async def _state(self, username: str) -> UserState:
        state, _ = await self._users.load(self._store, user_stream(username))
        return state

    # -- commands --------------------------------------------------------------------------------

    async def create(
        self, command: CreateUser, password: str, by: Principal, context: Context
    ) -> UserState:
        """A new account with its first password (checked before anything is hashed)."""
        setting = SetPassword(username=command.username, password=password)
        hashed = await self._hash(command.username, password)

        def decide(state: UserState) -> list[Event]:
            created = self._decide(command, state, by)
            return created + self._decide(setting, users.evolve(state, created[0]), by)

        return await self._change(command.username, decide, context, self._stored(hashed))

    async def change_roles(
        self, command: ChangeUserRoles, by: Principal, context: Context
    ) -> UserState:
        """New roles and scope; every token of the user is revoked with it."""
        return await self._change(
            command.username, lambda s: self._decide(command, s, by), context, self._revoke_all
        )

    async def disable(self, command: DisableUser, by: Principal, context: Context) -> UserState:
        """No more logins; every token of the user is revoked with it."""
        return await self._change(
            command.username, lambda s: self._decide(command, s, by), context, self._revoke_all
        )

    async def enable(self, command: EnableUser, by: Principal, context: Context) -> UserState:
        return await self._change(
            command.username, lambda s: self._decide(command, s, by), context, None
        )

    async def set_password(self, command: SetPassword, by: Principal, context: Context) -> None:
        """A new password (the tokens already issued stay valid: the rights did not change)."""
        hashed = await self._hash(command.username, command.password)
        await self._change(
            command.username, lambda s: self._decide(command, s, by), context,
            self._stored(hashed),
        )  # fmt: skip

    def _decide(self, command: users.UserCommand, state: UserState, by: Principal) -> list[Event]:
        return users.decide(command, state, by, self._kecamatan)

    async def _hash(self, username: str, password: str) -> str:
        """The argon2id hash, computed before any transaction opens (it takes a while), of a
        password the decider will accept (so nothing is hashed in vain)."""
        if errors := users.check_password(username, password):
            raise ValidationFailed(errors)
        return await asyncio.to_thread(self._hasher.hash, password)

    def _stored(self, hashed: str) -> _Alongside:
        async def store(conn: asyncpg.Connection, username: str) -> None:
            await conn.execute(_STORE_PASSWORD, username, hashed, self._clock())

        return store

    async def _revoke_all(self, conn: asyncpg.Connection, username: str) -> None:
        await conn.execute(_REVOKE_USER_TOKENS, username, self._clock())
        for digest, cached in list(self._tokens.items()):
            if cached.principal.username == username:
                del self._tokens[digest]

    async def _change(
        self,
        username: str,
        decide: Callable[[UserState], list[Event]],
        context: Context,
        alongside: _Alongside | None,
    ) -> UserState:
        """Decide against the user's stream as it is and append at its version, together with
        what the change does outside the log (`alongside`: a password, token revocation) in
        one transaction; when another writer came first, decide again."""
        stream = user_stream(username)
        async with self._users.lock(stream):
            for attempt in range(MAX_ATTEMPTS):
                state, version = await self._users.load(self._store, stream)
                events = decide(state)
                if not events:
                    return state
                try:
                    async with self._store.pool.acquire() as conn, conn.transaction():
                        await self._store.append(
                            stream, events, version, context=context,
                            connection=conn,
                        )  # fmt: skip
                        if alongside is not None:
                            await alongside(conn, username)
                except WrongExpectedVersion:
                    await back_off(attempt)
                    continue
                self._store.wake_readers()
                state, _ = await self._users.load(self._store, stream)
                return state
        raise RuntimeError(f"user {username}: too many concurrent changes")

    # -- logging in and out ----------------------------------------------------------------------

    async def login(self, username: str, password: str) -> IssuedToken:
        """A token for the user's current rights, when the password is right and the account
        enabled. An unknown user costs as much time as a known one (no guessing of names)."""
        username = normalise_username(username)
        state = await self._state(username)
        stored = await self._store.pool.fetchval(
            "SELECT password_hash FROM user_credentials WHERE username = $1", username
        )
        known = state.status != "none" and stored is not None
        verified = await self._verify(stored if known else await self._decoy_hash(), password)
        if not (known and verified):
            raise InvalidCredentials()
        if state.status == "disabled":
            raise AccountDisabled(username)
        if self._hasher.check_needs_rehash(stored):  # stronger parameters since it was set
            hashed = await asyncio.to_thread(self._hasher.hash, password)
            await self._store.pool.execute(_STORE_PASSWORD, username, hashed, self._clock())
        return await self._issue(state.principal)

    async def _verify(self, stored: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _decoy_hash(self) -> str:
        if self._decoy is None:
            self._decoy = await asyncio.to_thread(self._hasher.hash, secrets.token_urlsafe(16))
        return self._decoy

    async def _issue(self, principal: Principal) -> IssuedToken:
        token = secrets.token_urlsafe(32)
        issued_at = self._clock()
        expires_at = issued_at + self._token_lifetime
        await self._store.pool.execute(
            "INSERT INTO api_tokens (token_hash, username, roles, kecamatan, issued_at, "
            "expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            token_hash(token), principal.username, sorted(principal.roles),
            sorted(principal.kecamatan), issued_at, expires_at,
        )  # fmt: skip
        return IssuedToken(token, principal, issued_at, expires_at)

    async def logout(self, token: str) -> None:
        """Revoke this one token."""
        digest = token_hash(token)
        self._tokens.pop(digest, None)
        await self._store.pool.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
            digest, self._clock(),
        )  # fmt: skip

    async def authenticate(self, token: str) -> Principal:
        """Whom a presented token stands for; raises InvalidToken."""
        digest = token_hash(token)
        now = self._clock()
        cached = self._tokens.get(digest)
        if cached is not None and time.monotonic() - cached.checked < TOKEN_CACHE_SECONDS:
            if cached.expires_at <= now:
                raise InvalidToken("the token has expired; log in again")
            return cached.principal
        found = await self._store.pool.fetchrow(_SELECT_TOKEN, digest)
        if found is None:
            raise InvalidToken("unknown token")
        row = TokenRow(**dict(found))
        principal = token_principal(row, now)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            await self._store.pool.execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1", digest, now
            )
        if len(self._tokens) >= TOKEN_CACHE_SIZE:
            self._tokens.clear()
        self._tokens[digest] = _Cached(principal, row.expires_at, time.monotonic())
        return principal


# -- throttled login -----------------------------------------------------------------------------


def throttled_for(failures: Sequence[tuple[int, int]], max_failures: int) -> int | None:
    """Seconds to wait before another login, from the (failure count, seconds left in its
    window) of each counter that applies; None when no counter has reached the limit."""
    waits = [max(1, left) for count, left in failures if count >= max_failures]
    return max(waits) if waits else None


class Logins:
    """Login with failures counted in Redis per username and per client address: a fixed
    window opens at the first failure; at `max_failures` the next attempts are refused until
    it closes. A successful login clears the username's count, not the address's: whoever
    logs in to their own account must not win more guesses at other accounts from there."""

    def __init__(
        self,
        accounts: Accounts,
        redis: Redis,
        *,
        key_prefix: str,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
    ) -> None:
        self._accounts = accounts
        self._redis = redis
        self._prefix = f"{key_prefix}:login-failures"
        self._max_failures = max_failures
        self._window = int(window.total_seconds())

    async def login(self, username: str, password: str, client: str) -> IssuedToken:
        """A token, or InvalidCredentials / AccountDisabled / LoginThrottled."""
        username = normalise_username(username)
        keys = (f"{self._prefix}:user:{username}", f"{self._prefix}:client:{client}")
        await self._check(keys)
        try:
            issued = await self._accounts.login(username, password)
        except (InvalidCredentials, AccountDisabled):
            await self._failed(keys)
            raise
        await self._redis.delete(keys[0])
        return issued

    async def _check(self, keys: tuple[str, str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
                pipe.ttl(key)
            found = await pipe.execute()
        counts = [(int(found[i] or 0), int(found[i + 1])) for i in range(0, len(found), 2)]
        wait = throttled_for(counts, self._max_failures)
        if wait is not None:
            raise LoginThrottled(wait)

    async def _failed(self, keys: tuple[str, str]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)
            await pipe.execute()
