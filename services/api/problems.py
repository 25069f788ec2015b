"""Problems in the OpenAPI document, and Litestar's own errors as typed problems.

Every error this API answers is an RFC 9457 problem (`application/problem+json`). Handlers
declare the refusals of their own area with `problem_response(...)` in `responses=`; the
refusals every route of a kind shares are added by `document_problems` from what the route is:
400 for any route with parameters or a body (Litestar's validation), 401 for routes that need
the token, 403 for routes with a permission guard, 404 for routes with a path parameter, 503
for reads that wait for the read models (`min_position`). So the document says what the app
does without each handler repeating it.

Litestar's own HTTP errors (validation, unknown route, wrong method, too large a body) get a
stable type and a detail too (`http_problem`), validation errors with their field errors; any
other exception is logged and answered as an `internal-error` problem (`internal_problem`).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Litestar
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.routes import HTTPRoute

from events.errors import WrongExpectedVersion
from services.access import Permission
from services.api import PROBLEM_TYPE_PREFIX, problem

PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("jaga.api")


class FieldProblem(msgspec.Struct, frozen=True, omit_defaults=True):
    """One invalid input: where it was and what was wrong with it."""

    field: Annotated[str, msgspec.Meta(examples=["limit"])]
    reason: Annotated[str, msgspec.Meta(examples=["Expected `int` <= 200"])]
    source: Annotated[str | None, msgspec.Meta(examples=["query"])] = None
    """query, path, header, body (Litestar's validation); absent for the domain's rules."""


class ProblemDetails(msgspec.Struct, frozen=True, omit_defaults=True):
    """An RFC 9457 problem: branch on `type`, show `detail`. Some problems carry more members
    (the field `errors` of a validation, the `checks` of a readiness failure); a domain
    refusal carries its parts, so a client can word it itself: `entity`, `state`, `action`
    and `reason` (illegal-transition), `kind`, `key` and `existing` (not-found, duplicate),
    `cohort`, `quota` and `active` (quota-exceeded), `participant_id`, `claim_id`, `claim_kind`
    and `claim_state` (death-already-claimed)."""

    type: Annotated[str, msgspec.Meta(examples=["urn:jaga:problem:not-found"])]
    title: Annotated[str, msgspec.Meta(examples=["Not found"])]
    status: Annotated[int, msgspec.Meta(examples=[404])]
    detail: Annotated[str, msgspec.Meta(examples=["participant 'p-1' not found"])]
    errors: list[FieldProblem] | None = None
    entity: Annotated[str | None, msgspec.Meta(examples=["claim 3f1c…"])] = None
    """What refused a transition: its kind, then its key."""
    state: Annotated[str | None, msgspec.Meta(examples=["submitted"])] = None
    action: Annotated[str | None, msgspec.Meta(examples=["approve"])] = None
    reason: Annotated[str | None, msgspec.Meta(examples=["only from awaiting_second_approval"])] = (
        None
    )
    kind: Annotated[str | None, msgspec.Meta(examples=["participant"])] = None
    """What is missing (not-found) or already there (duplicate)."""
    key: Annotated[str | None, msgspec.Meta(examples=["p-1"])] = None
    existing: Annotated[str | None, msgspec.Meta(examples=["3f1c2a9e-0b7d-5e41-9a7c"])] = None
    """What a duplicate was already recorded as."""
    cohort: Annotated[str | None, msgspec.Meta(examples=["kph2025"])] = None
    quota: Annotated[int | None, msgspec.Meta(examples=[500])] = None
    active: Annotated[int | None, msgspec.Meta(examples=[500])] = None
    """Active enrolments of a full cohort."""
    participant_id: Annotated[str | None, msgspec.Meta(examples=["5b0e…"])] = None
    """Whose death is already claimed."""
    claim_id: Annotated[str | None, msgspec.Meta(examples=["3f1c…"])] = None
    """The claim that stands for that death."""
    claim_kind: Annotated[str | None, msgspec.Meta(examples=["JKK"])] = None
    claim_state: Annotated[str | None, msgspec.Meta(examples=["under_verification"])] = None


def problem_response(status: int, slug: str, title: str, detail: str) -> ResponseSpec:
    """A refusal to declare in a handler's `responses=`, with an example of its body."""
    example = {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status,
               "detail": detail}  # fmt: skip
    return ResponseSpec(
        data_container=ProblemDetails,
        generate_examples=False,
        description=f"{title} (`{slug}`)",
        media_type=PROBLEM_MEDIA_TYPE,
        examples=[Example(summary=slug, value=example)],
    )


_INVALID = problem_response(
    400, "invalid-request", "Invalid request",
    "Validation failed for GET /audit/timeline/participant/p-1 (limit: Expected `int` <= 200)",
)  # fmt: skip
_UNAUTHENTICATED = problem_response(
    401, "unauthenticated", "Authentication required",
    "send the token from POST /auth/token as 'Authorization: Bearer <token>'",
)  # fmt: skip
_FORBIDDEN = problem_response(
    403, "forbidden", "Not allowed", "sari lacks audit_read (roles: registrar)"
)
_NOT_FOUND = problem_response(404, "not-found", "Not found", "participant 'p-1' not found")
_BEHIND = problem_response(
    503, "read-model-behind", "Read model not up to date yet",
    "the read models (audit_timeline) have not reached position 6879302384254977 within 5 s; "
    "retry shortly",
)  # fmt: skip


# -- refusals several areas declare (payments, claims, participants) ---------------------------

DUPLICATE = problem_response(
    409, "duplicate", "Already exists",
    "payment 'SP2D-0001/2025' already exists (already recorded as 6f1f…)",
)  # fmt: skip
ILLEGAL = problem_response(
    409, "illegal-transition", "Not allowed in this state",
    "claim 3f1c…: cannot approve from state 'submitted': only from awaiting_second_approval",
)  # fmt: skip
REFUSED = problem_response(
    422, "validation-failed", "Invalid input", "paid_at: 2026-12-01T09:00:00+07:00 is in the future"
)
NOT_FOUND = problem_response(404, "not-found", "Not found", "cohort 'kph2025' not found")


DEATH_CLAIMED = problem_response(
    409, "death-already-claimed", "Death already claimed",
    "the death of participant '5b0e…' is already claimed by JKK claim '3f1c…' (state "
    "'under_verification'): a person dies once; that claim must be rejected before another is "
    "filed for the same death",
)  # fmt: skip


def either(*refusals: ResponseSpec) -> ResponseSpec:
    """Several refusals under one status (e.g. two kinds of 409), each with its example."""
    return ResponseSpec(
        data_container=ProblemDetails,
        generate_examples=False,
        description=" or ".join(r.description or "" for r in refusals),
        media_type=PROBLEM_MEDIA_TYPE,
        examples=[example for r in refusals for example in r.examples or ()],
    )


def document_problems(app: Litestar) -> None:
    """Declare on every route the problems its kind of route can answer (module docstring);
    what a handler declares itself is kept."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            shared = _shared_problems(route, handler)
            handler.responses = {**shared, **(handler.responses or {})}


def _shared_problems(route: HTTPRoute, handler: HTTPRouteHandler) -> dict[int, ResponseSpec]:
    parameters = handler.parsed_fn_signature.parameters
    found: dict[int, ResponseSpec] = {}
    if route.path_parameters or set(parameters) - _NOT_INPUT:
        found[400] = _INVALID
    if handler.resolve_security():
        found[401] = _UNAUTHENTICATED
    guards = [guard for layer in handler.ownership_layers for guard in layer.guards or ()]
    if any(isinstance(getattr(guard, "permission", None), Permission) for guard in guards):
        found[403] = _FORBIDDEN
    if route.path_parameters:
        found[404] = _NOT_FOUND
    if "min_position" in parameters:
        found[503] = _BEHIND
    return found


_NOT_INPUT = frozenset({"request", "state", "scope", "socket", "headers", "cookies", "query"})
"""Handler parameters Litestar injects rather than reads from the request's input."""


def http_problem(exc: HTTPException) -> ProblemDetailsException:
    """Litestar's own HTTP errors as problems with a stable type; a validation error lists
    what was wrong with which input (`errors`)."""
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = HTTPStatus(exc.status_code)
    if isinstance(exc, ValidationException):
        errors = [_field_problem(item) for item in exc.extra or [] if isinstance(item, dict)]
        reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        detail = f"{exc.detail} ({reasons})" if reasons else exc.detail
        return problem(
            400, "invalid-request", "Invalid request", detail, headers=exc.headers,
            extra={"errors": errors},
        )  # fmt: skip
    slug = status.phrase.lower().replace(" ", "-")
    detail = exc.detail if exc.detail and exc.detail != status.phrase else status.description
    return problem(int(status), slug, status.phrase, detail, headers=exc.headers)


def undecodable_problem(exc: UnicodeDecodeError) -> ProblemDetailsException:
    """Bytes that are not UTF-8 where the request must carry text (a form field, a query):
    Litestar's own parsing raises this before any handler runs."""
    return problem(
        400, "invalid-request", "Invalid request",
        f"the request holds bytes that are not UTF-8 text where text was expected ({exc.reason} "
        f"at byte {exc.start})",
    )  # fmt: skip


def conflict_problem(exc: WrongExpectedVersion) -> ProblemDetailsException:
    """Another command changed the same stream between our read and our append (the services
    retry where a retry is safe; what still collides is the client's to retry): 409."""
    return problem(
        409, "version-conflict", "Concurrent change",
        f"{exc.stream_id} changed while this command ran (expected version {exc.expected}, "
        f"found {exc.actual}); nothing was recorded: read it again and retry",
        extra={"stream_id": exc.stream_id, "expected": exc.expected, "actual": exc.actual},
    )  # fmt: skip


def internal_problem(exc: Exception) -> ProblemDetailsException:
    """Anything else that went wrong: logged with its traceback, answered as a problem that
    says nothing of the inside."""
    log.error("unhandled %s: %s", type(exc).__name__, exc, exc_info=exc)
    return problem(
        500, "internal-error", "Internal Server Error",
        "the server failed to answer this request; it has been logged",
    )  # fmt: skip


def _field_problem(item: dict[str, Any]) -> dict[str, Any]:
    found = {"field": str(item.get("key") or ""), "reason": str(item.get("message") or "")}
    if item.get("source"):
        found["source"] = str(item["source"])
    return found
