"""Authentication and authorisation over HTTP: bearer tokens, permission guards, accounts.

Every route needs a valid `Authorization: Bearer <token>` except the operational ones
(/health, /ready, /metrics, /schema), the login itself and the pages (services/web, which
check their session cookie themselves). A GET may carry the pages' session cookie instead
of the header, so that a page can link to a download. A missing, unknown, expired or
revoked token is a 401 with `WWW-Authenticate: Bearer`; a right the user's roles do not grant
is a 403 (`requires(permission)`, checked against services/access.py's table). The actor of
every event a request causes is the authenticated user (`user:<username>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.openapi.spec import Components, Example, SecurityScheme
from litestar.params import JSONBody, Parameter
from msgspec import UNSET, UnsetType

from events.store import Context
from services.access import Permission, Principal, can, permissions_of
from services.api import api_services, problem
from services.api.problems import problem_response
from services.auth import AccountDisabled, InvalidCredentials, InvalidToken, LoginThrottled
from services.users import (
    MAX_PASSWORD,
    ChangeUserRoles,
    CreateUser,
    DisableUser,
    EnableUser,
    SetPassword,
    UserState,
)
from services.web import UNAUTHENTICATED_PATHS as PAGE_PATHS
from services.web.session import COOKIE as SESSION_COOKIE

UNAUTHENTICATED_PATHS = ["^/health$", "^/ready$", "^/metrics", "^/schema", *PAGE_PATHS]
SECURITY_SCHEME = "BearerToken"
OPENAPI_COMPONENTS = Components(
    security_schemes={
        SECURITY_SCHEME: SecurityScheme(
            type="http", scheme="bearer", description="A token from POST /auth/token."
        )
    }
)
BEARER = [{SECURITY_SCHEME: []}]
"""OpenAPI: the routes that need the token."""
_REALM = 'Bearer realm="jaga"'

AuthRequest = Request[Principal, str, State]


# -- authentication ----------------------------------------------------------------------------


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """Puts the token's Principal in `request.user`, or answers 401."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if not header and connection.scope.get("method") in ("GET", "HEAD"):
            # a page's link to a read (an export download) carries the pages' session
            # cookie; never a command, so a cookie alone cannot change anything
            token = connection.cookies.get(SESSION_COOKIE, "")
            scheme = "bearer" if token else ""
        if scheme.lower() != "bearer" or not token:
            raise problem(
                401, "unauthenticated", "Authentication required",
                "send the token from POST /auth/token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": _REALM},
            )  # fmt: skip
        try:
            principal = await api_services(connection.app.state).accounts.authenticate(token)
        except InvalidToken as refused:
            raise problem(
                401, "invalid-token", "Invalid token", refused.detail,
                headers={"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
            ) from None  # fmt: skip
        return AuthenticationResult(user=principal, auth=token)


def authentication_middleware() -> DefineMiddleware:
    return DefineMiddleware(BearerTokenMiddleware, exclude=UNAUTHENTICATED_PATHS)


@dataclass(frozen=True)
class Requires:
    """A route guard: the user's roles must grant `permission`. The matrix test finds each
    route's permission here. Asynchronous although it awaits nothing: Litestar runs a
    synchronous guard in a worker thread, which cost about 300 µs of CPU per request (jaga
    bench api)."""

    permission: Permission

    async def __call__(self, connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if not can(principal, self.permission):
            raise problem(
                403, "forbidden", "Not allowed",
                f"{principal.username} lacks {self.permission.value} "
                f"(roles: {', '.join(sorted(principal.roles)) or 'none'})",
            )  # fmt: skip


def requires(permission: Permission) -> Requires:
    return Requires(permission)


def context_of(request: AuthRequest) -> Context:
    """The event context of a request: its user is the actor."""
    return Context(actor=request.user.actor)


# -- bodies --------------------------------------------------------------------------------------

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["sari"])]
UsernameInPath = Annotated[
    str,
    Parameter(max_length=64, description="The account's name", examples=[Example(value="sari")]),
]
Password = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD, examples=["kopi-kepahiang-2025"])
]
Roles = Annotated[
    list[str],
    msgspec.Meta(
        description="registrar, finance, claim_officer, supervisor, auditor, admin",
        examples=[["registrar"]],
    ),
]
Kecamatan = Annotated[
    list[str],
    msgspec.Meta(
        description="Kecamatan codes the user works in; empty: the whole regency",
        examples=[["17.08.01"]],
    ),
]


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    username: Username
    password: Password


