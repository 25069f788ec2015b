"""The case board and a claim's page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from services.web.pages import render
from services.web.session import viewer_of


class ClaimPages(Controller):
    path = "/app/claims"
    include_in_schema = False

    @get("/")
    async def board(self, request: Request[Any, Any, Any]) -> Template:
        viewer = await viewer_of(request)
        claims = await viewer.api.get("/claims", {"limit": 100})
        return render(request, "claims/board.html", viewer, claims=claims["items"])
