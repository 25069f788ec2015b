"""Audit over HTTP: the log itself, past states, the chain check and exports (AUDIT_READ).

Unlike every other read, these replay the event store: an auditor asks what the log says, not
what a read model made of it. A participant's or claim's state is replayed from its own stream
**as known at** a recorded instant (`read_stream(as_known_at=)`, only what Jaga had recorded by
then) and **as of** a business date (only events whose business time falls on or before it),
through the same deciders and rules as the write side (services/participants.py,
services/membership.py, services/claim_decider.py, services/claim_sla.py).

Personal values in events (fields typed `Personal`, nested witnesses and heirs too) are shown
as recorded to roles with PERSONAL_DATA_READ and masked for the others as everywhere else in the
API (services/access.py `masked_data`: NIKs, phones, recipients and birth dates masked; names,
region codes and accounts of an accident shown, as the participant and claim views show them).
A user scoped to some kecamatan may audit only the participants and claims of those kecamatan
(others answer 404, as if absent); the whole log and other streams need regency-wide scope.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import (
    Example,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import Parameter
from litestar.response import Stream

from events.catalog import ClaimFiled, ClaimLine, ParticipantRegistered, registry
from events.store import EventStore
from events.types import Event, RecordedEvent, type_name
from services import membership
from services import participants as participant_decider
from services.access import (
    Permission,
    Principal,
    in_scope,
    masked_data,
    shows_personal_data,
)
from services.api import api_services, problem
from services.api.auth import BEARER, AuthRequest, requires
from services.api.common import (
    EARLIEST,
    LATEST,
    MAX_POSITION,
    Cursor,
    Limit,
    MinPosition,
    await_read_models,
    decode_cursor,
    encode_cursor,
)
from services.api.problems import problem_response
from services.claim_decider import ClaimState, claim_stream
from services.claim_decider import evolve as evolve_claim
from services.claim_sla import sla_of
from services.domain.calendar import Month, business_date
from services.domain.coverage import ContributionHistory, is_covered
from services.domain.errors import NotFound
from services.domain.policy import DEFAULT_POLICY
from services.streams import participant_stream

TIMELINE = "audit_timeline"
EXPORT_PAGE = 500
"""Events read per query of an export; the response streams page by page."""
SUBJECT_KINDS = ("participant", "claim", "cohort", "accident", "payment")
_SCOPED_STREAMS = ("participant", "claim")
"""Stream categories a user scoped to some kecamatan may audit."""

# -- parameters ----------------------------------------------------------------------------------

StreamId = Annotated[
    str,
    Parameter(
        min_length=3, max_length=200, pattern=r"^[a-z_]+-[^\s]+$",
        description="A stream of the log: `<category>-<id>` (participant-…, cohort-…, claim-…)",
        examples=[Example(value="participant-3f1c2a9e-0b7d-5e41-9a7c-2d8e6f4b1a03")],
    ),
]  # fmt: skip
OptionalStreamId = Annotated[
    str | None,
    Parameter(
        min_length=3, max_length=200, pattern=r"^[a-z_]+-[^\s]+$",
        description="Only this stream (`<category>-<id>`); absent: the whole log",
        examples=[Example(value="cohort-kph2025")],
    ),
]  # fmt: skip
SubjectId = Annotated[
    str,
    Parameter(min_length=1, max_length=200, examples=[Example(value="kph2025")]),
]
AsOf = Annotated[
    date | None,
    Parameter(
        description="Business date (Asia/Jakarta, 2000-01-01 to 2099-12-31): only events that "
        "happened on or before it count; absent: today",
        examples=[Example(value="2025-12-31")],
    ),
]
KnownAt = Annotated[
    datetime | None,
    Parameter(
        description="Instant with a time zone: only events Jaga had recorded by then count "
        "(what was known at that moment); absent: now",
        examples=[Example(value="2026-01-05T09:00:00+07:00")],
    ),
]
After = Annotated[
    int,
    Parameter(
        ge=0, le=MAX_POSITION, description="Only events after this global position",
        examples=[Example(value=0)],
    ),
]  # fmt: skip
EventTypes = Annotated[
    list[str] | None,
    Parameter(
        description="Only events of these types (repeat the parameter), e.g. ContributionPaid",
        examples=[Example(value=["ContributionPaid", "ContributionReversed"])],
        max_items=100,
    ),
]
ExportFormat = Annotated[
    Literal["jsonl", "csv"],
    Parameter(
        description="jsonl: one JSON object per line; csv: one row per event, `data` as JSON",
        examples=[Example(value="jsonl")],
    ),
]
SubjectKind = Annotated[
    Literal["participant", "claim", "cohort", "accident", "payment"],
    Parameter(description="What the timeline is about", examples=[Example(value="participant")]),
]

# -- responses -----------------------------------------------------------------------------------


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event as the log holds it: the envelope and the decoded data."""

    position: Annotated[int, msgspec.Meta(examples=[6879302384254977])]
    """Global position (gap-safe order of the whole log)."""
    stream_id: Annotated[str, msgspec.Meta(examples=["cohort-kph2025"])]
    version: Annotated[int, msgspec.Meta(examples=[1])]
    """Version of the stream this event made."""
    type: Annotated[str, msgspec.Meta(examples=["CohortCreated"])]
    schema_version: int
    actor: Annotated[str, msgspec.Meta(examples=["user:sari"])]
    occurred_at: datetime
    """Business time: when it happened."""
    recorded_at: datetime
    """Record time: when Jaga learnt it."""
    correlation_id: UUID
    causation_id: UUID | None
    idempotency_key: str | None
    hash: Annotated[str, msgspec.Meta(examples=["9f2c…"])]
    """SHA-256 (hex) chaining this event to the previous one of its stream."""
    prev_hash: str | None
    data: Annotated[dict[str, Any], msgspec.Meta(examples=[{"cohort_id": "kph2025"}])]
    """The event's fields, personal ones masked unless the role may see them (NIK
    1708********0001, phone 0812******90, birth date ****-**-**)."""


