"""Who is looking at a page: the session cookie, the user it stands for, CSRF protection.

Logging in asks the API for a token (POST /auth/token) and keeps it in an HttpOnly,
SameSite=Strict cookie; every page asks the API who the token stands for (GET /auth/me),
so a revoked or expired token logs the user out at once. Every form carries a CSRF token
derived from the session token, checked on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.exceptions import HTTPException

from services.web.client import Api, ApiRefused
from services.web.format import ROLES

COOKIE = "jaga_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-Jaga-CSRF"
HOMES = (
    ("claims_read", "/app/claims"),
    ("payments_record", "/app/cohorts"),
    ("participants_read", "/app/participants"),
    ("cohorts_read", "/app/cohorts"),
    ("audit_read", "/app/audit"),
)
"""Where a user lands: the first page their rights open, in the order of their daily work
(claim officers the board, finance the cohorts' money, registrars the participants)."""


class LoginRequired(Exception):
    """No valid session: the page sends the user to the login form, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class BadCsrf(HTTPException):
    status_code = 403
    detail = "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman, lalu coba lagi."


@dataclass(frozen=True)
class Viewer:
    """The logged-in user, and the API as they may use it."""

    username: str
    display_name: str
    roles: list[str]
    permissions: frozenset[str]
    kecamatan: list[str]
    api: Api
    csrf: str

    def can(self, permission: str) -> bool:
        """Does the user hold this right (services/access.py Permission values)?"""
        return permission in self.permissions

    @property
    def role_names(self) -> str:
        return ", ".join(ROLES.get(r, r) for r in self.roles)


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"jaga-csrf", hashlib.sha256).hexdigest()[:32]


def home_for(permissions: Iterable[str]) -> str:
    """The page a user starts from."""
    held = set(permissions)
    return next((path for right, path in HOMES if right in held), "/app/participants")


def safe_next(path: str | None) -> str | None:
    """Only a path of ours: never an open redirect."""
    if path and path.startswith("/app/") and not path.startswith("//"):
        return path
    return None


def login_path(next_path: str) -> str:
    return f"/app/login?next={quote(next_path)}"


async def viewer_of(request: Request[Any, Any, Any]) -> Viewer:
    """The user of this page request, or LoginRequired."""
    token = request.cookies.get(COOKIE)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(here)
    api = Api(request.app, token)
    try:
        me = await api.get("/auth/me")
    except ApiRefused as refused:
        if refused.status == 401:
            raise LoginRequired(here) from None
        raise
    return Viewer(
        username=me["username"],
        display_name=me.get("display_name") or me["username"],
        roles=me["roles"],
        permissions=frozenset(me["permissions"]),
        kecamatan=me["kecamatan"],
        api=api,
        csrf=csrf_token(token),
    )


Form = Mapping[str, Any]
"""A posted form: each field's text, or the list of texts of a field sent several times."""


async def checked_form(request: Request[Any, Any, Any], viewer: Viewer) -> dict[str, Any]:
    """The posted form, once its CSRF token (field or header) matches the session's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(str(sent), viewer.csrf):
        raise BadCsrf()
    return {key: form.getall(key) if len(form.getall(key)) > 1 else form.get(key)
            for key in form}  # fmt: skip


def form_text(form: Form, name: str) -> str:
    """A field's text, trimmed ("" when absent; the first of a repeated field)."""
    value = form.get(name, "")
    return (value[0] if isinstance(value, list) else value or "").strip()


def form_texts(form: Form, name: str) -> list[str]:
    """Every text of a field the form may send several times (one row each), trimmed."""
    value = form.get(name, [])
    return [v.strip() for v in (value if isinstance(value, list) else [value])]
