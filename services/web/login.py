"""Logging in and out of the pages."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from services.web.client import Api, ApiRefused
from services.web.pages import render
from services.web.session import COOKIE, checked_form, home_for, safe_next, viewer_of

_WRONG = "Nama pengguna atau kata sandi salah."
_LOGIN_REFUSED = {
    401: _WRONG,
    403: "Akun Anda dinonaktifkan. Hubungi administrator.",
    422: _WRONG,
    429: "Terlalu banyak percobaan masuk. Tunggu beberapa menit, lalu coba lagi.",
}
FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)


class LoginController(Controller):
    path = "/app"
    include_in_schema = False

    @get("/login")
    async def form(
        self,
        request: Request[Any, Any, Any],
        next_path: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Template:
        return render(request, "login.html", None, next=safe_next(next_path) or "", error=None)

    @post("/login", status_code=200)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, str], FormBody],
    ) -> Template | Redirect:
        username = (data.get("username") or "").strip()
        password = data.get("password") or ""
        wanted = safe_next(data.get("next"))
        try:
            answer = await Api(request.app, None).post(
                "/auth/token", {"username": username, "password": password}
            )
        except ApiRefused as refused:
            error = _LOGIN_REFUSED.get(refused.status, "Tidak dapat masuk. Coba lagi nanti.")
            return render(request, "login.html", None, status_code=refused.status,
                          next=wanted or "", error=error, username=username)  # fmt: skip
        cookie = Cookie(
            key=COOKIE, value=answer["access_token"], max_age=int(answer["expires_in"]),
            path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip
        target = wanted or home_for(answer["user"]["permissions"])
        return Redirect(target, status_code=HTTP_303_SEE_OTHER, cookies=[cookie])

    @post("/logout", status_code=200)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        viewer = await viewer_of(request)
        await checked_form(request, viewer)
        with contextlib.suppress(ApiRefused):  # revoked or expired: logged out either way
            await viewer.api.post("/auth/logout")
        gone = Cookie(key=COOKIE, value="", max_age=0, path="/", httponly=True)
        return Redirect("/app/login", status_code=HTTP_303_SEE_OTHER, cookies=[gone])

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Redirect:
        return await _front_door(request)


@get("/", include_in_schema=False)
async def root(request: Request[Any, Any, Any]) -> Redirect:
    return await _front_door(request)


async def _front_door(request: Request[Any, Any, Any]) -> Redirect:
    """The site's front door: the user's first page (or the login form on the way)."""
    viewer = await viewer_of(request)
    return Redirect(home_for(viewer.permissions), status_code=HTTP_303_SEE_OTHER)
