"""What every page shares: rendering with the header's user, the flash message after a
form, redirects, and the error pages (in Indonesian, never a problem+json)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, unquote

from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from services.api.problems import http_problem
from services.web.client import ApiRefused
from services.web.session import LoginRequired, Viewer, login_path
from services.web.wording import refusal

FLASH = "jaga_flash"
log = logging.getLogger("jaga.web")


def render(
    request: Request[Any, Any, Any],
    template: str,
    viewer: Viewer | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A page: the template with the viewer, the pending flash message, and `context`."""
    flash = request.cookies.get(FLASH)
    cookies = [Cookie(key=FLASH, value="", max_age=0, path="/")] if flash else []
    return Template(
        template_name=template,
        context={"viewer": viewer, "flash": unquote(flash) if flash else None,
                 "request_path": request.url.path, **context},
        status_code=status_code,
        cookies=cookies,
    )  # fmt: skip


def see_other(path: str, flash: str | None = None) -> Redirect:
    """After a form: go to `path` (303), with a message for the next page."""
    cookies = [Cookie(key=FLASH, value=quote(flash), max_age=60, path="/", httponly=True,
                      samesite="strict")] if flash else []  # fmt: skip
    return Redirect(path, status_code=HTTP_303_SEE_OTHER, cookies=cookies)


def _error_page(request: Request[Any, Any, Any], status: int, message: str) -> Response[Any]:
    if request.headers.get("HX-Request"):
        # an htmx swap shows the message where the content would have gone
        return Response(
            f'<div class="alert alert-error" role="alert">{_escape(message)}</div>',
            media_type=MediaType.HTML, status_code=200,
        )  # fmt: skip
    return render(request, "error.html", None, status_code=status, message=message)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _login_required(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    if request.headers.get("HX-Request"):
        return Response(b"", status_code=204, headers={"HX-Redirect": login_path(exc.next_path)})
    return Redirect(login_path(exc.next_path), status_code=HTTP_303_SEE_OTHER)


def _refused(request: Request[Any, Any, Any], exc: ApiRefused) -> Response[Any]:
    return _error_page(request, exc.status if exc.status < 500 else 503, refusal(exc))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, "Halaman tidak ditemukan.")
    if exc.status_code >= 500:
        return _internal(request, exc)
    detail = exc.detail if exc.status_code == 403 else "Permintaan tidak valid."
    return _error_page(request, exc.status_code, detail)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("page %s failed", request.url.path, exc_info=exc)
    return _error_page(request, 500, "Terjadi kesalahan pada sistem. Coba lagi nanti.")


def unrouted(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A 404 or 405 raised before any route matched (no page's handlers apply yet): an
    address under /app gets the Indonesian page, any other the API's problem."""
    if request.url.path == "/app" or request.url.path.startswith("/app/"):
        return _http_error(request, exc)
    return http_problem(exc).to_response(request)


EXCEPTION_HANDLERS = {
    LoginRequired: _login_required,
    ApiRefused: _refused,
    HTTPException: _http_error,
    Exception: _internal,
}
