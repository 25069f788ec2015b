"""Litestar application factory.

The app gets its URLs from the caller (the CLI resolves configured or
embedded servers first), so one factory serves production, `jaga up` and
tests. Every HTTP error is an RFC 9457 problem (`application/problem+json`).
New areas of the API add their controller module to `ROUTES`.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin
from litestar.types import ControllerRouterHandler

from events.errors import WrongExpectedVersion
from services.api import domain_problem, services_lifespan
from services.api.audit import AuditController
from services.api.auth import (
    OPENAPI_COMPONENTS,
    AuthController,
    UsersController,
    authentication_middleware,
)
from services.api.claims import AccidentsController, ClaimsController
from services.api.cohorts import CohortsController
from services.api.metrics import LogAppends, MetricsController, request_metrics
from services.api.participants import ParticipantsController
from services.api.payments import PaymentsController
from services.api.problems import (
    conflict_problem,
    document_problems,
    http_problem,
    internal_problem,
    undecodable_problem,
)
from services.api.reminders import RemindersController
from services.config import Settings
from services.domain.errors import DomainError
from services.health import HealthController
from services.resources import clients_lifespan
from services.web import template_config, web_routes
from services.web.client import close_client
from services.web.pages import unrouted

ROUTES: list[ControllerRouterHandler] = [
    HealthController, AuthController, UsersController, CohortsController, ParticipantsController,
    AuditController, MetricsController, PaymentsController, AccidentsController, ClaimsController,
    RemindersController,
]  # fmt: skip


def create_app(settings: Settings, database_url: str, redis_url: str) -> Litestar:
    """Build the HTTP API; the database pool, Redis client and event store open on startup.
    Every route but the operational ones and the login needs a bearer token."""
    problems = ProblemDetailsConfig(
        enable_for_all_http_exceptions=True,
        exception_to_problem_detail_map={
            DomainError: domain_problem,
            HTTPException: http_problem,
            UnicodeDecodeError: undecodable_problem,
            WrongExpectedVersion: conflict_problem,
            Exception: internal_problem,
        },
    )
    app = Litestar(
        route_handlers=[*ROUTES, *web_routes()],
        template_config=template_config(),
        exception_handlers={NotFoundException: unrouted, MethodNotAllowedException: unrouted},
        on_shutdown=[close_client],
        lifespan=[
            clients_lifespan(database_url, redis_url),
            services_lifespan(settings, database_url),
        ],
        middleware=[request_metrics, authentication_middleware()],
        state=State({"settings": settings, "log_appends": LogAppends()}),
        plugins=[ProblemDetailsPlugin(problems)],
        openapi_config=OpenAPIConfig(
            title="Jaga",
            version="0.1.0",
            components=OPENAPI_COMPONENTS,
            use_handler_docstrings=True,  # a handler's docstring is its operation's description
        ),
        logging_config=None,  # the CLI configures logging; Litestar must not replace it
    )
    document_problems(app)
    return app
