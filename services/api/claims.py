"""Accidents and claims over HTTP: Stage I and II reports, death claims, every claim transition
(one endpoint each), and the claim board.

Every command goes through the ClaimsDesk (services/claims.py), which refuses an illegal
transition with the state and the reason (409). Rights: claim officers report, file and work
claims up to the first approval and record payments (CLAIMS_WORK); the second approval of a
benefit above the four-eyes threshold needs CLAIMS_SECOND_APPROVAL, and the decider makes sure
it comes from another officer than the one who proposed it; an officer takes an unassigned
claim, a supervisor moves an assigned one to someone else (CLAIMS_REASSIGN).

Officers are named by username and recorded, like every actor, as `user:<username>`: the
officer a claim is assigned to is the one who decides it.

A user scoped to kecamatan sees and works only the claims and accidents of participants living
there; any other answers 404, as if absent. NIKs and phone numbers (the participant's, the
heirs') are masked for roles that do not need them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import uuid4

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import JSONBody, Parameter, QueryParameter

from events.catalog import (
    AccidentOutcomeReported,
    AccidentReported,
    ClaimApprovalProposed,
    ClaimApproved,
    ClaimLine,
    ClaimRejected,
    Eligibility,
)
from events.store import EventStore
from events.types import Event, type_name
from projections.claims import ClaimRow, board_entry
from services import commands
from services.access import (
    Permission,
    Principal,
    actor_for,
    can,
    in_scope,
    shown,
    shows_personal_data,
)
from services.accidents import AccidentKind, Outcome, accident_stream
from services.api import ApiServices, api_services
from services.api.audit import Timeline, subject_timeline
from services.api.auth import BEARER, AuthRequest, context_of, requires
from services.api.common import (
    ID_PATTERN,
    MULTILINE,
    PRINTABLE,
    AsOf,
    CommandResult,
    Cursor,
    Id,
    IdParam,
    Limit,
    MinPosition,
    Money,
    Page,
    Resource,
    await_read_models,
    bad_cursor,
    business_today,
    check_day,
    check_past_instant,
    cursor_instant,
    decode_cursor,
    encode_cursor,
    run_command,
    scope_of,
)
from services.api.problems import DEATH_CLAIMED, DUPLICATE, ILLEGAL, NOT_FOUND, REFUSED, either
from services.claim_decider import (
    ClaimCommand,
    ClaimState,
    claim_stream,
    jkk_claim_id,
    jkm_claim_id,
    lines_of,
)
from services.claim_documents import Document
from services.domain.benefits import EducationLevel, TransportMode
from services.domain.errors import NotFound, ValidationFailed
from services.domain.sla import ClaimSla
from services.resources import db_pool

Username = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=64, pattern=PRINTABLE, examples=["ani"],
                 description="The officer's username (recorded as user:<username>)."),
]  # fmt: skip
Line = Annotated[str, msgspec.Meta(max_length=200, pattern=PRINTABLE)]
Text = Annotated[str, msgspec.Meta(max_length=5000, pattern=MULTILINE)]
Reason = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=1000, pattern=PRINTABLE, examples=["NPWP belum ada"]),
]
Instant = Annotated[datetime, msgspec.Meta(tz=True, examples=["2025-11-20T08:00:00+07:00"])]
ClaimStateName = Literal[
    "reported", "documents_incomplete", "submitted", "under_verification",
    "awaiting_second_approval", "approved", "rejected", "paid", "returned", "reopened",
]  # fmt: skip
SlaStatus = Literal["ok", "near", "breached"]

_BOARD = ["claim_board", "participant_status"]
"""The read models the claim reads use: the board, and the participants' kecamatan and names."""


# -- bodies --------------------------------------------------------------------------------------


class WitnessBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[Line, msgspec.Meta(examples=["Rudi Hartono"])]
    phone: (
        Annotated[str, msgspec.Meta(max_length=20, pattern=PRINTABLE, examples=["081277788899"])]
        | None
    ) = None
    statement: Text = ""


class AccidentReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Stage I, within 2x24 hours of the accident (a late report is accepted and flagged)."""

    participant_id: Id
    occurred_at: Instant
    kind: AccidentKind
    place: Annotated[Line, msgspec.Meta(examples=["Gudang Pasar Ujung Karang"])]
    chronology: Annotated[Text, msgspec.Meta(examples=["Terjatuh dari tangga saat bongkar muat"])]
    witnesses: Annotated[list[WitnessBody], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )
    """Two, except for an occupational disease."""
    traffic: bool = False
    police_report: Annotated[Line, msgspec.Meta(examples=["LP/123/X/2025/Lantas"])] | None = None
    """Required for a traffic accident."""
    reported_at: Instant | None = None
    """When the report was made; default now."""
    accident_id: Id | None = None
    """Default: a new id. Giving one makes a retried report a duplicate, not a second one."""


class OutcomeReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Stage II: the doctor's statement of outcome; it files the accident's JKK claim."""

    doctor_statement_at: Instant
    outcome: Outcome
    disability_percent: Annotated[int, msgspec.Meta(ge=0, le=1000, examples=[25])] | None = None
    """The table % of a partial disability (1-100); only then."""
    impairment: Annotated[Text, msgspec.Meta(examples=["Kehilangan jari telunjuk kanan"])] = ""
    reported_at: Instant | None = None


