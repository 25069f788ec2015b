"""The cohorts area of the HTTP API.

Commands (COHORTS_MANAGE) are what the registrar's `administer` does: create, open, close and
roll over a cohort. Reads query the rm.* views only: the list of cohorts, each cohort's
dashboard (quota used, waiting list, amount due and paid per month against the allocation,
worked out when read by projections/cohorts.py), its waiting list in order, and what its
payers owe (projections/contributions.py). A read given `min_position` first waits, bounded,
for the read models it uses to reach it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from projections.cohorts import budget_of
from projections.contributions import Dues, dues_of
from services.access import Permission
from services.api import api_services
from services.api.auth import BEARER, AuthRequest, context_of, requires
from services.api.common import (
    PRINTABLE,
    CommandResult,
    Cursor,
    Limit,
    MinPosition,
    Resource,
    appended,
    await_read_models,
    bad_cursor,
    business_today,
    command_result,
    decode_cursor,
    encode_cursor,
    run_command,
    scope_of,
)
from services.api.problems import problem_response
from services.commands import CloseCohort, CreateCohort, OpenCohort, RollOverCohort
from services.domain.calendar import Month
from services.domain.errors import FieldError, NotFound, ValidationFailed
from services.domain.policy import DEFAULT_POLICY

COHORT_READ_MODELS = ("cohort_dashboard", "participant_status")
"""A cohort's dashboard adds up its members, so it waits for both."""
MAX_COVERAGE_MONTHS = 60
"""A coverage period longer than this is a typing error (a dashboard lists every month)."""
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

COHORT_ID = r"^[A-Za-z0-9_.]{1,64}$"

CohortId = Annotated[
    str,
    msgspec.Meta(
        pattern=COHORT_ID, examples=["kph2025"],
        description="Letters, digits, '_' and '.'; at most 64 characters",
    ),
]  # fmt: skip
CohortPath = Annotated[str, PathParameter(pattern=COHORT_ID, description="The cohort's id")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=PRINTABLE)]
Reason = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=500, pattern=PRINTABLE,
                 examples=["kuota tahun anggaran 2025 habis"]),
]  # fmt: skip
BudgetYear = Annotated[int, msgspec.Meta(ge=EARLIEST_YEAR, le=LATEST_YEAR, examples=[2025])]
Quota = Annotated[
    int, msgspec.Meta(ge=1, le=10_000_000, examples=[1984], description="Slots (workers)")
]
Allocation = Annotated[
    int,
    msgspec.Meta(ge=0, le=10**15, examples=[100_000_000],
                 description="Rupiah budgeted for the coverage period"),
]  # fmt: skip
Programme = Literal["JKK", "JKM", "JHT"]


# -- refusals in OpenAPI (services/api/problems.py adds those every route shares) ----------

DUPLICATE_COHORT = problem_response(
    409, "duplicate", "Already exists", "cohort 'kph2025' already exists"
)
NOT_NOW = problem_response(
    409, "illegal-transition", "Not allowed in this state",
    "cohort: cannot close from state 'created': it is not open",
)  # fmt: skip
INVALID_COHORT = problem_response(
    422, "validation-failed", "Invalid input", "coverage_end: must come after coverage_start"
)


# -- bodies ----------------------------------------------------------------------------------


