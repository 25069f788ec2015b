"""Every endpoint, every role: gets exactly the answer the rights table says.

The routes are read from the app itself and each one's permission from its `Requires` guard, so
a new endpoint is in the matrix the day it is added: 403 (naming the permission) for every role
whose rights (services/access.ROLE_PERMISSIONS) lack it, an answer other than 401 and 403 for
every role that holds it, 401 without a token. The requests are valid enough to pass the guard
and harmless: made-up ids, empty bodies, nothing that changes a thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from services.access import ROLE_PERMISSIONS, Permission, Role
from services.api.auth import UNAUTHENTICATED_PATHS
from tests.api.conftest import Officer
from tests.api.test_auth_api import assert_problem

Client = AsyncTestClient[Litestar]

SELF_SERVICE = {("GET", "/auth/me"), ("POST", "/auth/logout")}
"""Routes every authenticated user may use, whatever their roles: themselves."""
PATH_VALUES = {"subject_kind": "participant", "stream_id": "participant-p-1"}
"""Path parameters whose values are constrained; any other gets a made-up id."""


class Endpoint(NamedTuple):
    method: str
    path: str
    """With made-up values in place of the path parameters."""
    permission: Permission | None
    open: bool
    """Reachable without a token."""


def permission_of(handler: HTTPRouteHandler) -> Permission | None:
    """The permission the handler's guards require (on it or on its controller)."""
    found = {
        guard.permission
        for layer in handler.ownership_layers
        for guard in layer.guards or ()
        if isinstance(getattr(guard, "permission", None), Permission)
    }
    assert len(found) <= 1, (handler, found)
    return next(iter(found), None)


def endpoints(app: Litestar) -> Iterator[Endpoint]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = route.path_format
        for name in route.path_parameters:
            path = path.replace(f"{{{name}}}", PATH_VALUES.get(name, f"x{len(name)}-1"))
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            opt_out = bool(handler.opt.get("exclude_from_auth"))
            open_ = opt_out or any(re.match(p, route.path_format) for p in UNAUTHENTICATED_PATHS)
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                yield Endpoint(method, path, permission_of(handler), open_)


async def send(client: Client, endpoint: Endpoint, officer: Officer | None) -> Any:
    headers = officer.headers if officer else {}
    body = {"json": {}} if endpoint.method in ("POST", "PUT", "PATCH") else {}
    return await client.request(endpoint.method, endpoint.path, headers=headers, **body)


def test_every_route_is_guarded_or_open_or_self_service(api_client: Client) -> None:
    found = list(endpoints(api_client.app))
    assert len(found) > 50
    unguarded = {(e.method, e.path) for e in found if e.permission is None and not e.open}
    assert unguarded == SELF_SERVICE
    guarded_and_open = [e for e in found if e.permission is not None and e.open]
    assert not guarded_and_open
    opened = {(e.method, e.path) for e in found if e.open}
    assert opened == {("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
                      ("POST", "/auth/token")}  # fmt: skip
    assert {e.permission for e in found} - {None} == set(Permission) - {
        Permission.PERSONAL_DATA_READ  # not a route: what the reads show in clear
    }


async def test_every_endpoint_answers_every_role_by_the_table(
    api_client: Client, officers: dict[str, Officer]
) -> None:
    refused: list[tuple[str, str, str, int]] = []
    for endpoint in endpoints(api_client.app):
        if endpoint.permission is None:
            continue
        anonymous = await send(api_client, endpoint, None)
        assert_problem(anonymous, 401, "unauthenticated")
        for role in Role:
            response = await send(api_client, endpoint, officers[role.value])
            allowed = endpoint.permission in ROLE_PERMISSIONS[role]
            if allowed and response.status_code in (401, 403):
                refused.append((endpoint.method, endpoint.path, role.value, response.status_code))
            elif not allowed:
                body = assert_problem(response, 403, "forbidden")
                assert endpoint.permission.value in body["detail"], (endpoint, role)
    assert not refused, f"allowed but refused: {refused}"


async def test_self_service_routes_answer_every_role(
    api_client: Client, officers: dict[str, Officer]
) -> None:
    for role in Role:
        me = await api_client.get("/auth/me", headers=officers[role.value].headers)
        assert me.status_code == 200 and me.json()["roles"] == [role.value]