class DeathClaim(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A JKM claim: the death of a participant not from a work accident."""

    participant_id: Id
    died_on: Annotated[date, msgspec.Meta(examples=["2025-11-20"])]
    filed_at: Instant | None = None


class Assignment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    officer: Username


class DocumentReceipt(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    document: Document
    reference: Annotated[Line, msgspec.Meta(examples=["arsip/ktp"])] = ""
    received_at: Instant | None = None
    """Default now."""


class ClaimReturn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    missing: Annotated[list[Document], msgspec.Meta(min_length=1, max_length=20)]
    reason: Reason


class HeirBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[Line, msgspec.Meta(examples=["Siti Aminah"])]
    nik: Annotated[
        str, msgspec.Meta(max_length=32, pattern=PRINTABLE, examples=["1708014101850002"])
    ]
    relation: Annotated[
        str,
        msgspec.Meta(max_length=32, pattern=PRINTABLE, examples=["spouse"],
                     description="spouse, child, parent, grandparent, grandchild, sibling, "
                     "parent_in_law or named_in_will"),
    ]  # fmt: skip


class Heirs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    heirs: Annotated[list[HeirBody], msgspec.Meta(min_length=1, max_length=20)]


class Trip(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: TransportMode
    cost: Money


class StmbPeriod(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A period of temporary incapacity to work (both days included)."""

    incapacity_from: date
    period_from: date
    period_to: date


class Scholarship(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    child: Line
    birth_date: date
    level: EducationLevel
    year_of_level: Annotated[int, msgspec.Meta(ge=1, le=10)]
    married: bool = False
    working: bool = False


class ClaimDecision(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What the documents show, for the benefit lines; eligibility comes from the
    participant's history as known now."""

    medical_billed: Annotated[Money, msgspec.Meta(examples=[4_500_000])] = 0
    trips: Annotated[list[Trip], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    stmb: Annotated[list[StmbPeriod], msgspec.Meta(max_length=60)] = msgspec.field(
        default_factory=list
    )
    scholarships: Annotated[list[Scholarship], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )

    def command(self, claim_id: str) -> commands.DecideClaim:
        for n, period in enumerate(self.stmb):
            for name in ("incapacity_from", "period_from", "period_to"):
                check_day(getattr(period, name), f"stmb[{n}].{name}")
        for n, child in enumerate(self.scholarships):
            check_day(child.birth_date, f"scholarships[{n}].birth_date")
        return commands.DecideClaim(
            claim_id=claim_id, medical_billed=self.medical_billed,
            trips=[commands.TripCost(t.mode.value, t.cost) for t in self.trips],
            stmb=[commands.StmbPeriod(incapacity_from=p.incapacity_from,
                                      period_from=p.period_from, period_to=p.period_to)
                  for p in self.stmb],
            scholarships=[commands.ScholarshipClaim(
                child=s.child, birth_date=s.birth_date, level=s.level.value,
                year_of_level=s.year_of_level, married=s.married, working=s.working,
            ) for s in self.scholarships],
        )  # fmt: skip


class Closing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Why a claim is rejected or reopened."""

    reason: Reason


class BenefitPayment(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    reference: Annotated[Line, msgspec.Meta(min_length=1, examples=["TRF-1"])]
    paid_at: Instant


# -- views ---------------------------------------------------------------------------------------


class ParticipantRef(msgspec.Struct, frozen=True, kw_only=True):
    """The claimant as the board shows them (NIK and phone masked for some roles)."""

    participant_id: str
    name: str | None
    nik: str | None
    phone: str | None
    kecamatan: str | None
    desa: str | None
    kpj: str | None


class HeirView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    nik: str
    relation: str
    payee: bool


class DecisionView(msgspec.Struct, frozen=True, kw_only=True):
    """The latest decision on the claim: a first approval awaiting the second, an approval
    or a rejection, with the benefit lines and their formulas."""

    outcome: Literal["proposed", "approved", "rejected"]
    officer: str
    first_officer: str | None
    decided_at: datetime
    total: int
    lines: list[ClaimLine]
    not_granted: list[str]
    reasons: list[str]
    eligibility: Eligibility | None


class ClaimSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A claim on the board, as of `as_of`."""

    claim_id: str
    kind: str
    state: str
    participant_id: str
    participant_name: str | None
    kecamatan: str | None
    accident_id: str | None
    event_on: date
    filed_at: datetime
    officer: str | None
    missing_documents: list[str]
    as_of: date
    days_open: int
    sla_deadline: date | None
    sla_status: str | None
    """ok, near or breached as of `as_of` (none while the deadline does not run)."""
    working_days_left: int | None
    working_days_late: int | None
    accrued_penalty: int
    total: int | None
    updated_at: datetime


class ClaimPage(Page, frozen=True):
    items: list[ClaimSummary]


class ClaimDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A claim as an officer works it: documents checklist, SLA as of `as_of` (deadline, time
    left, breach, accrued penalty with its formula), the decision with its benefit lines."""

    claim_id: str
    kind: str
    state: str
    participant: ParticipantRef
    accident_id: str | None
    event_on: date
    filed_at: datetime
    officer: str | None
    required_documents: list[str]
    received_documents: list[str]
    missing_documents: list[str]
    documents_complete_at: datetime | None
    as_of: date
    days_open: int
    sla: ClaimSla | None
    sla_status: str | None
    sla_flag: str | None
    """The SLA watch's latest flag on the current deadline."""
    accrued_penalty: int
    proposed_by: str | None
    approved_by: str | None
    total: int | None
    paid_amount: int | None
    paid_at: datetime | None
    penalty: int | None
    penalty_line: ClaimLine | None
    """The late penalty paid with its formula, or the one accrued so far while unpaid."""
    rejection_reasons: list[str]
    closed_at: datetime | None
    decision: DecisionView | None
    heirs: list[HeirView]
    updated_at: datetime
    last_position: int


class AssessmentView(msgspec.Struct, frozen=True, kw_only=True):
    """What the desk would decide from the participant's history as known at `known_at`."""

    claim_id: str
    eligible: bool
    eligibility: Eligibility
    lines: list[ClaimLine]
    not_granted: list[str]
    total: int
    benefit_rules_version: str


class WitnessView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phone: str | None
    statement: str


class OutcomeView(msgspec.Struct, frozen=True, kw_only=True):
    doctor_statement_at: datetime
    outcome: str
    disability_percent: int | None
    impairment: str
    reported_at: datetime
    late: bool
    hours_late: int


class AccidentView(msgspec.Struct, frozen=True, kw_only=True):
    """An accident as reported: Stage I (what happened, witnesses, police report, on time or
    late), Stage II once given, and the JKK claim it filed."""

    accident_id: str
    participant: ParticipantRef
    occurred_at: datetime
    kind: str
    traffic: bool
    place: str
    chronology: str
    witnesses: list[WitnessView]
    police_report: str | None
    reported_at: datetime
    reported_by: str
    deadline: datetime
    late: bool
    hours_late: int
    outcome: OutcomeView | None
    claim_id: str | None
    last_position: int


# -- helpers -------------------------------------------------------------------------------------


def claim_resource(claim_id: str) -> Resource:
    return Resource("claim", claim_id, f"/claims/{claim_id}")


def _names(events: Sequence[Event]) -> list[str]:
    return list(dict.fromkeys(type_name(type(e)) for e in events))


async def _head(store: EventStore, stream_id: str) -> int:
    """The position of a stream's last event: the claims desk answers with the events it
    appended, not where they landed."""
    recorded = await store.read_stream(stream_id)
    return recorded[-1].position


async def _kecamatan_of(pool: asyncpg.Pool, participant_id: str) -> str | None:
    return await pool.fetchval(  # type: ignore[no-any-return]
        "SELECT kecamatan FROM rm.participants WHERE participant_id = $1", participant_id
    )


async def _check_scope(
    pool: asyncpg.Pool, principal: Principal, participant_id: str, kind: str, key: str
) -> None:
    """404 (as if absent) when a scoped user's kecamatan is not the participant's."""
    if not principal.kecamatan:
        return
    kecamatan = await _kecamatan_of(pool, participant_id)
    if kecamatan is None or not in_scope(principal, kecamatan):
        raise NotFound(kind, key)


async def _claim_in_scope(request: AuthRequest, claim_id: str) -> ClaimState:
    services = api_services(request.app.state)
    state = await services.claims.claim(claim_id)
    assert state.filed is not None
    pool = db_pool(request.app.state)
    await _check_scope(pool, request.user, state.filed.participant_id, "claim", claim_id)
    return state


def _check_instants(**instants: datetime | None) -> None:
    for field, value in instants.items():
        check_past_instant(value, field)


async def _claim_command(
    request: AuthRequest,
    claim_id: str,
    body: object,
    command: ClaimCommand | Callable[[ClaimState], Awaitable[ClaimCommand]],
) -> CommandResult:
    """Run one claim transition (once per Idempotency-Key) within the user's scope. A command
    that depends on the claim is given as a function of its state (which checks the scope)."""
    services = api_services(request.app.state)

    async def run() -> CommandResult:
        if callable(command):
            ready = await command(await _claim_in_scope(request, claim_id))
        else:
            if request.user.kecamatan:
                await _claim_in_scope(request, claim_id)
            ready = command
        events = await services.claims.handle(ready, context_of(request))
        position = await _head(services.store, claim_stream(claim_id))
        return CommandResult(
            position=position, resource=claim_resource(claim_id), events=_names(events)
        )

    return await run_command(request, body, run, response_type=CommandResult)


async def _officer(
    services: ApiServices, pool: asyncpg.Pool, username: str, state: ClaimState
) -> str:
    """The actor of an active user who may work this claim (422 otherwise)."""
    try:
        user = await services.accounts.user(username)
    except NotFound:
        raise ValidationFailed.one("officer", f"no user {username!r}") from None
    if user.status != "active" or not can(user.principal, Permission.CLAIMS_WORK):
        raise ValidationFailed.one("officer", f"{user.username} cannot work claims")
    assert state.filed is not None
    kecamatan = await _kecamatan_of(pool, state.filed.participant_id)
    if user.kecamatan and (kecamatan is None or not in_scope(user.principal, kecamatan)):
        raise ValidationFailed.one(
            "officer", f"{user.username} does not work in the claimant's kecamatan"
        )
    return actor_for(user.username)


def _participant(row: asyncpg.Record, principal: Principal) -> ParticipantRef:
    clear = shows_personal_data(principal)

    def personal(field: str) -> str | None:
        return shown(field, row[field], clear=clear)

    return ParticipantRef(
        participant_id=row["participant_id"], name=personal("name"), nik=personal("nik"),
        phone=personal("phone"), kecamatan=personal("kecamatan"), desa=personal("desa"),
        kpj=row["kpj"],
    )  # fmt: skip


def _decision(state: ClaimState) -> DecisionView | None:
    decided: list[ClaimApprovalProposed | ClaimApproved | ClaimRejected] = [
        d for d in (state.proposal, state.approval, state.rejection) if d is not None
    ]
    if not decided:
        return None
    latest = max(decided, key=lambda d: d.decided_at)
    if isinstance(latest, ClaimRejected):
        return DecisionView(
            outcome="rejected", officer=latest.officer, first_officer=None,
            decided_at=latest.decided_at, total=0, lines=[], not_granted=[],
            reasons=list(latest.reasons), eligibility=latest.eligibility,
        )  # fmt: skip
    return DecisionView(
        outcome="proposed" if isinstance(latest, ClaimApprovalProposed) else "approved",
        officer=latest.officer,
        first_officer=latest.first_officer if isinstance(latest, ClaimApproved) else None,
        decided_at=latest.decided_at, total=latest.total, lines=list(latest.lines),
        not_granted=list(latest.not_granted), reasons=[], eligibility=latest.eligibility,
    )  # fmt: skip


def _claim_row(row: asyncpg.Record) -> ClaimRow:
    return ClaimRow(**{name: row[name] for name in ClaimRow.__struct_fields__})


_CLAIM_COLUMNS = ", ".join(f"c.{name}" for name in ClaimRow.__struct_fields__)
_SORT = "coalesce(c.sla_deadline, 'infinity'::date), c.filed_at, c.claim_id"


class AccidentsController(Controller):
    """Stage I and Stage II reports of work accidents."""

    path = "/accidents"
    tags = ["claims"]  # noqa: RUF012 - Litestar reads it as a class attribute
    security = BEARER

    @post(
        guards=[requires(Permission.CLAIMS_WORK)], summary="Report an accident (Stage I)",
        description="When, what kind, where, the chronology, two witnesses (none for an "
        "occupational disease) and a police report for a traffic accident. Due within 2x24 "
        "hours of the accident; a late report is accepted and flagged with the hours late.",
        responses={404: NOT_FOUND, 409: DUPLICATE, 422: REFUSED},
    )  # fmt: skip
    async def report(self, data: JSONBody[AccidentReport], request: AuthRequest) -> CommandResult:
        services = api_services(request.app.state)
        pool = db_pool(request.app.state)
        accident_id = data.accident_id or str(uuid4())

        async def run() -> CommandResult:
            _check_instants(occurred_at=data.occurred_at, reported_at=data.reported_at)
            await _check_scope(pool, request.user, data.participant_id, "participant",
                               data.participant_id)  # fmt: skip
            command = commands.ReportAccident(
                accident_id=accident_id, participant_id=data.participant_id,
                occurred_at=data.occurred_at, kind=data.kind.value, traffic=data.traffic,
                place=data.place, chronology=data.chronology,
                witnesses=[commands.WitnessStatement(name=w.name, phone=w.phone,
                                                     statement=w.statement)
                           for w in data.witnesses],
                police_report=data.police_report, reported_at=data.reported_at,
            )  # fmt: skip
            result = await services.claims.report_accident(command, context_of(request))
            return CommandResult(
                position=result.last_position,
                resource=Resource("accident", accident_id, f"/accidents/{accident_id}"),
                events=["AccidentReported"],
            )

        return await run_command(request, data, run, response_type=CommandResult)

    @post(
        "/{accident_id:str}/outcome", guards=[requires(Permission.CLAIMS_WORK)],
        summary="Report the outcome (Stage II), filing the JKK claim",
        description="The doctor's statement: recovered, partial disability (with the table "
        "%), total permanent disability or death. Due within 2x24 hours of the statement. "
        "It is also the benefit application: the accident's JKK claim is filed with it. A "
        "death is claimed once: while another claim for the participant's death stands (a JKM "
        "claim not rejected), a Stage II report of death is refused and nothing is recorded.",
        responses={409: either(ILLEGAL, DEATH_CLAIMED), 422: REFUSED},
    )  # fmt: skip
    async def outcome(
        self, accident_id: IdParam, data: JSONBody[OutcomeReport], request: AuthRequest
    ) -> CommandResult:
        services = api_services(request.app.state)
        pool = db_pool(request.app.state)

        async def run() -> CommandResult:
            _check_instants(doctor_statement_at=data.doctor_statement_at,
                            reported_at=data.reported_at)  # fmt: skip
            if request.user.kecamatan:
                accident = await services.claims.accident(accident_id)
                await _check_scope(pool, request.user, accident.participant_id, "accident",
                                   accident_id)  # fmt: skip
            command = commands.ReportAccidentOutcome(
                accident_id=accident_id, doctor_statement_at=data.doctor_statement_at,
                outcome=data.outcome.value, disability_percent=data.disability_percent,
                impairment=data.impairment, reported_at=data.reported_at,
            )  # fmt: skip
            results = await services.claims.report_outcome(command, context_of(request))
            return CommandResult(
                position=max(r.last_position for r in results),
                resource=claim_resource(jkk_claim_id(accident_id)),
                events=["AccidentOutcomeReported", "ClaimFiled"],
            )

        return await run_command(request, data, run, response_type=CommandResult)

    @get(
        "/{accident_id:str}", guards=[requires(Permission.CLAIMS_READ)],
        summary="An accident as reported (Stage I and II) and the claim it filed",
        description="Witnesses' phones (and the participant's NIK and phone) are masked for "
        "roles that do not need them; a user scoped to kecamatan sees only accidents of "
        "participants living there (any other is 404).",
        responses={404: NOT_FOUND},
    )  # fmt: skip
    async def show(self, accident_id: IdParam, request: AuthRequest) -> AccidentView:
        services = api_services(request.app.state)
        pool = db_pool(request.app.state)
        recorded = await services.store.read_stream(accident_stream(accident_id))
        reports = [r for r in recorded if isinstance(r.data, AccidentReported)]
        if not reports:
            raise NotFound("accident", accident_id)
        report = reports[0]
        stage_one: AccidentReported = report.data  # type: ignore[assignment]
        await _check_scope(pool, request.user, stage_one.participant_id, "accident", accident_id)
        row = await pool.fetchrow(
            """SELECT participant_id, name, nik, phone, kecamatan, desa, kpj
               FROM rm.participants WHERE participant_id = $1""",
            stage_one.participant_id,
        )
        participant = (
            _participant(row, request.user) if row is not None else ParticipantRef(
                participant_id=stage_one.participant_id, name=None, nik=None, phone=None,
                kecamatan=None, desa=None, kpj=None,
            )
        )  # fmt: skip
        clear = shows_personal_data(request.user)
        outcome = next(
            (r.data for r in recorded if isinstance(r.data, AccidentOutcomeReported)), None
        )
        return AccidentView(
            accident_id=accident_id, participant=participant,
            occurred_at=stage_one.occurred_at, kind=stage_one.kind, traffic=stage_one.traffic,
            place=shown("place", stage_one.place, clear=clear),
            chronology=shown("chronology", stage_one.chronology, clear=clear),
            witnesses=[WitnessView(name=shown("name", w.name, clear=clear),
                                   statement=shown("statement", w.statement, clear=clear),
                                   phone=shown("phone", w.phone, clear=clear))
                       for w in stage_one.witnesses],
            police_report=stage_one.police_report, reported_at=stage_one.reported_at,
            reported_by=report.actor, deadline=stage_one.deadline, late=stage_one.late,
            hours_late=stage_one.hours_late,
            outcome=None if outcome is None else OutcomeView(
                doctor_statement_at=outcome.doctor_statement_at, outcome=outcome.outcome,
                disability_percent=outcome.disability_percent, impairment=outcome.impairment,
                reported_at=outcome.reported_at, late=outcome.late,
                hours_late=outcome.hours_late,
            ),
            claim_id=jkk_claim_id(accident_id) if outcome is not None else None,
            last_position=recorded[-1].position,
        )  # fmt: skip


class ClaimsController(Controller):
    """JKK and JKM claims: filing, every transition, the board."""

    path = "/claims"
    tags = ["claims"]  # noqa: RUF012
    security = BEARER

    # -- commands ---------------------------------------------------------------------------------

    @post(
        "/death", guards=[requires(Permission.CLAIMS_WORK)], summary="File a JKM (death) claim",
        description="The death of a participant not from a work accident; one per participant "
        "(a rejected one is reopened, not filed again), and refused while the JKK claim of an "
        "accident that ended in the participant's death stands (is not rejected).",
        responses={404: NOT_FOUND, 409: either(DUPLICATE, DEATH_CLAIMED), 422: REFUSED},
    )  # fmt: skip
    async def file_death(self, data: JSONBody[DeathClaim], request: AuthRequest) -> CommandResult:
        services = api_services(request.app.state)
        pool = db_pool(request.app.state)

        async def run() -> CommandResult:
            check_day(data.died_on, "died_on")
            _check_instants(filed_at=data.filed_at)
            await _check_scope(pool, request.user, data.participant_id, "participant",
                               data.participant_id)  # fmt: skip
            command = commands.FileDeathClaim(
                participant_id=data.participant_id, died_on=data.died_on, filed_at=data.filed_at
            )
            result = await services.claims.file_death_claim(command, context_of(request))
            return CommandResult(
                position=result.last_position,
                resource=claim_resource(jkm_claim_id(data.participant_id)),
                events=["ClaimFiled"],
            )

        return await run_command(request, data, run, response_type=CommandResult)

    @post(
        "/{claim_id:str}/assignment", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Assign an unassigned claim to an officer",
        description="An officer takes a claim (or gives it to a colleague) while nobody works "
        "it; moving a claim someone works to another officer is a reassignment (supervisor).",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def assign(
        self, claim_id: IdParam, data: JSONBody[Assignment], request: AuthRequest
    ) -> CommandResult:
        return await self._assign(request, claim_id, data, reassign=False)

    @post(
        "/{claim_id:str}/reassignment", status_code=200,
        guards=[requires(Permission.CLAIMS_REASSIGN)],
        summary="Reassign a claim to another officer",
        description="A supervisor moves a claim, whoever works it, to another officer who may "
        "work claims in the claimant's kecamatan.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def reassign(
        self, claim_id: IdParam, data: JSONBody[Assignment], request: AuthRequest
    ) -> CommandResult:
        return await self._assign(request, claim_id, data, reassign=True)

    async def _assign(
        self, request: AuthRequest, claim_id: str, data: Assignment, *, reassign: bool
    ) -> CommandResult:
        services = api_services(request.app.state)
        pool = db_pool(request.app.state)

        async def assignment(state: ClaimState) -> ClaimCommand:
            officer = await _officer(services, pool, data.officer, state)
            return commands.AssignClaim(claim_id, officer, reassign=reassign)

        return await _claim_command(request, claim_id, data, assignment)

    @post(
        "/{claim_id:str}/documents", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Record a document received",
        description="Documents come in before verification (or after a return). When the "
        "last missing one arrives, a claim waiting for it is submitted and its SLA starts.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def receive_document(
        self, claim_id: IdParam, data: JSONBody[DocumentReceipt], request: AuthRequest
    ) -> CommandResult:
        check_past_instant(data.received_at, "received_at")
        command = commands.ReceiveClaimDocument(
            claim_id=claim_id, document=data.document.value, reference=data.reference,
            received_at=data.received_at,
        )  # fmt: skip
        return await _claim_command(request, claim_id, data, command)

    @post(
        "/{claim_id:str}/submission", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Submit the claim",
        description="With every document in, the claim is submitted and its SLA starts; "
        "otherwise it waits for the missing ones (documents_incomplete).",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def submit(self, claim_id: IdParam, request: AuthRequest) -> CommandResult:
        return await _claim_command(request, claim_id, None, commands.SubmitClaim(claim_id))

    @post(
        "/{claim_id:str}/verification", status_code=200,
        guards=[requires(Permission.CLAIMS_WORK)], summary="Start verifying a submitted claim",
        description="Needs an assigned officer.", responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def start_verification(self, claim_id: IdParam, request: AuthRequest) -> CommandResult:
        command = commands.StartVerification(claim_id)
        return await _claim_command(request, claim_id, None, command)

    @post(
        "/{claim_id:str}/return", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Return the claim for missing documents",
        description="From submitted, under verification or awaiting the second approval; "
        "the deadline stops until the documents are in again.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def return_claim(
        self, claim_id: IdParam, data: JSONBody[ClaimReturn], request: AuthRequest
    ) -> CommandResult:
        command = commands.ReturnClaim(
            claim_id=claim_id, missing=[d.value for d in data.missing], reason=data.reason
        )
        return await _claim_command(request, claim_id, data, command)

    @post(
        "/{claim_id:str}/heirs", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Name the heirs of a deceased participant",
        description="From the heir statement; replaces heirs named before. The benefit goes "
        "to the first class of heirs that has anyone (spouse and children first).",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def name_heirs(
        self, claim_id: IdParam, data: JSONBody[Heirs], request: AuthRequest
    ) -> CommandResult:
        command = commands.NameHeirs(
            claim_id=claim_id,
            heirs=[commands.HeirStatement(name=h.name, nik=h.nik, relation=h.relation)
                   for h in data.heirs],
        )  # fmt: skip
        return await _claim_command(request, claim_id, data, command)

    @post(
        "/{claim_id:str}/decision", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Decide the claim: approve (first approval) or reject on eligibility",
        description="By the assigned officer, under verification. Eligibility comes from the "
        "participant's history as known now; the benefit lines from the bills and periods "
        "given. Up to the four-eyes threshold this approves; above it (an NPWP needed) it is "
        "the first approval, and another officer gives the second.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def decide(
        self, claim_id: IdParam, data: JSONBody[ClaimDecision], request: AuthRequest
    ) -> CommandResult:
        return await _claim_command(request, claim_id, data, data.command(claim_id))

    @post(
        "/{claim_id:str}/second-approval", status_code=200,
        guards=[requires(Permission.CLAIMS_SECOND_APPROVAL)],
        summary="Give the second approval (four eyes)",
        description="For a benefit above the four-eyes threshold, by another officer than the "
        "one who proposed it.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def approve(self, claim_id: IdParam, request: AuthRequest) -> CommandResult:
        return await _claim_command(request, claim_id, None, commands.ApproveClaim(claim_id))

    @post(
        "/{claim_id:str}/rejection", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Reject the claim", description="Under verification or awaiting the second "
        "approval, with the reason.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def reject(
        self, claim_id: IdParam, data: JSONBody[Closing], request: AuthRequest
    ) -> CommandResult:
        command = commands.RejectClaim(claim_id=claim_id, reason=data.reason)
        return await _claim_command(request, claim_id, data, command)

    @post(
        "/{claim_id:str}/payment", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Record the benefit payment",
        description="Of an approved claim; a payment after the SLA deadline adds the late "
        "penalty (1% of the benefit per working day late). The same reference again is the "
        "same payment.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def pay(
        self, claim_id: IdParam, data: JSONBody[BenefitPayment], request: AuthRequest
    ) -> CommandResult:
        check_past_instant(data.paid_at, "paid_at")
        command = commands.RecordClaimPayment(
            claim_id=claim_id, reference=data.reference, paid_at=data.paid_at
        )
        return await _claim_command(request, claim_id, data, command)

    @post(
        "/{claim_id:str}/reopening", status_code=200, guards=[requires(Permission.CLAIMS_WORK)],
        summary="Reopen a paid or rejected claim",
        description="With the reason (new evidence, a new heir): the claim takes documents "
        "again and is submitted anew; a benefit approved again pays only what is still owed. "
        "A rejected death claim is not reopened while another claim for the same death stands.",
        responses={409: either(ILLEGAL, DEATH_CLAIMED), 422: REFUSED},
    )  # fmt: skip
    async def reopen(
        self, claim_id: IdParam, data: JSONBody[Closing], request: AuthRequest
    ) -> CommandResult:
        command = commands.ReopenClaim(claim_id=claim_id, reason=data.reason)
        return await _claim_command(request, claim_id, data, command)

    # -- reads ------------------------------------------------------------------------------------

    @get(
        guards=[requires(Permission.CLAIMS_READ)], summary="The claim board",
        description="Claims by state, officer, SLA status as of `as_of` (ok, near: within the "
        "warning days of the deadline, breached) and the claimant's kecamatan; soonest "
        "deadline first.",
        responses={422: REFUSED},
    )  # fmt: skip
    async def board(
        self,
        request: AuthRequest,
        states: Annotated[
            list[ClaimStateName] | None,
            QueryParameter(name="state", description="Claim states (repeat for several)."),
        ] = None,
        officer: Annotated[
            str | None,
            Parameter(max_length=64, pattern=PRINTABLE, description="The officer's username."),
        ] = None,
        sla: Annotated[
            SlaStatus | None,
            QueryParameter(description="ok, near (within the warning days) or breached"),
        ] = None,
        kecamatan: Annotated[
            str | None, Parameter(pattern=r"^[0-9.]{1,20}$", examples=[Example(value="17.08.01")])
        ] = None,
        participant_id: Annotated[
            str | None, Parameter(pattern=ID_PATTERN, description="One participant's claims.")
        ] = None,
        as_of: AsOf = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ClaimPage:
        check_day(as_of, "as_of")
        day = as_of or business_today()
        pool = db_pool(request.app.state)
        await await_read_models(pool, _BOARD, min_position)
        after = decode_cursor(cursor, width=3)
        filters: list[Any] = [
            states, actor_for(officer) if officer else None, kecamatan, scope_of(request.user),
            sla is None,
        ]  # fmt: skip
        items: list[ClaimSummary] = []
        more = True
        while more and len(items) <= limit:
            keyset = _keyset(after)
            rows = await pool.fetch(
                f"""SELECT {_CLAIM_COLUMNS}, p.name AS participant_name, p.kecamatan
                    FROM rm.claims c LEFT JOIN rm.participants p
                      ON p.participant_id = c.participant_id COLLATE "C"
                    WHERE ($1::text[] IS NULL OR c.state = ANY($1::text[]))
                      AND ($2::text IS NULL OR c.officer = $2)
                      AND ($3::text IS NULL OR p.kecamatan = $3)
                      AND ($4::text[] IS NULL OR p.kecamatan = ANY($4::text[]))
                      AND ($5::boolean OR (c.documents_complete_at IS NOT NULL
                                           AND c.state <> 'rejected'))
                      AND ($6::text IS NULL OR ({_SORT}) > (coalesce($7::date,
                           'infinity'::date), $8::timestamptz, $6::text))
                      AND ($10::text IS NULL OR c.participant_id = $10)
                    ORDER BY {_SORT} LIMIT $9""",
                *filters, *keyset, limit + 1, participant_id,
            )  # fmt: skip
            more = len(rows) > limit
            for row in rows:
                summary = _summary(row, day)
                after = [_iso(row["sla_deadline"]), row["filed_at"].isoformat(), row["claim_id"]]
                if sla is None or summary.sla_status == sla:
                    items.append(summary)
                if len(items) > limit:
                    break
        page, extra = items[:limit], items[limit:]
        next_cursor = None
        if extra:
            last = page[-1]
            next_cursor = encode_cursor(
                [_iso(last.sla_deadline), last.filed_at.isoformat(), last.claim_id]
            )
        return ClaimPage(page, next_cursor)

    @get(
        "/{claim_id:str}", guards=[requires(Permission.CLAIMS_READ)], summary="A claim",
        description="Its documents checklist, days open, SLA deadline, time left or days late, "
        "the penalty accrued (as of `as_of`), the decision with its benefit lines and formulas, "
        "and the heirs.",
        responses={422: REFUSED},
    )  # fmt: skip
    async def show(
        self,
        claim_id: IdParam,
        request: AuthRequest,
        as_of: AsOf = None,
        min_position: MinPosition = None,
    ) -> ClaimDetail:
        check_day(as_of, "as_of")
        day = as_of or business_today()
        pool = db_pool(request.app.state)
        await await_read_models(pool, _BOARD, min_position)
        row = await pool.fetchrow(
            f"""SELECT {_CLAIM_COLUMNS}, p.name, p.nik, p.phone, p.kecamatan, p.desa, p.kpj
                FROM rm.claims c LEFT JOIN rm.participants p
                  ON p.participant_id = c.participant_id COLLATE "C"
                WHERE c.claim_id = $1""",
            claim_id,
        )
        principal = request.user
        if row is None or (
            principal.kecamatan and not (row["kecamatan"] and in_scope(principal, row["kecamatan"]))
        ):
            raise NotFound("claim", claim_id)
        state = await api_services(request.app.state).claims.claim(claim_id)
        return _detail(row, state, day, principal)

    @get(
        "/{claim_id:str}/assessment", guards=[requires(Permission.CLAIMS_READ)],
        summary="What a decision would find, as known at an instant",
        description="Eligibility (member, covered on the event date, in time, a work accident) "
        "and the benefit lines with their formulas, from the participant's history as Jaga "
        "knew it at `known_at` (default now). Changes nothing.",
        responses={422: REFUSED},
    )  # fmt: skip
    async def assessment(
        self,
        claim_id: IdParam,
        request: AuthRequest,
        known_at: Annotated[
            datetime | None,
            Parameter(
                description="An instant with its time zone; default now.",
                examples=[Example(value="2025-12-01T10:00:00+07:00")],
            ),
        ] = None,
        medical_billed: Annotated[
            int, Parameter(ge=0, le=10**15, description="Medical bills to assess (rupiah).")
        ] = 0,
    ) -> AssessmentView:
        at = known_at or datetime.now(UTC)
        check_past_instant(at, "known_at")
        await _claim_in_scope(request, claim_id)
        command = commands.DecideClaim(claim_id=claim_id, medical_billed=medical_billed)
        found = await api_services(request.app.state).claims.assess(claim_id, command, at)
        return AssessmentView(
            claim_id=claim_id, eligible=found.eligibility.eligible,
            eligibility=found.eligibility, lines=lines_of(found.lines),
            not_granted=list(found.not_granted), total=found.total,
            benefit_rules_version=found.benefit_rules_version,
        )  # fmt: skip

    @get(
        "/{claim_id:str}/timeline", guards=[requires(Permission.CLAIMS_READ)],
        summary="The claim's timeline: who did what, when, and why",
        description="Every event of the claim (read model `audit_timeline`) in log order, with "
        "the actor, business and record time, correlation and causation, and a summary in "
        "Bahasa Indonesia without personal data: the history an officer works from.",
        responses={404: NOT_FOUND},
    )  # fmt: skip
    async def timeline(
        self,
        claim_id: IdParam,
        request: AuthRequest,
        cursor: Cursor = None,
        limit: Limit = 100,
        min_position: MinPosition = None,
    ) -> Timeline:
        return await subject_timeline(
            request, "claim", claim_id, cursor=cursor, limit=limit, min_position=min_position
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _keyset(after: list[Any] | None) -> list[Any]:
    """The cursor's sort key as query parameters: claim id, deadline, filed at."""
    if after is None:
        return [None, None, None]
    deadline, filed_at, claim_id = after
    try:
        day = date.fromisoformat(deadline) if deadline is not None else None
    except (TypeError, ValueError):
        raise bad_cursor() from None
    if not isinstance(claim_id, str):
        raise bad_cursor()
    return [claim_id, day, cursor_instant(filed_at)]


def _summary(row: asyncpg.Record, day: date) -> ClaimSummary:
    entry = board_entry(_claim_row(row), day)
    claim, sla = entry.claim, entry.sla
    return ClaimSummary(
        claim_id=claim.claim_id, kind=claim.kind, state=claim.state,
        participant_id=claim.participant_id, participant_name=row["participant_name"],
        kecamatan=row["kecamatan"], accident_id=claim.accident_id, event_on=claim.event_on,
        filed_at=claim.filed_at, officer=claim.officer,
        missing_documents=list(claim.missing_documents), as_of=day, days_open=entry.days_open,
        sla_deadline=claim.sla_deadline, sla_status=entry.sla_status,
        working_days_left=sla.working_days_left if sla else None,
        working_days_late=sla.working_days_late if sla else None,
        accrued_penalty=entry.accrued_penalty, total=claim.total, updated_at=claim.updated_at,
    )  # fmt: skip


def _detail(row: asyncpg.Record, state: ClaimState, day: date, principal: Principal) -> ClaimDetail:
    entry = board_entry(_claim_row(row), day)
    claim = entry.claim
    accrued = entry.sla.penalty if entry.sla is not None else None
    penalty_line = state.payment.penalty if state.payment is not None else None
    if penalty_line is None and accrued is not None:
        penalty_line = lines_of([accrued])[0]
    personal = shows_personal_data(principal)
    return ClaimDetail(
        claim_id=claim.claim_id, kind=claim.kind, state=claim.state,
        participant=_participant(row, principal),
        accident_id=claim.accident_id, event_on=claim.event_on, filed_at=claim.filed_at,
        officer=claim.officer, required_documents=list(claim.required_documents),
        received_documents=list(claim.received_documents),
        missing_documents=list(claim.missing_documents),
        documents_complete_at=claim.documents_complete_at, as_of=day,
        days_open=entry.days_open, sla=entry.sla, sla_status=entry.sla_status,
        sla_flag=claim.sla_flag, accrued_penalty=entry.accrued_penalty,
        proposed_by=claim.proposed_by, approved_by=claim.approved_by, total=claim.total,
        paid_amount=claim.paid_amount, paid_at=claim.paid_at, penalty=claim.penalty,
        penalty_line=penalty_line,
        rejection_reasons=list(claim.rejection_reasons), closed_at=claim.closed_at,
        decision=_decision(state),
        heirs=[HeirView(name=shown("name", h.name, clear=personal),
                        nik=shown("nik", h.nik, clear=personal),
                        relation=h.relation, payee=h.payee) for h in state.heirs],
        updated_at=claim.updated_at, last_position=claim.last_position,
    )  # fmt: skip
