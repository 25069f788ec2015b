"""Authentication and authorisation through HTTP, against real PostgreSQL and Redis."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from typing import Any, NamedTuple
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from events.personal import MasterKeys
from events.store import Context, EventStore
from services import bootstrap
from services.access import ROLE_PERMISSIONS, Principal, Role
from services.app import create_app
from services.config import Settings
from services.users import CreateUser

PASSWORD = "kopi-kepahiang-2025"
PROBLEM = "application/problem+json"
TYPE = "urn:jaga:problem:"


def settings(redis_namespace: str) -> Settings:
    """Keys of the tests' own; a Redis namespace per app, so throttling in one test never
    reaches another (they all log in from the same test client address)."""
    return Settings(
        master_keys=MasterKeys.generate("api1"),
        lookup_key=base64.b64encode(b"lookup-key-for-api-tests-32bytes").decode(),
        redis_namespace=f"{redis_namespace}:{uuid4().hex[:8]}",
    )


class Staff(NamedTuple):
    names: dict[Role, str]
    tokens: dict[Role, str]
    """Logged in once for the module: a token is good in every app on the same database."""


@pytest.fixture(scope="module")
async def staff(api_store: EventStore) -> Staff:
    """One user per role, made as on a fresh install (by the operator, the CLI's way)."""
    accounts = bootstrap.accounts(Settings(), api_store)
    operator = Principal("operator", frozenset({Role.ADMIN}))
    names: dict[Role, str] = {}
    tokens: dict[Role, str] = {}
    for role in Role:
        names[role] = f"{role.value.replace('_', '')}{uuid4().hex[:6]}"
        command = CreateUser(username=names[role], display_name=role.value, roles=[role.value])
        await accounts.create(command, PASSWORD, operator, Context(actor="admin:operator"))
        tokens[role] = (await accounts.login(names[role], PASSWORD)).token
    return Staff(names, tokens)


@pytest.fixture
async def client(
    migrated_database_url: str, redis_url: str, redis_namespace: str
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings(redis_namespace), migrated_database_url, redis_url)
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def token(client: AsyncTestClient[Litestar], username: str, password: str = PASSWORD) -> str:
    response = await client.post("/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert (body["status"], body["type"]) == (status, TYPE + slug)
    assert body["title"] and body["detail"]
    return body


# -- authentication ------------------------------------------------------------------------------


async def test_operational_routes_need_no_token(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/ready")).status_code == 200
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "BearerToken" in schema.json()["components"]["securitySchemes"]


async def test_without_a_token_the_answer_is_401(client: AsyncTestClient[Litestar]) -> None:
    for headers in ({}, {"Authorization": "Basic c2FyaTpzYXJp"}, {"Authorization": "Bearer "}):
        response = await client.get("/auth/me", headers=headers)
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == 'Bearer realm="jaga"'


async def test_an_unknown_token_is_401_invalid_token(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/auth/me", headers=bearer("made-up"))
    assert_problem(response, 401, "invalid-token")
    assert response.headers["www-authenticate"] == 'Bearer realm="jaga", error="invalid_token"'


async def test_login_me_and_logout(client: AsyncTestClient[Litestar], staff: Staff) -> None:
    username = staff.names[Role.FINANCE]
    login = await client.post(
        "/auth/token", json={"username": username.upper(), "password": PASSWORD}
    )
    assert login.status_code == 200
    body = login.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 12 * 3600)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["access_token"])
    me = await client.get("/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert (
        me.json()
        == body["user"]
        == {
            "username": username,
            "roles": ["finance"],
            "kecamatan": [],
            "permissions": sorted(p.value for p in ROLE_PERMISSIONS[Role.FINANCE]),
        }
    )

    logout = await client.post("/auth/logout", headers=bearer(body["access_token"]))
    assert logout.status_code == 204

    after = await client.get("/auth/me", headers=bearer(body["access_token"]))
    assert "revoked" in assert_problem(after, 401, "invalid-token")["detail"]


async def test_a_wrong_password_is_401_and_the_sixth_try_429(
    client: AsyncTestClient[Litestar], staff: Staff
) -> None:
    wrong = {"username": staff.names[Role.AUDITOR], "password": "salah-sandi-123"}
    for _ in range(5):
        response = await client.post("/auth/token", json=wrong)
        assert_problem(response, 401, "invalid-credentials")
        assert response.headers["www-authenticate"] == 'Bearer realm="jaga"'

    right = {"username": staff.names[Role.AUDITOR], "password": PASSWORD}
    throttled = await client.post("/auth/token", json=right)
    assert_problem(throttled, 429, "login-throttled")
    assert 0 < int(throttled.headers["retry-after"]) <= 15 * 60


async def test_a_malformed_login_is_400(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/auth/token", json={"username": "sari"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)


# -- authorisation (each endpoint for each role: test_access_matrix.py) ---------------------------


async def test_an_administrator_manages_accounts_and_is_the_actor(
    client: AsyncTestClient[Litestar], staff: Staff, api_store: EventStore
) -> None:
    admin = staff.names[Role.ADMIN]
    as_admin = bearer(staff.tokens[Role.ADMIN])
    username = f"sari{uuid4().hex[:6]}"

    created = await client.post(
        "/users", headers=as_admin,
        json={"username": username, "display_name": "Sari Wulandari", "roles": ["registrar"],
              "kecamatan": ["170801"], "password": PASSWORD},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json() == {
        "username": username, "display_name": "Sari Wulandari", "status": "active",
        "roles": ["registrar"], "kecamatan": ["17.08.01"],
    }  # fmt: skip
    old_token = await token(client, username)

    changed = await client.patch(
        f"/users/{username}", headers=as_admin, json={"roles": ["registrar", "finance"]}
    )
    assert changed.json()["roles"] == ["finance", "registrar"]
    assert changed.json()["kecamatan"] == ["17.08.01"]  # not asked to change: kept
    revoked = await client.get("/auth/me", headers=bearer(old_token))
    assert_problem(revoked, 401, "invalid-token")

    disabled = await client.patch(
        f"/users/{username}", headers=as_admin, json={"disabled": True, "reason": "cuti"}
    )
    assert disabled.json()["status"] == "disabled"
    login = await client.post("/auth/token", json={"username": username, "password": PASSWORD})
    assert_problem(login, 403, "account-disabled")

    enabled = await client.patch(f"/users/{username}", headers=as_admin, json={"disabled": False})
    assert enabled.json()["status"] == "active"
    reset = await client.post(
        f"/users/{username}/password", headers=as_admin, json={"password": "teh-tubruk-2026"}
    )
    assert reset.status_code == 204
    fresh = await token(client, username, "teh-tubruk-2026")
    me = (await client.get("/auth/me", headers=bearer(fresh))).json()
    assert me["roles"] == ["finance", "registrar"]

    shown = await client.get(f"/users/{username}", headers=as_admin)
    assert shown.json()["status"] == "active"
    recorded = await api_store.read_stream(f"user-{username}")
    assert [r.type for r in recorded] == [
        "UserCreated", "UserPasswordSet", "UserRolesChanged", "UserDisabled", "UserEnabled",
        "UserPasswordSet",
    ]  # fmt: skip
    assert {r.actor for r in recorded} == {f"user:{admin}"}
    assert recorded[-1].data.set_by == admin


async def test_refusals_of_account_commands_are_problems(
    client: AsyncTestClient[Litestar], staff: Staff
) -> None:
    admin = staff.names[Role.ADMIN]
    as_admin = bearer(staff.tokens[Role.ADMIN])
    new = {"username": staff.names[Role.FINANCE], "display_name": "X", "roles": ["finance"],
           "password": PASSWORD}  # fmt: skip

    duplicate = await client.post("/users", headers=as_admin, json=new)
    assert_problem(duplicate, 409, "duplicate")

    invalid = await client.post(
        "/users", headers=as_admin, json={**new, "username": "Budi!", "roles": ["king"]}
    )
    errors = assert_problem(invalid, 422, "validation-failed")["errors"]
    assert {e["field"] for e in errors} == {"username", "roles"}

    unknown = await client.patch("/users/nobody", headers=as_admin, json={"roles": ["finance"]})
    assert_problem(unknown, 404, "not-found")

    myself = await client.patch(
        f"/users/{admin}", headers=as_admin, json={"disabled": True, "reason": "x"}
    )
    assert "your own account" in assert_problem(myself, 409, "illegal-transition")["detail"]

    finance = staff.names[Role.FINANCE]
    short = await client.post(
        f"/users/{finance}/password", headers=as_admin, json={"password": "pendek"}
    )
    assert_problem(short, 422, "validation-failed")