class NewCohort(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A funded intake. It takes registrations once opened (POST /cohorts/{id}/open)."""

    cohort_id: CohortId
    name: Annotated[Name, msgspec.Meta(examples=["Pekerja rentan Kepahiang 2025"])]
    sponsor: Annotated[Name, msgspec.Meta(examples=["APBD Kabupaten Kepahiang"])]
    budget_year: BudgetYear
    quota: Quota
    programmes: Annotated[
        list[Programme],
        msgspec.Meta(min_length=1, max_length=3, examples=[["JKK", "JKM"]],
                     description="At least JKK and JKM; JHT optional"),
    ]  # fmt: skip
    coverage_start: Annotated[date, msgspec.Meta(examples=["2025-10-01"])]
    coverage_end: Annotated[date, msgspec.Meta(examples=["2025-12-31"])]
    budget_allocation: Allocation
    legal_basis: Annotated[
        list[Name],
        msgspec.Meta(min_length=1, max_length=20, examples=[["Inpres 2/2021", "Inpres 8/2025"]]),
    ]


class CloseRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason


class RollOverRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new budget year: quota, coverage period and allocation; the waiting list moves up."""

    budget_year: BudgetYear
    quota: Quota
    coverage_start: Annotated[date, msgspec.Meta(examples=["2026-01-01"])]
    coverage_end: Annotated[date, msgspec.Meta(examples=["2026-12-31"])]
    budget_allocation: Allocation


def check_coverage_period(start: date, end: date) -> None:
    """Dates a cohort can have; the domain checks that the period runs forward."""
    errors = [
        FieldError(field, f"must lie in {EARLIEST_YEAR}-{LATEST_YEAR}")
        for field, day in (("coverage_start", start), ("coverage_end", end))
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR
    ]
    if not errors and Month.of(start).months_until(Month.of(end)) >= MAX_COVERAGE_MONTHS:
        errors.append(FieldError("coverage_end", f"at most {MAX_COVERAGE_MONTHS} months"))
    if errors:
        raise ValidationFailed(errors)


# -- views -----------------------------------------------------------------------------------


class CohortView(msgspec.Struct, frozen=True, kw_only=True):
    """A cohort as rm.cohorts has it; `enrolled` is the quota used."""

    cohort_id: str
    name: str | None
    sponsor: str | None
    budget_year: int | None
    quota: int | None
    programmes: list[str]
    coverage_start: date | None
    coverage_end: date | None
    budget_allocation: int | None
    legal_basis: list[str]
    state: Literal["created", "open", "closed"] | None
    enrolled: int
    free_slots: int
    waitlisted: int
    amount_paid: int
    """The sponsor's money received, every year (payments not reversed)."""
    credit: int
    policy_version: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> CohortView:
        return cls(**_cohort_fields(row))


def _cohort_fields(row: asyncpg.Record) -> dict[str, Any]:
    fields = {name: row[name] for name in CohortView.__struct_fields__ if name != "free_slots"}
    fields["programmes"] = list(row["programmes"] or ())
    fields["legal_basis"] = list(row["legal_basis"] or ())
    fields["free_slots"] = max(0, (row["quota"] or 0) - row["enrolled"])
    return fields


class MonthDue(msgspec.Struct, frozen=True, kw_only=True):
    """One month of the coverage period: what the sponsor owes for the members it funds."""

    month: str
    members: int
    amount_due: int
    amount_paid: int
    participants_paid: int
    shortfall: int
    """amount_due - amount_paid (negative: paid ahead or more)."""


class Budget(msgspec.Struct, frozen=True, kw_only=True):
    """The current budget year against its allocation."""

    budget_year: int | None
    budget_allocation: int | None
    amount_due: int
    """Due for every month of the coverage period, for the members funded then."""
    amount_paid: int
    """Paid by the sponsor's shares for the period's months."""
    allocation_left: int | None
    credit: int
    months: list[MonthDue]


class CohortDashboard(CohortView, frozen=True, kw_only=True):
    """A cohort with its budget: quota used (`enrolled`), waiting list and money per month."""

    budget: Budget


class CohortPage(msgspec.Struct, frozen=True):
    items: list[CohortView]
    next_cursor: str | None


class WaitingEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One place on a waiting list: priority registrations first when the policy says so,
    then order of arrival."""

    position: int
    participant_id: str
    name: str
    kecamatan: str
    desa: str
    priority: bool
    registered_at: datetime | None


class WaitingListPage(msgspec.Struct, frozen=True):
    items: list[WaitingEntry]
    next_cursor: str | None


class DuesPage(msgspec.Struct, frozen=True):
    """The cohort's sponsor first, then each member paying for themself (mandiri)."""

    items: list[Dues]
    next_cursor: str | None


# -- reading ---------------------------------------------------------------------------------


async def _cohort_row(
    pool: asyncpg.Pool, cohort_id: str, min_position: int | None
) -> asyncpg.Record:
    """The cohort's row once its read models have reached `min_position` (404: no cohort)."""
    await await_read_models(pool, COHORT_READ_MODELS, min_position)
    row = await pool.fetchrow("SELECT * FROM rm.cohorts WHERE cohort_id = $1", cohort_id)
    if row is None:
        raise NotFound("cohort", cohort_id)
    return row


_WAITING_LIST = """
SELECT position, participant_id, name, kecamatan, desa, priority, registered_at, first, seq
FROM (SELECT row_number() OVER (ORDER BY (priority AND $2) DESC, waitlist_seq) AS position,
             participant_id, name, kecamatan, desa, priority, registered_at,
             priority AND $2 AS first, waitlist_seq AS seq
      FROM rm.participants WHERE cohort_id = $1 AND status = 'waitlisted') w
WHERE ($3::boolean IS NULL OR (NOT first, seq) > (NOT $3, $4::bigint))
  AND ($5::text[] IS NULL OR kecamatan = ANY($5))
ORDER BY position LIMIT $6"""
"""A page of a waiting list. Positions are counted over the whole list, so a kecamatan-scoped
user sees the true places of their own people; pages continue after the sort key (not the
position), so a promotion between two pages neither repeats nor skips anyone."""


class CohortsController(Controller):
    """Cohorts: funded intakes with a quota, a waiting list and a budget."""

    path = "/cohorts"
    tags = ["cohorts"]  # noqa: RUF012 - Litestar reads it as a class attribute
    security = BEARER

    # -- commands ----------------------------------------------------------------------------

    @post(
        "/", status_code=201, guards=[requires(Permission.COHORTS_MANAGE)],
        summary="Create a cohort",
        description="A funded intake: sponsor, budget year, quota, programmes, coverage period, "
        "allocation and legal basis. It takes registrations once opened. Accepts an "
        "Idempotency-Key.",
        responses={409: DUPLICATE_COHORT, 422: INVALID_COHORT},
    )  # fmt: skip
    async def create(self, data: JSONBody[NewCohort], request: AuthRequest) -> CommandResult:
        check_coverage_period(data.coverage_start, data.coverage_end)
        command = CreateCohort(**msgspec.structs.asdict(data))
        return await _administer(request, data, command)

    @post(
        "/{cohort_id:str}/open", status_code=200, guards=[requires(Permission.COHORTS_MANAGE)],
        summary="Open a cohort for registrations",
        description="Registrations take slots up to the quota, then join the waiting list. "
        "Accepts an Idempotency-Key.",
        responses={409: NOT_NOW},
    )  # fmt: skip
    async def open(self, cohort_id: CohortPath, request: AuthRequest) -> CommandResult:
        return await _administer(request, {"cohort_id": cohort_id}, OpenCohort(cohort_id))

    @post(
        "/{cohort_id:str}/close", status_code=200, guards=[requires(Permission.COHORTS_MANAGE)],
        summary="Close a cohort to registrations",
        description="Members stay members; no one registers any more. Accepts an "
        "Idempotency-Key.",
        responses={409: NOT_NOW},
    )  # fmt: skip
    async def close(
        self, cohort_id: CohortPath, data: JSONBody[CloseRequest], request: AuthRequest
    ) -> CommandResult:
        return await _administer(request, data, CloseCohort(cohort_id, data.reason))

    @post(
        "/{cohort_id:str}/roll-over", status_code=200,
        guards=[requires(Permission.COHORTS_MANAGE)],
        summary="Roll a cohort over into a new budget year",
        description="New quota, coverage period and allocation; the waiting list moves up "
        "into the free slots (their membership starts with the new period). Accepts an "
        "Idempotency-Key.",
        responses={409: NOT_NOW, 422: INVALID_COHORT},
    )  # fmt: skip
    async def roll_over(
        self, cohort_id: CohortPath, data: JSONBody[RollOverRequest], request: AuthRequest
    ) -> CommandResult:
        check_coverage_period(data.coverage_start, data.coverage_end)
        command = RollOverCohort(cohort_id=cohort_id, **msgspec.structs.asdict(data))
        return await _administer(request, data, command)

    # -- reads -------------------------------------------------------------------------------

    @get(
        "/", guards=[requires(Permission.COHORTS_READ)], summary="List cohorts",
        description="Every cohort in id order, optionally only those in one state.",
    )  # fmt: skip
    async def list_cohorts(
        self,
        request: AuthRequest,
        cohort_state: Annotated[
            Literal["created", "open", "closed"] | None,
            QueryParameter(name="state", description="Only cohorts in this state"),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> CohortPage:
        pool = api_services(request.app.state).store.pool
        await await_read_models(pool, ("cohort_dashboard",), min_position)
        after = decode_cursor(cursor, width=1)
        rows = await pool.fetch(
            """SELECT * FROM rm.cohorts
               WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR cohort_id > $2)
               ORDER BY cohort_id LIMIT $3""",
            cohort_state,
            str(after[0]) if after else None,
            limit + 1,
        )
        items = [CohortView.of(r) for r in rows[:limit]]
        more = len(rows) > limit
        return CohortPage(items, encode_cursor([items[-1].cohort_id]) if more else None)

    @get(
        "/{cohort_id:str}", guards=[requires(Permission.COHORTS_READ)],
        summary="A cohort and its dashboard",
        description="Quota used and free, waiting list length, and the budget of the current "
        "budget year: per month of the coverage period, the amount due for the members the "
        "sponsor funds then (rates in force for the month) against the amount paid, and "
        "what is left of the allocation.",
    )  # fmt: skip
    async def dashboard(
        self, cohort_id: CohortPath, request: AuthRequest, min_position: MinPosition = None
    ) -> CohortDashboard:
        pool = api_services(request.app.state).store.pool
        row = await _cohort_row(pool, cohort_id, min_position)
        found = await budget_of(pool, cohort_id)
        if found is None:  # the cohort was just read: only a concurrent rebuild can do this
            raise NotFound("cohort", cohort_id)
        allocation = found.budget_allocation
        budget = Budget(
            budget_year=found.budget_year, budget_allocation=allocation,
            amount_due=found.amount_due, amount_paid=found.amount_paid,
            allocation_left=None if allocation is None else allocation - found.amount_paid,
            credit=found.credit,
            months=[
                MonthDue(month=m.month, members=m.members, amount_due=m.amount_due,
                         amount_paid=m.amount_paid, participants_paid=m.participants_paid,
                         shortfall=m.shortfall)
                for m in found.months
            ],
        )  # fmt: skip
        return CohortDashboard(**_cohort_fields(row), budget=budget)

    @get(
        "/{cohort_id:str}/waiting-list", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="A cohort's waiting list, in order",
        description="Who waits for a slot, position 1 first (priority registrations first "
        "when the policy says so, then order of arrival). Lists people, so it needs the right "
        "to read participants; a kecamatan-scoped user sees their own people at their places "
        "on the whole list.",
    )  # fmt: skip
    async def waiting_list(
        self,
        cohort_id: CohortPath,
        request: AuthRequest,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> WaitingListPage:
        pool = api_services(request.app.state).store.pool
        await _cohort_row(pool, cohort_id, min_position)
        after = decode_cursor(cursor, width=2)
        first, seq = (bool(after[0]), _int(after[1])) if after else (None, None)
        rows = await pool.fetch(
            _WAITING_LIST, cohort_id, DEFAULT_POLICY.waiting_list_priority_first, first, seq,
            scope_of(request.user), limit + 1,
        )  # fmt: skip
        items = [
            WaitingEntry(
                position=r["position"], participant_id=r["participant_id"], name=r["name"],
                kecamatan=r["kecamatan"], desa=r["desa"], priority=r["priority"],
                registered_at=r["registered_at"],
            )
            for r in rows[:limit]
        ]  # fmt: skip
        last = rows[limit - 1] if len(rows) > limit else None
        return WaitingListPage(items, encode_cursor([last["first"], last["seq"]]) if last else None)

    @get(
        "/{cohort_id:str}/contributions-due", guards=[requires(Permission.PAYMENTS_READ)],
        summary="What a cohort's payers owe, as of today",
        description="Per payer, as of today (Asia/Jakarta): the cohort's sponsor for the "
        "members it funds, and each member paying for themself: the next month falling due "
        "and its amount still to pay, and arrears (months past due, unpaid, still payable) "
        "with the earliest day a membership ends if nothing more is paid.",
    )  # fmt: skip
    async def contributions_due(
        self,
        cohort_id: CohortPath,
        request: AuthRequest,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> DuesPage:
        pool = api_services(request.app.state).store.pool
        await _cohort_row(pool, cohort_id, min_position)
        found = await dues_of(pool, business_today(), cohort_ids=[cohort_id])
        scope = scope_of(request.user)
        if scope is not None:
            own = await pool.fetch(
                """SELECT participant_id FROM rm.participants
                   WHERE participant_id = ANY($1::text[]) AND kecamatan = ANY($2::text[])""",
                [d.payer for d in found if d.payer_kind == "participant"],
                scope,
            )
            mine = {r[0] for r in own}
            found = [d for d in found if d.payer_kind == "sponsor" or d.payer in mine]
        after = decode_cursor(cursor, width=2)
        if after:
            found = [d for d in found if _dues_key(d) > (bool(after[0]), str(after[1]))]
        page = found[:limit]
        more = len(found) > limit
        return DuesPage(page, encode_cursor(list(_dues_key(page[-1]))) if more else None)


def _dues_key(dues: Dues) -> tuple[bool, str]:
    """The order of `dues`: the sponsor first, then participants by id."""
    return (dues.payer_kind != "sponsor", dues.payer)


def _int(value: object) -> int:
    """A position from a cursor; anything else was not made by this API."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise bad_cursor()
    return value


async def _administer(
    request: AuthRequest,
    body: object,
    command: CreateCohort | OpenCohort | CloseCohort | RollOverCohort,
) -> CommandResult:
    """Create, open, close or roll over: the registrar's `administer`."""
    services = api_services(request.app.state)
    cohort_id = command.cohort_id
    resource = Resource("cohort", cohort_id, f"/cohorts/{cohort_id}")

    async def run() -> CommandResult:
        streams, position = appended(
            await services.registrar.administer(command, context_of(request))
        )
        return await command_result(services.store.pool, resource, streams, position)

    return await run_command(request, body, run, response_type=CommandResult)