class StreamEvents(msgspec.Struct, frozen=True):
    """A page of a stream's events in version order."""

    stream_id: str
    items: list[AuditEvent]
    next_cursor: str | None


class PeriodView(msgspec.Struct, frozen=True, kw_only=True):
    """A membership (coverage) period."""

    number: int
    starts_on: date
    ended_on: date | None
    """First day no longer a member (null: still a member)."""
    end_reason: str | None


class CoverageView(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the participant was covered on the `as_of` date, and why."""

    day: date
    covered: bool
    reason: Annotated[str, msgspec.Meta(examples=["paid_on_time"])]
    explanation: str
    month: Annotated[str, msgspec.Meta(examples=["2025-12"])]
    payment_reference: str | None
    paid_on: date | None
    rules_version: str


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    """What a replayed state was made of."""

    as_of: date
    known_at: datetime
    events_applied: int
    last_position: int
    last_recorded_at: datetime


class ParticipantAsOf(msgspec.Struct, frozen=True, kw_only=True):
    """A participant's state and standing as of a business date, as known at an instant."""

    participant_id: str
    replay: Replay
    cohort_id: str
    status: Annotated[str, msgspec.Meta(examples=["enrolled"])]
    """registered, waitlisted, enrolled or left (the participant stream's own states)."""
    status_as_of: Annotated[str, msgspec.Meta(examples=["in_arrears"])]
    """registered, waitlisted, active, in_arrears, membership_ended, left or deceased."""
    enrolled_on: date | None
    kpj: str | None
    funder: Annotated[str, msgspec.Meta(examples=["apbd_kabupaten"])]
    """Who funds the month of the as-of date, by the changes of funder known then."""
    declared_income: int
    programmes: list[str]
    left_reason: str | None
    arrears_months: int
    arrears_amount: int
    lapses_on: date | None
    """If nothing more is paid, the membership ends on this day."""
    credit: int
    coverage: CoverageView | None
    """Covered on `as_of`? (null: never enrolled)."""
    periods: list[PeriodView]


class SlaView(msgspec.Struct, frozen=True, kw_only=True):
    """The claim's payment deadline as of the `as_of` date."""

    documents_complete_on: date
    working_days: int
    deadline: date
    working_days_left: int
    working_days_late: int
    breached: bool
    penalty: int
    """Late penalty accrued (rupiah)."""


class ClaimAsOf(msgspec.Struct, frozen=True, kw_only=True):
    """A claim's state as of a business date, as known at an instant."""

    claim_id: str
    replay: Replay
    kind: Annotated[str, msgspec.Meta(examples=["JKK"])]
    participant_id: str
    accident_id: str | None
    event_on: date
    status: Annotated[str, msgspec.Meta(examples=["under_verification"])]
    officer: str | None
    required_documents: list[str]
    received_documents: list[str]
    missing_documents: list[str]
    documents_complete_at: datetime | None
    proposed_total: int | None
    """Benefit proposed by the first officer, awaiting the second approval."""
    approved_total: int | None
    approved_by: str | None
    rejection_reasons: list[str]
    paid_benefit: int
    paid_at: datetime | None
    lines: list[ClaimLine]
    """The benefit lines of the approval (or of the pending proposal)."""
    sla: SlaView | None
    """Null until the documents are complete."""


class ChainProblem(msgspec.Struct, frozen=True):
    """The first event of a stream whose hash, link or version does not match."""

    stream_id: str
    stream_version: int | None
    position: int | None
    problem: str


class ChainCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The result of walking the hash chain (every stream of the log, or one)."""

    ok: bool
    stream_id: str | None
    streams_checked: int
    events_checked: int
    problems: list[ChainProblem]
    checked_at: datetime
    took_ms: float


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One event under a subject, summarised in Bahasa Indonesia (no personal data)."""

    position: int
    stream_id: str
    stream_version: int
    event_type: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: UUID
    causation_id: UUID | None
    summary: Annotated[str, msgspec.Meta(examples=["Pembayaran iuran Rp50.400 untuk 2025-10"])]


class Timeline(msgspec.Struct, frozen=True):
    """A page of a subject's timeline in log order."""

    subject_kind: str
    subject_id: str
    items: list[TimelineEntry]
    next_cursor: str | None


# -- masking -------------------------------------------------------------------------------------


def event_data(event: Event, *, clear: bool) -> dict[str, Any]:
    """An event's fields as JSON values (without the type tag), personal ones masked unless
    `clear` (services/access.py `masked_data`)."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    data.pop("type", None)
    return data if clear else masked_data(type(event), data)


def audit_event(recorded: RecordedEvent[Event], *, clear: bool) -> AuditEvent:
    return AuditEvent(
        position=recorded.position, stream_id=recorded.stream_id,
        version=recorded.stream_version, type=recorded.type,
        schema_version=recorded.schema_version, actor=recorded.actor,
        occurred_at=recorded.occurred_at, recorded_at=recorded.recorded_at,
        correlation_id=recorded.correlation_id, causation_id=recorded.causation_id,
        idempotency_key=recorded.idempotency_key, hash=recorded.hash.hex(),
        prev_hash=recorded.prev_hash.hex() if recorded.prev_hash is not None else None,
        data=event_data(recorded.data, clear=clear),
    )  # fmt: skip


# -- replays (pure) ------------------------------------------------------------------------------


def as_of(recorded: Iterable[RecordedEvent[Event]], day: date) -> list[RecordedEvent[Event]]:
    """The events whose business time falls on or before `day` (Asia/Jakarta)."""
    return [r for r in recorded if business_date(r.occurred_at) <= day]


def _replay(events: list[RecordedEvent[Event]], day: date, known_at: datetime) -> Replay:
    last = events[-1]
    return Replay(
        as_of=day, known_at=known_at, events_applied=len(events),
        last_position=last.position, last_recorded_at=last.recorded_at,
    )  # fmt: skip


def participant_as_of(
    participant_id: str, events: list[RecordedEvent[Event]], day: date, known_at: datetime
) -> ParticipantAsOf:
    """The participant's state from their events (already cut to `day` and `known_at`) and
    their standing on `day` by the coverage rules."""
    state = participant_decider.ParticipantState()
    for recorded in events:
        state = participant_decider.evolve(state, recorded.data)
    history = membership.history_of([r.data for r in events], day)
    status_as_of = _status_as_of(state, history)
    owes = history is not None and status_as_of in ("active", "in_arrears", "deceased")
    coverage = None
    if history is not None:
        covered = is_covered(history, day)
        coverage = CoverageView(
            day=covered.day, covered=covered.covered, reason=covered.reason.value,
            explanation=covered.explanation, month=str(covered.month),
            payment_reference=covered.payment_reference, paid_on=covered.paid_on,
            rules_version=covered.rules_version,
        )  # fmt: skip
    return ParticipantAsOf(
        participant_id=participant_id,
        replay=_replay(events, day, known_at),
        cohort_id=state.cohort_id,
        status=state.status,
        status_as_of=status_as_of,
        enrolled_on=state.enrolled_on,
        kpj=state.kpj,
        funder=state.funder_of(Month.of(day)),
        declared_income=state.declared_income,
        programmes=list(state.programmes),
        left_reason=state.left_reason,
        arrears_months=history.arrears_months if owes and history else 0,
        arrears_amount=history.arrears_amount if owes and history else 0,
        lapses_on=history.lapses_on if owes and history else None,
        credit=history.credit_total if history else 0,
        coverage=coverage,
        periods=[
            PeriodView(
                number=p.number,
                starts_on=p.starts_on,
                ended_on=p.ended_on,
                end_reason=p.end_reason.value if p.end_reason is not None else None,
            )
            for p in (history.periods if history else ())
        ],
    )


def _status_as_of(
    state: participant_decider.ParticipantState, history: ContributionHistory | None
) -> str:
    """The standing the read model gives (projections/participants.standing) from the
    stream's own state: a member whose months ran unpaid too long has ended membership."""
    if state.status == "left":
        return "deceased" if state.left_reason == "death" else "left"
    if state.status != "enrolled":
        return state.status
    if history is not None and history.current_period is None:
        return "membership_ended"
    return "in_arrears" if history is not None and history.arrears_months else "active"


def claim_as_of(
    claim_id: str, events: list[RecordedEvent[Event]], day: date, known_at: datetime
) -> ClaimAsOf:
    """The claim's state from its events (already cut to `day` and `known_at`) and its SLA on
    `day`."""
    state = ClaimState()
    for recorded in events:
        state = evolve_claim(state, recorded.data)
    filed = state.filed
    if filed is None:  # a claim stream starts with its filing
        raise NotFound("claim", claim_id)
    claim_sla = sla_of(state, today=day, policy=DEFAULT_POLICY)
    decision = state.approval or state.proposal
    return ClaimAsOf(
        claim_id=claim_id,
        replay=_replay(events, day, known_at),
        kind=filed.kind,
        participant_id=filed.participant_id,
        accident_id=filed.accident_id,
        event_on=filed.event_on,
        status=state.status,
        officer=state.officer,
        required_documents=list(state.required),
        received_documents=list(state.received),
        missing_documents=list(state.missing),
        documents_complete_at=state.documents_complete_at,
        proposed_total=state.proposal.total if state.proposal is not None else None,
        approved_total=state.approval.total if state.approval is not None else None,
        approved_by=state.approval.officer if state.approval is not None else None,
        rejection_reasons=list(state.rejection.reasons) if state.rejection is not None else [],
        paid_benefit=state.paid_benefit,
        paid_at=state.payment.paid_at if state.payment is not None else None,
        lines=list(decision.lines) if decision is not None else [],
        sla=None
        if claim_sla is None
        else SlaView(
            documents_complete_on=claim_sla.documents_complete_on,
            working_days=claim_sla.working_days,
            deadline=claim_sla.deadline,
            working_days_left=claim_sla.working_days_left,
            working_days_late=claim_sla.working_days_late,
            breached=claim_sla.breached,
            penalty=claim_sla.penalty.amount if claim_sla.penalty is not None else 0,
        ),
    )


# -- export rows ---------------------------------------------------------------------------------

CSV_COLUMNS = (
    "position", "stream_id", "version", "type", "schema_version", "actor", "occurred_at",
    "recorded_at", "correlation_id", "causation_id", "idempotency_key", "hash", "prev_hash",
    "data",
)  # fmt: skip


def jsonl_rows(events: list[AuditEvent]) -> bytes:
    return b"".join(msgspec.json.encode(e) + b"\n" for e in events)


def csv_rows(events: list[AuditEvent], *, header: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow((
            e.position, e.stream_id, e.version, e.type, e.schema_version, e.actor,
            e.occurred_at.isoformat(), e.recorded_at.isoformat(), e.correlation_id,
            e.causation_id or "", e.idempotency_key or "", e.hash, e.prev_hash or "",
            msgspec.json.encode(e.data).decode(),
        ))  # fmt: skip
    return out.getvalue()


# -- the controller ------------------------------------------------------------------------------

_UNKNOWN_STREAM = problem_response(
    404, "not-found", "Not found", "stream 'participant-p-1' not found"
)
_REGENCY_WIDE = problem_response(
    403, "regency-wide-only", "Needs regency-wide scope",
    "sari works in kecamatan 17.08.01 only: the whole log and cohort, payment or accident "
    "streams need regency-wide scope",
)  # fmt: skip
_EXPORT_EXAMPLES = {
    "application/x-ndjson": '{"position":6879302384254977,"stream_id":"cohort-kph2025",'
    '"version":1,"type":"CohortCreated",…}\n',
    "text/csv": ",".join(CSV_COLUMNS) + "\r\n6879302384254977,cohort-kph2025,1,CohortCreated,…\r\n",
}


@dataclass
class _ExportOperation(Operation):
    """The export's 200 is JSON Lines or CSV (by `format`): text, never built whole."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                media_type: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING),
                                             example=example)
                for media_type, example in _EXPORT_EXAMPLES.items()
            }  # fmt: skip


class AuditController(Controller):
    """The log as an auditor reads it: streams, past states, the chain check, exports."""

    path = "/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar reads it as a class attribute
    security = BEARER

    @get(
        "/streams/{stream_id:str}/events",
        guards=[requires(Permission.AUDIT_READ)],
        summary="The events of a stream",
        description="Every event of one stream in version order, with its envelope (global "
        "position, version, type, actor, business and record time, correlation and causation, "
        "hash chain) and its decoded data. Personal data (NIK, phone, birth date) is masked "
        "unless the role may see it.",
        responses={404: _UNKNOWN_STREAM, 403: _REGENCY_WIDE},
    )  # fmt: skip
    async def stream_events(
        self, request: AuthRequest, stream_id: StreamId, cursor: Cursor = None, limit: Limit = 100
    ) -> StreamEvents:
        store = api_services(request.app.state).store
        await _check_scope(request.user, store, stream_id)
        key = decode_cursor(cursor, width=1, kinds=(int,))
        start = min(max(1, key[0]), MAX_POSITION - limit) if key else 1
        recorded = await store.read_stream(stream_id, from_version=start, up_to=start + limit)
        if not recorded and key is None:
            raise NotFound("stream", stream_id)
        page, more = recorded[:limit], len(recorded) > limit
        clear = shows_personal_data(request.user)
        return StreamEvents(
            stream_id, [audit_event(r, clear=clear) for r in page],
            encode_cursor([page[-1].stream_version + 1]) if more else None,
        )  # fmt: skip

    @get(
        "/participants/{participant_id:str}/state",
        guards=[requires(Permission.AUDIT_READ)],
        summary="A participant as of a date, as known at an instant",
        description="Replays the participant's stream: only events recorded by `known_at` "
        "(what Jaga knew then) that happened on or before `as_of`, through the write side's "
        "rules: status, membership periods, arrears, credit and coverage on `as_of`.",
        responses={404: problem_response(
            404, "not-found", "Not found",
            "participant 'p-1' has no events as of 2025-09-01 known at 2026-01-05T02:00:00+00:00",
        )},
    )  # fmt: skip
    async def participant_state(
        self,
        request: AuthRequest,
        participant_id: SubjectId,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> ParticipantAsOf:
        stream = participant_stream(participant_id)
        events, day, known = await _replayed(
            request, stream, "participant", participant_id, as_of, known_at
        )
        return participant_as_of(participant_id, events, day, known)

    @get(
        "/claims/{claim_id:str}/state",
        guards=[requires(Permission.AUDIT_READ)],
        summary="A claim as of a date, as known at an instant",
        description="Replays the claim's stream: only events recorded by `known_at` that "
        "happened on or before `as_of`, through the claim decider: state, officer, documents, "
        "decision and benefit lines, payment, and the SLA (deadline, working days left or "
        "late, penalty) on `as_of`.",
        responses={404: problem_response(
            404, "not-found", "Not found",
            "claim 'c-1' has no events as of 2025-09-01 known at 2026-01-05T02:00:00+00:00",
        )},
    )  # fmt: skip
    async def claim_state(
        self,
        request: AuthRequest,
        claim_id: SubjectId,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> ClaimAsOf:
        stream = claim_stream(claim_id)
        events, day, known = await _replayed(request, stream, "claim", claim_id, as_of, known_at)
        return claim_as_of(claim_id, events, day, known)

    @get(
        "/verification",
        guards=[requires(Permission.AUDIT_READ)],
        summary="Verify the hash chain of the log (or of one stream)",
        description="Walks the SHA-256 chain of every stream (or of `stream_id`) and names, "
        "for each broken stream, the first event whose hash, link to its predecessor or "
        "version does not match. `ok` is true when nothing was altered or removed (the last "
        "event of a stream removed leaves no trace in the chain itself).",
        responses={404: _UNKNOWN_STREAM, 403: _REGENCY_WIDE},
    )  # fmt: skip
    async def verification(
        self, request: AuthRequest, stream_id: OptionalStreamId = None
    ) -> ChainCheck:
        store = api_services(request.app.state).store
        await _check_scope(request.user, store, stream_id)
        began = time.perf_counter()
        result = await store.verify(stream_id)
        if stream_id is not None and not result.events_checked:
            raise NotFound("stream", stream_id)
        return ChainCheck(
            ok=result.ok, stream_id=stream_id, streams_checked=result.streams_checked,
            events_checked=result.events_checked,
            problems=[ChainProblem(p.stream_id, p.stream_version, p.position, p.problem)
                      for p in result.problems],
            checked_at=datetime.now(UTC), took_ms=round((time.perf_counter() - began) * 1000, 1),
        )  # fmt: skip

    @get(
        "/export",
        guards=[requires(Permission.AUDIT_READ)],
        summary="Export the log (JSON Lines or CSV), streamed",
        description="Every event after `after` (of `types`, of `stream_id`) up to the head of "
        "the log when the export began (header `X-Jaga-Export-Head`), in log order (a stream's "
        "in version order), written as it is read, a page at a time. Personal data (NIK, "
        "phone, birth date) is masked unless the role may see it.",
        operation_class=_ExportOperation,
        response_headers=[
            ResponseHeader(
                name="X-Jaga-Export-Head",
                documentation_only=True,
                description="The position of the log's head when the export began: the export "
                "holds no later event.",
            )
        ],
        responses={404: _UNKNOWN_STREAM, 403: _REGENCY_WIDE},
    )
    async def export(
        self,
        request: AuthRequest,
        format: ExportFormat = "jsonl",
        stream_id: OptionalStreamId = None,
        after: After = 0,
        types: EventTypes = None,
    ) -> Stream:
        store = api_services(request.app.state).store
        await _check_scope(request.user, store, stream_id)
        wanted = _event_types(types)
        head = await store.head()
        if stream_id is not None and not await store.stream_version(stream_id):
            raise NotFound("stream", stream_id)
        clear = shows_personal_data(request.user)
        pages = (
            _log_pages(store, after, head, wanted)
            if stream_id is None
            else _stream_pages(store, stream_id, after, wanted)
        )
        body = _body(pages, format, clear)
        media_type = "application/x-ndjson" if format == "jsonl" else "text/csv; charset=utf-8"
        name = f"jaga-events-{stream_id or 'log'}-{head}.{format}"
        return Stream(
            body, media_type=media_type,
            headers={"X-Jaga-Export-Head": str(head),
                     "Content-Disposition": f'attachment; filename="{name}"'},
        )  # fmt: skip

    @get(
        "/timeline/{subject_kind:str}/{subject_id:str}",
        guards=[requires(Permission.AUDIT_READ)],
        summary="The audit timeline of a participant, claim, cohort, accident or payment",
        description="Every event that concerns the subject (read model `audit_timeline`), in "
        "log order, with who acted, when it happened and when it was recorded, correlation "
        "and causation, and a summary in Bahasa Indonesia without personal data.",
        responses={
            404: problem_response(
                404, "not-found", "Not found", "participant 'p-1' has no timeline"
            ),
            403: _REGENCY_WIDE,
        },
    )  # fmt: skip
    async def timeline(
        self,
        request: AuthRequest,
        subject_kind: SubjectKind,
        subject_id: SubjectId,
        cursor: Cursor = None,
        limit: Limit = 100,
        min_position: MinPosition = None,
    ) -> Timeline:
        return await subject_timeline(
            request, subject_kind, subject_id, cursor=cursor, limit=limit,
            min_position=min_position,
        )  # fmt: skip


async def subject_timeline(
    request: AuthRequest,
    subject_kind: str,
    subject_id: str,
    *,
    cursor: str | None,
    limit: int,
    min_position: int | None,
) -> Timeline:
    """A subject's timeline within the user's kecamatan scope: for the audit route, and for
    the claim and participant routes whose readers see the summaries (no personal data)."""
    store = api_services(request.app.state).store
    if request.user.kecamatan:
        if subject_kind not in _SCOPED_STREAMS:
            raise _regency_wide(request.user)
        await _check_scope(request.user, store, f"{subject_kind}-{subject_id}")
    await await_read_models(store.pool, [TIMELINE], min_position)
    key = decode_cursor(cursor, width=1, kinds=(int,))
    rows = await store.pool.fetch(
        """SELECT position, stream_id, stream_version, event_type, actor, occurred_at,
                  recorded_at, correlation_id, causation_id, summary
           FROM rm.timeline
           WHERE subject_kind = $1 AND subject_id = $2 AND position > $3
           ORDER BY position LIMIT $4""",
        subject_kind,
        subject_id,
        key[0] if key else -1,
        limit + 1,
    )
    if not rows and key is None:
        raise NotFound(subject_kind, subject_id)
    page = [TimelineEntry(**dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return Timeline(
        subject_kind, subject_id, page, encode_cursor([page[-1].position]) if more else None
    )


# -- helpers -------------------------------------------------------------------------------------


def _when(day: date | None, known_at: datetime | None) -> tuple[date, datetime]:
    """The business date and the instant of a replay; 400 for an instant without a time zone
    or anything outside the years an audit may ask about."""
    now = datetime.now(UTC)
    errors = []
    if known_at is not None and known_at.utcoffset() is None:
        errors.append({"field": "known_at", "reason": "needs a time zone, e.g. +07:00 or Z",
                       "source": "query"})  # fmt: skip
    elif known_at is not None and not EARLIEST <= known_at.date() <= LATEST:
        errors.append({"field": "known_at", "reason": f"must lie within {EARLIEST:%Y} to "
                       f"{LATEST:%Y}", "source": "query"})  # fmt: skip
    if day is not None and not EARLIEST <= day <= LATEST:
        errors.append({"field": "as_of", "reason": f"must lie within {EARLIEST} to {LATEST}",
                       "source": "query"})  # fmt: skip
    if errors:
        reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise problem(400, "invalid-request", "Invalid request", reasons, extra={"errors": errors})
    return (day or business_date(now)), (known_at or now)


async def _replayed(
    request: AuthRequest,
    stream_id: str,
    kind: str,
    key: str,
    on: date | None,
    known_at: datetime | None,
) -> tuple[list[RecordedEvent[Event]], date, datetime]:
    """The events of a participant's or claim's replay, with its business date and instant:
    404 naming the cut when none is left, and (as if absent) for a scoped user when the
    participant concerned lives elsewhere."""
    store = api_services(request.app.state).store
    day, known = _when(on, known_at)
    recorded = await store.read_stream(stream_id, as_known_at=known)
    events = as_of(recorded, day)
    if not events:
        raise problem(
            404, "not-found", "Not found",
            f"{kind} {key!r} has no events as of {day} known at {known.isoformat()}",
        )  # fmt: skip
    if request.user.kecamatan:
        kecamatan = await _kecamatan_in(store, events[0].data)
        _in_scope_or_absent(request.user, kecamatan, kind, key)
    return events, day, known


def _event_types(types: list[str] | None) -> list[str] | None:
    """The requested event types, each one the log knows; 400 naming the others."""
    if types is None:
        return None
    known = {type_name(cls) for cls in registry.types}
    unknown = [t for t in types if t not in known]
    if unknown:
        errors = [{"field": "types", "reason": f"unknown event type {t!r}", "source": "query"}
                  for t in unknown]  # fmt: skip
        raise problem(
            400, "invalid-request", "Invalid request",
            f"unknown event types: {', '.join(map(repr, unknown))}", extra={"errors": errors},
        )  # fmt: skip
    return types or None


async def _log_pages(
    store: EventStore, after: int, head: int, types: list[str] | None
) -> AsyncIterator[list[RecordedEvent[Event]]]:
    """The log after `after` up to `head`, a page at a time (gap-safe, as read_all is)."""
    checkpoint = after
    while checkpoint < head:
        page = await store.read_all(checkpoint, batch_size=EXPORT_PAGE, types=types)
        events = [e for e in page.events if e.position <= head]
        if events:
            yield events
        if page.checkpoint <= checkpoint:
            return
        checkpoint = page.checkpoint


async def _stream_pages(
    store: EventStore, stream_id: str, after: int, types: list[str] | None
) -> AsyncIterator[list[RecordedEvent[Event]]]:
    """One stream in version order, a page at a time."""
    version = 1
    while True:
        page = await store.read_stream(
            stream_id, from_version=version, up_to=version + EXPORT_PAGE - 1
        )
        events = [e for e in page if e.position > after and (types is None or e.type in types)]
        if events:
            yield events
        if len(page) < EXPORT_PAGE:
            return
        version += EXPORT_PAGE


async def _body(
    pages: AsyncIterator[list[RecordedEvent[Event]]], format: str, clear: bool
) -> AsyncIterator[bytes | str]:
    if format == "csv":
        yield csv_rows([], header=True)
    async for page in pages:
        events = [audit_event(r, clear=clear) for r in page]
        yield jsonl_rows(events) if format == "jsonl" else csv_rows(events)


async def _check_scope(principal: Principal, store: EventStore, stream_id: str | None) -> None:
    """A user scoped to some kecamatan audits only the participant and claim streams of those
    kecamatan (404 for others, as if absent); the rest needs regency-wide scope (403)."""
    if not principal.kecamatan:
        return
    category = (stream_id or "").partition("-")[0]
    if stream_id is None or category not in _SCOPED_STREAMS:
        raise _regency_wide(principal)
    first = await store.read_stream(stream_id, up_to=1)
    kecamatan = await _kecamatan_in(store, first[0].data) if first else None
    _in_scope_or_absent(principal, kecamatan, "stream", stream_id)


async def _kecamatan_in(store: EventStore, first: Event) -> str | None:
    """Where the participant a participant's or claim's stream concerns lives, from the
    stream's first event and (for a claim) the participant's registration; None: unknown."""
    if isinstance(first, ClaimFiled):
        registration = await store.read_stream(participant_stream(first.participant_id), up_to=1)
        first = registration[0].data if registration else first
    return first.kecamatan if isinstance(first, ParticipantRegistered) else None


def _in_scope_or_absent(principal: Principal, kecamatan: str | None, kind: str, key: str) -> None:
    if principal.kecamatan and (kecamatan is None or not in_scope(principal, kecamatan)):
        raise NotFound(kind, key)


def _regency_wide(principal: Principal) -> Exception:
    return problem(
        403, "regency-wide-only", "Needs regency-wide scope",
        f"{principal.username} works in kecamatan {', '.join(sorted(principal.kecamatan))} "
        "only: the whole log and cohort, payment or accident streams need regency-wide scope",
    )  # fmt: skip
