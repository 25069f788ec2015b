"""Pages for claim officers, finance and auditors, in Bahasa Indonesia.

Server-rendered Jinja2 templates with htmx for partial updates, served by the API's own app
under /app (static files under /static). The pages are a client of the HTTP API: every read
and command is an in-process request to it with the logged-in user's token
(`client.Api`), so they obey exactly the rights, kecamatan scopes, masking and validation
the API does; `wording` puts its refusals into plain Indonesian. Each area has its module
(a Controller) listed in `PAGE_CONTROLLERS`.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from services.web.accidents import AccidentPages
from services.web.audit import AuditPages
from services.web.claims import ClaimPages
from services.web.cohorts import CohortPages
from services.web.format import FILTERS, GLOBALS
from services.web.login import LoginController, root
from services.web.pages import EXCEPTION_HANDLERS
from services.web.participants import ParticipantPages

HERE = Path(__file__).parent
UNAUTHENTICATED_PATHS = ["^/app", "^/static", "^/$"]
"""The pages check the session cookie themselves (and send strangers to the login form)."""

PAGE_CONTROLLERS: list[ControllerRouterHandler] = [
    root, LoginController, ClaimPages, AccidentPages, ParticipantPages, CohortPages, AuditPages,
]  # fmt: skip


def _configure(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)
    engine.engine.globals.update(GLOBALS)
    engine.engine.autoescape = True


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_configure
    )


def web_routes() -> list[ControllerRouterHandler]:
    """The pages (with their Indonesian error pages), the static files, and / -> the board."""
    pages = Router(
        path="/", route_handlers=PAGE_CONTROLLERS, exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )  # fmt: skip
    static = create_static_files_router(
        path="/static", directories=[HERE / "static"], include_in_schema=False
    )
    return [pages, static]
