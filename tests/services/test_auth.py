"""Accounts, passwords, tokens and throttled login against real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis

from events.store import Context, EventStore
from services import bootstrap
from services.access import Principal, Role
from services.auth import (
    AccountDisabled,
    Accounts,
    InvalidCredentials,
    InvalidToken,
    Logins,
    LoginThrottled,
    throttled_for,
)
from services.config import Settings
from services.domain.errors import NotFound, ValidationFailed
from services.domain.regions import default_regions
from services.users import ChangeUserRoles, CreateUser, DisableUser, EnableUser, SetPassword
from tests.services.conftest import TODAY

ROOT = Principal("root", frozenset({Role.ADMIN}))
BY_ROOT = Context(actor=ROOT.actor)
PASSWORD = "kopi-kepahiang-2025"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2id, cheap for tests


class Clock:
    def __init__(self) -> None:
        self.now = TODAY

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(domain_store: EventStore, clock: Clock) -> Accounts:
    return Accounts(
        domain_store, default_regions(), token_lifetime=timedelta(hours=12), hasher=FAST,
        clock=clock,
    )  # fmt: skip


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def logins(accounts: Accounts, redis: Redis, redis_namespace: str) -> Logins:
    return Logins(accounts, redis, key_prefix=f"{redis_namespace}:{uuid4().hex[:8]}")


def a_username() -> str:
    return f"u{uuid4().hex[:10]}"


async def a_user(
    accounts: Accounts, roles: tuple[str, ...] = ("registrar",), kecamatan: tuple[str, ...] = ()
) -> str:
    username = a_username()
    command = CreateUser(
        username=username, display_name="Sari Wulandari", roles=list(roles),
        kecamatan=list(kecamatan),
    )  # fmt: skip
    await accounts.create(command, PASSWORD, ROOT, BY_ROOT)
    return username


async def test_a_created_user_logs_in_and_their_token_stands_for_them(
    accounts: Accounts, domain_store: EventStore
) -> None:
    username = await a_user(accounts, ("registrar", "claim_officer"), ("17.08.01",))

    issued = await accounts.login(username, PASSWORD)

    expected = Principal(
        username, frozenset({Role.REGISTRAR, Role.CLAIM_OFFICER}), frozenset({"17.08.01"})
    )
    assert issued.principal == expected
    assert issued.expires_at == TODAY + timedelta(hours=12)
    assert await accounts.authenticate(issued.token) == expected
    recorded = await domain_store.read_stream(f"user-{username}")
    assert [(r.type, r.actor) for r in recorded] == [
        ("UserCreated", "user:root"),
        ("UserPasswordSet", "user:root"),
    ]
    assert recorded[1].data.set_by == "root"


async def test_usernames_are_compared_in_lower_case(accounts: Accounts) -> None:
    username = await a_user(accounts)
    issued = await accounts.login(f" {username.upper()} ", PASSWORD)
    assert issued.principal.username == username
    assert (await accounts.user(username.upper())).username == username


async def test_secrets_never_reach_the_log_and_only_hashes_reach_the_database(
    accounts: Accounts, domain_store: EventStore
) -> None:
    username = await a_user(accounts)
    issued = await accounts.login(username, PASSWORD)
    async with domain_store.pool.acquire() as conn:
        payloads = await conn.fetch(
            "SELECT payload::text FROM events WHERE stream_id = $1", f"user-{username}"
        )
        stored = await conn.fetchval(
            "SELECT password_hash FROM user_credentials WHERE username = $1", username
        )
        tokens = await conn.fetch("SELECT token_hash FROM api_tokens WHERE username = $1", username)
    assert payloads and not any(PASSWORD in row[0] or "argon2" in row[0] for row in payloads)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert [row[0] for row in tokens] == [hashlib.sha256(issued.token.encode()).digest()]


async def test_the_deployed_hasher_is_argon2id_with_the_rfc_9106_parameters(
    domain_store: EventStore,
) -> None:
    accounts = bootstrap.accounts(Settings(token_lifetime_hours=8), domain_store)
    username = await a_user(accounts)
    stored = await domain_store.pool.fetchval(
        "SELECT password_hash FROM user_credentials WHERE username = $1", username
    )
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    issued = await accounts.login(username, PASSWORD)
    assert issued.expires_at - issued.issued_at == timedelta(hours=8)


async def test_a_wrong_password_and_an_unknown_user_are_refused_alike(accounts: Accounts) -> None:
    username = await a_user(accounts)
    with pytest.raises(InvalidCredentials) as wrong:
        await accounts.login(username, PASSWORD + "x")
    with pytest.raises(InvalidCredentials) as unknown:
        await accounts.login(a_username(), PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "wrong username or password"


async def test_a_password_is_checked_before_anything_is_recorded(
    accounts: Accounts, domain_store: EventStore
) -> None:
    username = a_username()
    command = CreateUser(username=username, display_name="Budi", roles=["finance"])
    with pytest.raises(ValidationFailed, match="password: 10 to 256 characters"):
        await accounts.create(command, "pendek", ROOT, BY_ROOT)
    assert await domain_store.read_stream(f"user-{username}") == []
    with pytest.raises(NotFound):
        await accounts.user(username)


async def test_a_new_password_replaces_the_old_one(accounts: Accounts) -> None:
    username = await a_user(accounts)
    kept = await accounts.login(username, PASSWORD)
    await accounts.set_password(
        SetPassword(username=username, password="teh-tubruk-2026"), ROOT, BY_ROOT
    )
    with pytest.raises(InvalidCredentials):
        await accounts.login(username, PASSWORD)
    assert (await accounts.login(username, "teh-tubruk-2026")).principal.username == username
    assert (await accounts.authenticate(kept.token)).username == username  # rights unchanged


async def test_logout_revokes_the_token(accounts: Accounts) -> None:
    username = await a_user(accounts)
    issued = await accounts.login(username, PASSWORD)
    other = await accounts.login(username, PASSWORD)
    await accounts.authenticate(issued.token)  # now in the cache too

    await accounts.logout(issued.token)

    with pytest.raises(InvalidToken, match="revoked"):
        await accounts.authenticate(issued.token)
    assert (await accounts.authenticate(other.token)).username == username


async def test_unknown_tokens_are_refused(accounts: Accounts) -> None:
    with pytest.raises(InvalidToken, match="unknown token"):
        await accounts.authenticate("not-a-token")


async def test_a_token_expires(accounts: Accounts, clock: Clock) -> None:
    username = await a_user(accounts)
    issued = await accounts.login(username, PASSWORD)
    assert await accounts.authenticate(issued.token)

    clock.now = TODAY + timedelta(hours=12)  # cached: still refused once expired
    with pytest.raises(InvalidToken, match="expired"):
        await accounts.authenticate(issued.token)
    await asyncio.sleep(1.05)  # and from the database
    with pytest.raises(InvalidToken, match="expired"):
        await accounts.authenticate(issued.token)


async def test_a_change_of_roles_revokes_every_token_of_the_user(
    accounts: Accounts, domain_store: EventStore, clock: Clock
) -> None:
    username = await a_user(accounts, ("registrar",), ("17.08.01",))
    first = await accounts.login(username, PASSWORD)
    second = await accounts.login(username, PASSWORD)
    elsewhere = Accounts(  # another API process, which has checked the token just before
        domain_store, default_regions(), token_lifetime=timedelta(hours=12), hasher=FAST,
        clock=clock,
    )  # fmt: skip
    await accounts.authenticate(first.token)
    await elsewhere.authenticate(first.token)

    state = await accounts.change_roles(
        ChangeUserRoles(username=username, roles=["registrar", "finance"], kecamatan=[]),
        ROOT, BY_ROOT,
    )  # fmt: skip

    assert state.principal == Principal(username, frozenset({Role.REGISTRAR, Role.FINANCE}))
    for token in (first.token, second.token):
        with pytest.raises(InvalidToken, match="revoked"):
            await accounts.authenticate(token)
    assert await elsewhere.authenticate(first.token)  # trusted for at most a second
    await asyncio.sleep(1.05)
    with pytest.raises(InvalidToken, match="revoked"):
        await elsewhere.authenticate(first.token)
    fresh = await accounts.login(username, PASSWORD)
    assert fresh.principal == state.principal


async def test_the_same_roles_again_revoke_nothing(accounts: Accounts) -> None:
    username = await a_user(accounts, ("auditor",))
    issued = await accounts.login(username, PASSWORD)
    await accounts.change_roles(
        ChangeUserRoles(username=username, roles=["auditor"]), ROOT, BY_ROOT
    )
    assert await accounts.authenticate(issued.token)


async def test_a_disabled_user_cannot_log_in_until_enabled(accounts: Accounts) -> None:
    username = await a_user(accounts)
    issued = await accounts.login(username, PASSWORD)

    await accounts.disable(DisableUser(username=username, reason="pindah tugas"), ROOT, BY_ROOT)

    with pytest.raises(InvalidToken, match="revoked"):
        await accounts.authenticate(issued.token)
    with pytest.raises(AccountDisabled):
        await accounts.login(username, PASSWORD)
    with pytest.raises(InvalidCredentials):  # who lacks the password learns nothing
        await accounts.login(username, "tebak-tebakan")
    await accounts.enable(EnableUser(username), ROOT, BY_ROOT)
    assert (await accounts.login(username, PASSWORD)).principal.username == username


async def test_last_use_is_recorded(accounts: Accounts, domain_store: EventStore) -> None:
    username = await a_user(accounts)
    issued = await accounts.login(username, PASSWORD)
    await accounts.authenticate(issued.token)
    last_used = await domain_store.pool.fetchval(
        "SELECT last_used_at FROM api_tokens WHERE username = $1", username
    )
    assert last_used == TODAY


# -- throttled login -----------------------------------------------------------------------------


async def test_five_failures_for_a_username_throttle_it(logins: Logins, accounts: Accounts) -> None:
    username = await a_user(accounts)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await logins.login(username, "salah-sandi-123", "10.0.0.1")

    with pytest.raises(LoginThrottled) as throttled:  # even with the right password
        await logins.login(username, PASSWORD, "10.0.0.2")
    assert 15 * 60 - 5 <= throttled.value.retry_after <= 15 * 60
    assert str(throttled.value).startswith("too many failed logins; try again in")


async def test_five_failures_from_one_client_throttle_it(
    logins: Logins, accounts: Accounts
) -> None:
    username = await a_user(accounts)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await logins.login(a_username(), PASSWORD, "10.0.0.9")
    with pytest.raises(LoginThrottled):
        await logins.login(username, PASSWORD, "10.0.0.9")
    assert (await logins.login(username, PASSWORD, "10.0.0.10")).principal.username == username


async def test_a_successful_login_clears_the_usernames_failures(
    logins: Logins, accounts: Accounts
) -> None:
    username = await a_user(accounts)
    for client in ("10.0.1.1", "10.0.1.2"):
        for _ in range(4):
            with pytest.raises(InvalidCredentials):
                await logins.login(username, "salah-sandi-123", client)
        assert await logins.login(username, PASSWORD, client)


async def test_a_disabled_account_counts_as_a_failure(logins: Logins, accounts: Accounts) -> None:
    username = await a_user(accounts)
    await accounts.disable(DisableUser(username=username, reason="cuti"), ROOT, BY_ROOT)
    for _ in range(5):
        with pytest.raises(AccountDisabled):
            await logins.login(username, PASSWORD, "10.0.2.1")
    with pytest.raises(LoginThrottled):
        await logins.login(username, PASSWORD, "10.0.2.2")


def test_the_longest_wait_of_the_counters_at_their_limit_applies() -> None:
    assert throttled_for([(4, 900), (0, -2)], 5) is None
    assert throttled_for([(5, 120), (7, 600)], 5) == 600
    assert throttled_for([(5, 0), (1, 30)], 5) == 1  # about to expire: still wait a second
