"""The HTTP API's shared pieces: the services a request works with, and problem details.

Every refusal is an RFC 9457 problem with a stable `type` (`urn:jaga:problem:<slug>`, not
meant to be dereferenced) that clients branch on, a human `title` and a `detail` naming what
was refused. Domain refusals (services/domain/errors.py) map to 4xx by their `code`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.datastructures import State
from litestar.plugins.problem_details import ProblemDetailsException

from events.store import EventStore
from services import bootstrap
from services.auth import Accounts, Logins
from services.claims import ClaimsDesk
from services.config import Settings
from services.contributions import Cashier
from services.domain.errors import (
    DeathAlreadyClaimed,
    DomainError,
    Duplicate,
    IllegalTransition,
    NotFound,
    QuotaExceeded,
    ValidationFailed,
)
from services.registration import Registrar
from services.resources import redis_client

PROBLEM_TYPE_PREFIX = "urn:jaga:problem:"

_DOMAIN_STATUS = {
    "not_found": (404, "Not found"),
    "duplicate": (409, "Already exists"),
    "quota_exceeded": (409, "Quota exceeded"),
    "death_already_claimed": (409, "Death already claimed"),
    "illegal_transition": (409, "Not allowed in this state"),
    "validation_failed": (422, "Invalid input"),
}


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemDetailsException:
    """An RFC 9457 problem to raise from a handler, guard or middleware."""
    return ProblemDetailsException(
        status_code=status, type_=PROBLEM_TYPE_PREFIX + slug, title=title, detail=detail,
        headers=headers, extra=extra,
    )  # fmt: skip


def domain_problem(error: DomainError) -> ProblemDetailsException:
    """A domain refusal as a problem: its code is the type, its parts are members beside the
    detail (`refusal_parts`)."""
    status, title = _DOMAIN_STATUS.get(error.code, (400, "Refused"))
    slug = error.code.replace("_", "-")
    return problem(status, slug, title, error.detail, extra=refusal_parts(error) or None)


def refusal_parts(error: DomainError) -> dict[str, Any]:
    """What the refusal is made of, so a client says it in its own words without parsing the
    English detail: field `errors`; an illegal transition's `entity`, `state`, `action` and
    `reason`; the `kind` and `key` (and `existing`) of what is missing or already there; a
    full cohort's `cohort`, `quota` and `active`; for a death already claimed, the
    `participant_id` and the standing claim's `claim_id`, `claim_kind` and `claim_state`."""
    match error:
        case ValidationFailed():
            return {"errors": msgspec.to_builtins(list(error.errors))}
        case IllegalTransition():
            return {"entity": error.entity, "state": error.state, "action": error.action,
                    "reason": error.reason}  # fmt: skip
        case NotFound():
            return {"kind": error.kind, "key": error.key}
        case Duplicate():
            existing = {"existing": error.existing} if error.existing else {}
            return {"kind": error.kind, "key": error.key, **existing}
        case QuotaExceeded():
            return {"cohort": error.cohort, "quota": error.quota, "active": error.active}
        case DeathAlreadyClaimed():
            return {"participant_id": error.participant_id, "claim_id": error.claim_id,
                    "claim_kind": error.claim_kind, "claim_state": error.claim_state}  # fmt: skip
    return {}


@dataclass(frozen=True)
class ApiServices:
    """What the handlers work with, opened once per app."""

    store: EventStore
    accounts: Accounts
    logins: Logins
    registrar: Registrar
    cashier: Cashier
    claims: ClaimsDesk


def services_lifespan(
    settings: Settings, database_url: str
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan hook (after `clients_lifespan`, whose Redis client it shares) that opens the
    event store and the account services into `app.state.services`."""

    @contextlib.asynccontextmanager
    async def open_services(app: Litestar) -> AsyncIterator[None]:
        store = await bootstrap.event_store(settings, database_url, min_size=1, max_size=10)
        accounts = bootstrap.accounts(settings, store)
        logins = Logins(accounts, redis_client(app.state), key_prefix=settings.redis_namespace)
        registrar = bootstrap.registrar(settings, store)
        app.state.services = ApiServices(
            store, accounts, logins, registrar,
            bootstrap.cashier(store, registrar), bootstrap.claims_desk(store, registrar),
        )  # fmt: skip
        try:
            yield
        finally:
            await store.close()

    return open_services


def api_services(state: State) -> ApiServices:
    services: ApiServices = state.services
    return services