class Me(msgspec.Struct, frozen=True):
    """The authenticated user as the token stands for them."""

    username: str
    roles: list[str]
    kecamatan: list[str]
    permissions: list[str]

    @classmethod
    def of(cls, principal: Principal) -> Me:
        return cls(
            principal.username, sorted(principal.roles), sorted(principal.kecamatan),
            sorted(permissions_of(principal.roles)),
        )  # fmt: skip


class TokenResponse(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
    """Seconds from now."""
    expires_at: datetime
    user: Me


class NewUser(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(max_length=64, examples=["sari"])]
    display_name: Annotated[str, msgspec.Meta(max_length=200, examples=["Sari Wulandari"])]
    roles: Roles
    password: Password
    kecamatan: Kecamatan = msgspec.field(default_factory=list)


class UserChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What to change; absent fields stay as they are. Disabling needs a reason."""

    roles: Roles | UnsetType = UNSET
    kecamatan: Kecamatan | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET
    reason: Annotated[str, msgspec.Meta(examples=["pindah tugas"])] | UnsetType = UNSET


class NewPassword(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    password: Password


class UserView(msgspec.Struct, frozen=True):
    username: str
    display_name: str
    status: str
    """active or disabled"""
    roles: list[str]
    kecamatan: list[str]

    @classmethod
    def of(cls, state: UserState) -> UserView:
        return cls(
            state.username, state.display_name, state.status, sorted(state.roles),
            sorted(state.kecamatan),
        )  # fmt: skip


# -- controllers ---------------------------------------------------------------------------------


class AuthController(Controller):
    """Logging in and out, and who the token stands for."""

    path = "/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/token", status_code=200, exclude_from_auth=True,
        summary="Log in: a bearer token for the user's current roles",
        responses={
            401: problem_response(401, "invalid-credentials", "Login failed",
                                  "wrong username or password"),
            403: problem_response(403, "account-disabled", "Account disabled",
                                  "the account 'sari' is disabled"),
            429: problem_response(429, "login-throttled", "Too many failed logins",
                                  "too many failed logins; try again in 840 s"),
        },
    )  # fmt: skip
    async def login(
        self, data: JSONBody[LoginRequest], request: Request[Any, Any, State]
    ) -> TokenResponse:
        """Tokens last JAGA_TOKEN_LIFETIME_HOURS; five failures within 15 minutes (per user or
        client address) are throttled with 429."""
        logins = api_services(request.app.state).logins
        client = request.client.host if request.client else "unknown"
        try:
            issued = await logins.login(data.username, data.password, client)
        except InvalidCredentials as refused:
            raise problem(
                401, "invalid-credentials", "Login failed", refused.detail,
                headers={"WWW-Authenticate": _REALM},
            ) from None  # fmt: skip
        except AccountDisabled as refused:
            raise problem(403, "account-disabled", "Account disabled", refused.detail) from None
        except LoginThrottled as refused:
            raise problem(
                429, "login-throttled", "Too many failed logins", refused.detail,
                headers={"Retry-After": str(refused.retry_after)},
            ) from None  # fmt: skip
        lifetime = issued.expires_at - issued.issued_at
        return TokenResponse(
            issued.token, "Bearer", int(lifetime.total_seconds()), issued.expires_at,
            Me.of(issued.principal),
        )  # fmt: skip

    @post("/logout", status_code=204, security=BEARER, summary="Revoke the token of this request")
    async def logout(self, request: AuthRequest) -> None:
        """The token stops working at once, in this and every other instance."""
        await api_services(request.app.state).accounts.logout(request.auth)

    @get("/me", security=BEARER, summary="The user this token stands for, with their rights")
    async def me(self, request: AuthRequest) -> Me:
        """The roles, kecamatan scope and permissions the token carries."""
        return Me.of(request.user)


_DUPLICATE = problem_response(409, "duplicate", "Already exists", "user 'sari' already exists")
_OWN_ACCOUNT = problem_response(
    409, "illegal-transition", "Not allowed in this state",
    "user sari: cannot change roles from state 'active': your own account: another "
    "administrator must change them",
)  # fmt: skip
_INVALID_ACCOUNT = problem_response(
    422, "validation-failed", "Invalid input", "password: 10 to 256 characters"
)


class UsersController(Controller):
    """Officers' accounts, managed by administrators (within their own kecamatan scope)."""

    path = "/users"
    tags = ["users"]  # noqa: RUF012
    security = BEARER

    @post(
        guards=[requires(Permission.USERS_MANAGE)], summary="Create an account",
        responses={409: _DUPLICATE, 422: _INVALID_ACCOUNT},
    )  # fmt: skip
    async def create(self, data: JSONBody[NewUser], request: AuthRequest) -> UserView:
        """An administrator grants no more roles or kecamatan than they hold themselves."""
        command = CreateUser(
            username=data.username, display_name=data.display_name, roles=data.roles,
            kecamatan=data.kecamatan,
        )  # fmt: skip
        accounts = api_services(request.app.state).accounts
        state = await accounts.create(command, data.password, request.user, context_of(request))
        return UserView.of(state)

    @get("/{username:str}", guards=[requires(Permission.USERS_READ)], summary="An account")
    async def show(self, username: UsernameInPath, request: AuthRequest) -> UserView:
        """Roles, kecamatan scope and whether the account is active."""
        return UserView.of(await api_services(request.app.state).accounts.user(username))

    @patch(
        "/{username:str}", guards=[requires(Permission.USERS_MANAGE)],
        summary="Change roles and scope (revokes the user's tokens), disable or enable",
        responses={409: _OWN_ACCOUNT, 422: _INVALID_ACCOUNT},
    )  # fmt: skip
    async def change(
        self, username: UsernameInPath, data: JSONBody[UserChange], request: AuthRequest
    ) -> UserView:
        """A change of roles or scope revokes the user's tokens; disabling needs a reason."""
        accounts = api_services(request.app.state).accounts
        by, context = request.user, context_of(request)
        state = await accounts.user(username)
        if data.roles is not UNSET or data.kecamatan is not UNSET:
            change = ChangeUserRoles(
                username=state.username,
                roles=sorted(state.roles) if data.roles is UNSET else data.roles,
                kecamatan=sorted(state.kecamatan) if data.kecamatan is UNSET else data.kecamatan,
            )
            state = await accounts.change_roles(change, by, context)
        if data.disabled is True and state.status != "disabled":
            reason = "" if data.reason is UNSET else data.reason
            disable = DisableUser(username=state.username, reason=reason)
            state = await accounts.disable(disable, by, context)
        elif data.disabled is False and state.status == "disabled":
            state = await accounts.enable(EnableUser(state.username), by, context)
        return UserView.of(state)

    @post(
        "/{username:str}/password", status_code=204, guards=[requires(Permission.USERS_MANAGE)],
        responses={422: _INVALID_ACCOUNT},
        summary="Set a user's password (their tokens stay valid)",
    )  # fmt: skip
    async def set_password(
        self, username: UsernameInPath, data: JSONBody[NewPassword], request: AuthRequest
    ) -> None:
        """The password is hashed with argon2id; it never enters the log."""
        accounts = api_services(request.app.state).accounts
        state = await accounts.user(username)
        command = SetPassword(username=state.username, password=data.password)
        await accounts.set_password(command, request.user, context_of(request))
