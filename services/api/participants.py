"""The participants area of the HTTP API.

Commands (PARTICIPANTS_REGISTER) go through the registrar: register one worker, import the
regency's spreadsheet (services/importer.py), leave, rejoin, record the KPJ, change funder.
Reads (PARTICIPANTS_READ) query rm.participants only and answer each participant with their
standing as of today in Asia/Jakarta (projections/participants.standing: active, in arrears,
membership ended... worked out when read from the stored facts).

Personal data: NIKs and phone numbers are masked, and the birth date (which the NIK's middle
digits would give away) withheld, for users without PERSONAL_DATA_READ, as services/access.py
`shown` masks every personal field (names and region codes stay readable). A kecamatan-scoped
user sees and works on the participants of their kecamatan only: anyone else is a 404, as if
absent, and lists leave them out.

Lookups: by id and by NIK are one primary-key query each (one NIK is one participant, whose
id derives from the keyed NIK hash: the NIK is hashed, never decrypted to search); by KPJ uses
its index. The search pages in participant id order (keyset over the primary key); see
`search` for how the status filter is applied.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Controller, get, post, put
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, PathParameter, QueryParameter

from events.catalog import ParticipantRegistered
from events.personal import LookupHasher
from events.store import Context
from projections.participants import (
    Standing,
    StatusAsOf,
    contributions_of,
    participant_row,
    participant_rows,
    standing,
)
from services import importer
from services.access import (
    Permission,
    Principal,
    in_scope,
    mask_nik,
    shown,
    shows_personal_data,
)
from services.api import api_services, problem
from services.api.audit import Timeline, subject_timeline
from services.api.auth import BEARER, AuthRequest, context_of, requires
from services.api.cohorts import COHORT_ID, Name
from services.api.common import (
    PRINTABLE,
    Appended,
    CommandResult,
    Cursor,
    Limit,
    MinPosition,
    Resource,
    appended,
    await_read_models,
    business_today,
    command_result,
    decode_cursor,
    encode_cursor,
    run_command,
    scope_of,
)
from services.api.problems import NOT_FOUND, problem_response
from services.commands import ChangeFunder, LeaveCohort, RecordKpj, RegisterWorker, Rejoin
from services.domain.coverage import CoverageReason, is_covered
from services.domain.errors import FieldError, NotFound
from services.domain.nik import normalise_nik, parse_nik
from services.domain.regions import normalise_code
from services.participants import FUNDERS
from services.registration import OCCUPATIONS, Registrar, participant_id_for
from services.secrets import resolve_secrets
from services.streams import cohort_stream, participant_stream

PARTICIPANT_READ_MODELS = ("participant_status",)
PARTICIPANT_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCAN_BUDGET = 2000
"""The most participants one page of a search by a time-dependent status looks at."""
_SCAN_CHUNK = 250

ParticipantPath = Annotated[
    str, PathParameter(pattern=PARTICIPANT_ID, description="The participant's id (a UUID)")
]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=PRINTABLE)]
NikPath = Annotated[
    str,
    PathParameter(min_length=1, max_length=32, pattern=r"^[0-9 .-]+$",
                  description="16 digits (spaces, dots and dashes are dropped)"),
]  # fmt: skip
KpjPath = Annotated[str, PathParameter(pattern=r"^[0-9]{1,32}$", description="The KPJ")]
NameFilter = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=100, pattern=PRINTABLE,
                   description="Part of the name, any case"),
]  # fmt: skip
CodeFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=32, pattern=PRINTABLE, description="Official code (17.08.01)"
    ),
]
COMPUTED_STATUSES = ("active", "in_arrears", "membership_ended")
"""Statuses that depend on today: the row says 'enrolled', `standing` says which."""


# -- refusals in OpenAPI (services/api/problems.py adds those every route shares) ----------

DUPLICATE_NIK = problem_response(
    409, "duplicate", "Already exists",
    "participant 'NIK' already exists (already recorded as 3f1c2a9e-0b7d-5e41-9a7c-2d8e6f4b1a03)",
)  # fmt: skip
INVALID_REGISTRATION = problem_response(
    422, "validation-failed", "Invalid input",
    "sex: declared sex 'L' disagrees with the NIK, which says 'P'; kecamatan: unknown "
    "kecamatan code '17.08.99' in Kepahiang (17.08)",
)  # fmt: skip
NOT_NOW = problem_response(
    409, "illegal-transition", "Not allowed in this state",
    "participant: cannot leave from state 'waitlisted': only members can leave",
)  # fmt: skip
INVALID_CHANGE = problem_response(
    422, "validation-failed", "Invalid input", "kpj: a KPJ number is 8 to 13 digits"
)
UNREADABLE = problem_response(
    422, "unreadable-file", "Unreadable participant list",
    "daftar.csv cannot be read as a CSV participant list: missing columns: penghasilan",
)  # fmt: skip
TOO_LARGE = problem_response(
    413, "request-entity-too-large", "Request Entity Too Large", "the upload exceeds 10 MB"
)
INVALID_NIK = problem_response(
    422, "validation-failed", "Invalid input", "nik: NIK must be 16 digits, got 15"
)


# -- bodies ----------------------------------------------------------------------------------


class NewParticipant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One worker asking to join a cohort: a slot while the quota allows, else the waiting
    list. The birth date and sex must agree with the NIK; the desa must lie in the kecamatan."""

    cohort_id: Annotated[str, msgspec.Meta(pattern=COHORT_ID, examples=["kph2025"])]
    nik: Annotated[
        Code,
        msgspec.Meta(examples=["1708014107850001"],
                     description="16 digits; spaces, dots and dashes are dropped"),
    ]  # fmt: skip
    name: Annotated[Name, msgspec.Meta(examples=["Siti Aminah"])]
    birth_date: Annotated[date, msgspec.Meta(examples=["1985-07-01"])]
    sex: Annotated[Literal["L", "P"], msgspec.Meta(description="L laki-laki, P perempuan")]
    phone: Annotated[Code, msgspec.Meta(examples=["081234567890"])]
    kecamatan: Annotated[Code, msgspec.Meta(examples=["17.08.01"], description="Official code")]
    desa: Annotated[Code, msgspec.Meta(examples=["17.08.01.2001"], description="Official code")]
    occupation: Annotated[
        Code, msgspec.Meta(examples=["ojek"], description=f"One of: {', '.join(OCCUPATIONS)}")
    ]
    declared_income: Annotated[
        int,
        msgspec.Meta(ge=0, le=10**12, examples=[1_000_000],
                     description="Monthly rupiah, at least Rp1.000.000"),
    ]  # fmt: skip
    priority: Annotated[
        bool, msgspec.Meta(description="E.g. an extreme-poverty household: goes first on the "
                           "waiting list when the policy says so")
    ] = False  # fmt: skip


class LeaveRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Annotated[
        Literal["death", "withdrawal", "moved_away", "formal_employee"],
        msgspec.Meta(description="Why the member leaves; their slot goes to the next in line"),
    ]
    left_on: Annotated[date, msgspec.Meta(examples=["2025-11-20"])]


class KpjRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kpj: Annotated[
        Code, msgspec.Meta(examples=["25010000001"], description="BPJS number: 8 to 13 digits")
    ]


class FunderRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    funder: Annotated[
        Literal["apbd_kabupaten", "apbd_provinsi", "mandiri"],
        msgspec.Meta(description="Who pays from `from_month` on (mandiri: the worker)"),
    ]
    from_month: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-01"])]


class ParticipantImport(msgspec.Struct, frozen=True):
    """The regency's list: CSV (comma or semicolon, UTF-8 with or without BOM) or XLSX, with
    the columns nik, nama, tanggal_lahir, jenis_kelamin, no_hp, kecamatan, desa, pekerjaan,
    penghasilan (any order)."""

    cohort_id: Annotated[
        str,
        msgspec.Meta(pattern=COHORT_ID, examples=["kph2025"],
                     description="The cohort the workers ask to join"),
    ]  # fmt: skip
    file: UploadFile


# -- views -----------------------------------------------------------------------------------


class StandingView(msgspec.Struct, frozen=True, kw_only=True):
    """Where the participant stands as of `as_of` (today, Asia/Jakarta)."""

    as_of: date
    status: StatusAsOf
    waitlist_position: int | None
    """1 = next in line for a slot (only while waitlisted)."""
    arrears_months: int
    arrears_amount: int
    lapses_on: date | None
    """The day membership ends if nothing more is paid (None: not an active member)."""
    member_since: date | None
    """First day of the current membership period."""

    @classmethod
    def of(cls, found: Standing) -> StandingView:
        current = found.history.current_period if found.history else None
        return cls(
            as_of=found.as_of, status=found.status_as_of,
            waitlist_position=found.waitlist_position, arrears_months=found.arrears_months,
            arrears_amount=found.arrears_amount, lapses_on=found.lapses_on,
            member_since=current.starts_on if current else None,
        )  # fmt: skip


class ParticipantView(msgspec.Struct, frozen=True, kw_only=True):
    """A participant as rm.participants has them, with their standing as of today. `nik` and
    `phone` are masked and `birth_date` withheld for users who may not see personal data;
    erased personal data reads "dihapus"."""

    participant_id: str
    cohort_id: str | None
    nik: str | None
    name: str | None
    birth_date: str | None
    sex: str | None
    phone: str | None
    kecamatan: str | None
    desa: str | None
    occupation: str | None
    declared_income: int | None
    priority: bool | None
    kpj: str | None
    funder: str | None
    funder_from: str | None
    programmes: list[str]
    enrolled_on: date | None
    enrolments: list[date]
    left_on: date | None
    left_reason: str | None
    registered_at: datetime | None
    updated_at: datetime | None
    standing: StandingView


class ParticipantPage(msgspec.Struct, frozen=True):
    """A page of participants in id order. A search by a status that depends on today may
    give fewer than `limit` items (even none) while `next_cursor` is set: follow it."""

    items: list[ParticipantView]
    next_cursor: str | None


class CoverageView(msgspec.Struct, frozen=True, kw_only=True):
    """Was the participant covered on `on`, as known today, and why (coverage rules of
    services/domain/coverage.py: the month paid by its due date, or before that day)."""

    participant_id: str
    on: date
    covered: bool
    reason: str
    explanation: str
    month: str
    period: int | None
    """The membership period (1 = first) that includes the day."""
    payment_reference: str | None
    paid_on: date | None
    rules_version: str
    standing: StandingView


class MonthView(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    period: int
    due_on: date
    amount_due: int
    amount_paid: int
    status: Literal["paid_on_time", "paid_late", "not_yet_due", "in_arrears", "unpaid"]
    """in_arrears: past due, still payable; unpaid: no longer payable."""
    paid_on: date | None
    paid_by: str | None


class PaymentView(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    payer: str
    months: list[str]
    amount: int
    paid_at: datetime
    reversed: bool


class ContributionsView(msgspec.Struct, frozen=True, kw_only=True):
    """Every contribution month of every membership period as of today, the payments that
    paid them, arrears, and money held as credit or owed back."""

    participant_id: str
    standing: StandingView
    months: list[MonthView]
    payments: list[PaymentView]
    credit: int
    refunds: int


class RejectedRow(msgspec.Struct, frozen=True):
    row: int
    """As numbered in the spreadsheet (header = 1)."""
    nik: str
    """Masked."""
    errors: list[FieldError]
    """By column (the Indonesian header)."""


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of an import: counts, and every refused row with its reasons. A re-run
    registers nobody twice (those rows count as already registered)."""

    position: int
    """Pass as `min_position` to see the registrations (0: none were made)."""
    cohort_id: str
    rows: int
    enrolled: int
    waitlisted: int
    already_registered: int
    rejected: list[RejectedRow]


# -- reading ---------------------------------------------------------------------------------


def participant_view(row: dict[str, Any], principal: Principal, today: date) -> ParticipantView:
    clear = shows_personal_data(principal)

    def personal(field: str) -> str | None:
        return shown(field, row[field], clear=clear)

    return ParticipantView(
        participant_id=row["participant_id"], cohort_id=row["cohort_id"],
        nik=personal("nik"), name=personal("name"),
        birth_date=row["birth_date"] if clear else None,  # withheld: null, not ****-**-**
        sex=row["sex"], phone=personal("phone"),
        kecamatan=personal("kecamatan"), desa=personal("desa"), occupation=row["occupation"],
        declared_income=row["declared_income"], priority=row["priority"], kpj=row["kpj"],
        funder=row["funder"], funder_from=row["funder_from"],
        programmes=list(row["programmes"] or ()), enrolled_on=row["enrolled_on"],
        enrolments=list(row["enrolments"] or ()), left_on=row["left_on"],
        left_reason=row["left_reason"], registered_at=row["registered_at"],
        updated_at=row["updated_at"], standing=StandingView.of(standing(row, today)),
    )  # fmt: skip


def _visible(principal: Principal, row: dict[str, Any]) -> bool:
    return in_scope(principal, normalise_code(row["kecamatan"] or ""))


async def _participant(
    pool: asyncpg.Pool, principal: Principal, participant_id: str
) -> dict[str, Any]:
    """The participant's row (with their waiting list position), if this user may see it."""
    row = await participant_row(pool, participant_id)
    if row is None or not _visible(principal, row):
        raise NotFound("participant", participant_id)
    return row


def _nik_hasher(state: State) -> LookupHasher:
    """The keyed NIK hash the registrar uses, made once per app."""
    hasher: LookupHasher | None = state.get("nik_hasher")
    if hasher is None:
        hasher = state["nik_hasher"] = resolve_secrets(state.settings).lookup()
    return hasher


_STORED_STATUS = {"registered", "waitlisted", "left", "deceased"}


async def search(
    pool: asyncpg.Pool,
    principal: Principal,
    today: date,
    *,
    conditions: dict[str, object],
    status: StatusAsOf | None,
    after: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of participants matching `conditions` (SQL, over indexed or scanned columns)
    and `status`, after the participant id `after`.

    A status the rows store (registered, waitlisted, left, deceased) is one more SQL
    condition. One that depends on today (active, in_arrears, membership_ended) narrows the
    SQL to enrolled rows, whose standing is then worked out in id order, in chunks growing
    from one page to _SCAN_CHUNK rows, until the page is full or SCAN_BUDGET rows were looked
    at: then the page is short and its cursor continues after the last row looked at. Never
    OFFSET; every query walks the primary key from the cursor."""
    where = dict(conditions)
    if status is not None:
        where["status = {}"] = status if status in _STORED_STATUS else "enrolled"
    chunk, scanned = limit + 1, 0
    found: list[dict[str, Any]] = []
    while True:
        ids = await _ids(pool, where, scope_of(principal), after, chunk)
        rows = sorted(await participant_rows(pool, ids), key=lambda r: r["participant_id"])
        if status not in COMPUTED_STATUSES:
            return rows[:limit], rows[limit - 1]["participant_id"] if len(rows) > limit else None
        for row in rows:
            if standing(row, today).status_as_of == status:
                found.append(row)
                if len(found) == limit:
                    more = row is not rows[-1] or len(ids) == chunk
                    return found, row["participant_id"] if more else None
        scanned += len(ids)
        if len(ids) < chunk:
            return found, None
        after = ids[-1]
        if scanned >= SCAN_BUDGET:
            return found, after
        chunk = min(2 * chunk, _SCAN_CHUNK)


async def _ids(
    pool: asyncpg.Pool,
    where: dict[str, object],
    scope: list[str] | None,
    after: str | None,
    limit: int,
) -> list[str]:
    """Participant ids in id order: each `where` key is a condition with `{}` for its value."""
    args: list[object] = []
    clauses: list[str] = []
    for clause, value in [*where.items(), ("kecamatan = ANY({}::text[])", scope),
                          ("participant_id > {}", after)]:  # fmt: skip
        if value is not None:
            args.append(value)
            clauses.append(clause.format(f"${len(args)}"))
    args.append(limit)
    rows = await pool.fetch(
        f"""SELECT participant_id FROM rm.participants
            {"WHERE " + " AND ".join(clauses) if clauses else ""}
            ORDER BY participant_id LIMIT ${len(args)}""",
        *args,
    )
    return [r[0] for r in rows]


def _like(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


# -- writing ---------------------------------------------------------------------------------


async def _check_scope(request: AuthRequest, participant_id: str) -> None:
    """A kecamatan-scoped user works on their own participants only (others: 404, as if
    absent). Read from the participant's first event, not a read model that may lag."""
    principal = request.user
    if not principal.kecamatan:
        return
    store = api_services(request.app.state).store
    first = await store.read_stream(participant_stream(participant_id), up_to=1)
    registered = first[0].data if first else None
    if not isinstance(registered, ParticipantRegistered) or not in_scope(
        principal, normalise_code(registered.kecamatan)
    ):
        raise NotFound("participant", participant_id)


def _refuse_out_of_scope(principal: Principal, codes: Sequence[tuple[str, str]]) -> None:
    """403 when a scoped user registers someone outside their kecamatan: `codes` are
    (where, kecamatan) pairs, e.g. ("row 7", "17.08.02")."""
    outside = [(where, code) for where, code in codes if not in_scope(principal, code)]
    if outside:
        listed = ", ".join(f"{where} ({code})" for where, code in outside[:20])
        raise problem(
            403, "out-of-scope", "Outside your kecamatan",
            f"{principal.username} works in {', '.join(sorted(principal.kecamatan))} only; "
            f"outside it: {listed}{' and more' if len(outside) > 20 else ''}",
        )  # fmt: skip


def _resource(participant_id: str) -> Resource:
    return Resource("participant", participant_id, f"/participants/{participant_id}")


async def _on_participant(
    request: AuthRequest,
    participant_id: str,
    body: object,
    act: Callable[[Registrar, Context], Awaitable[Appended]],
) -> CommandResult:
    """Leave, rejoin, KPJ or funder: scope first, then the registrar, once per key."""
    services = api_services(request.app.state)
    await _check_scope(request, participant_id)

    async def run() -> CommandResult:
        streams, position = await act(services.registrar, context_of(request))
        resource = _resource(participant_id)
        return await command_result(services.store.pool, resource, streams, position)

    return await run_command(request, body, run, response_type=CommandResult)


def _read_list(path: Path) -> list[tuple[int, dict[str, str]]]:
    return list(importer.read_rows(path))


# -- the controller --------------------------------------------------------------------------


class ParticipantsController(Controller):
    """Workers registered into cohorts: registration, membership changes and lookups."""

    path = "/participants"
    tags = ["participants"]  # noqa: RUF012 - Litestar reads it as a class attribute
    security = BEARER

    # -- commands ----------------------------------------------------------------------------

    @post(
        "/", status_code=201, guards=[requires(Permission.PARTICIPANTS_REGISTER)],
        summary="Register a worker into a cohort",
        description="A slot while the quota allows, else the waiting list (the answer's "
        "events say which: SlotTaken or WaitlistJoined). One NIK is one participant: a "
        "second registration is a 409 naming the first. Every field error at once (422). "
        "A kecamatan-scoped registrar registers in their kecamatan only (403). Accepts an "
        "Idempotency-Key.",
        responses={404: NOT_FOUND, 409: DUPLICATE_NIK, 422: INVALID_REGISTRATION},
    )  # fmt: skip
    async def register(self, data: JSONBody[NewParticipant], request: AuthRequest) -> CommandResult:
        services = api_services(request.app.state)
        kecamatan, desa = normalise_code(data.kecamatan), normalise_code(data.desa)
        _refuse_out_of_scope(request.user, [("kecamatan", kecamatan)])
        command = RegisterWorker(
            cohort_id=data.cohort_id, nik=data.nik, name=data.name, birth_date=data.birth_date,
            sex=data.sex, phone=data.phone, kecamatan=kecamatan, desa=desa,
            occupation=data.occupation, declared_income=data.declared_income,
            priority=data.priority,
        )  # fmt: skip

        async def run() -> CommandResult:
            done = await services.registrar.register(command, context_of(request))
            streams = [participant_stream(done.participant_id), cohort_stream(data.cohort_id)]
            return await command_result(
                services.store.pool, _resource(done.participant_id), streams, done.position
            )

        return await run_command(request, data, run, response_type=CommandResult)

    @post(
        "/imports", status_code=200, guards=[requires(Permission.PARTICIPANTS_REGISTER)],
        summary="Import the regency's list of workers (CSV or XLSX)",
        description="Registers every valid row in file order (its order of arrival for slots "
        "and the waiting list) and answers the counts and each refused row with its reasons "
        "by column. The whole file is read before anyone is registered: an unreadable file "
        "or missing columns register nobody (422). A re-run registers nobody twice. A "
        "kecamatan-scoped registrar imports rows of their kecamatan only (403). Accepts an "
        "Idempotency-Key.",
        responses={404: NOT_FOUND, 413: TOO_LARGE, 422: UNREADABLE},
    )  # fmt: skip
    async def import_list(
        self,
        data: Annotated[
            ParticipantImport,
            Body(
                media_type=RequestEncodingType.MULTI_PART,
                description="`cohort_id` and the `file` (.csv or .xlsx)",
            ),
        ],
        request: AuthRequest,
    ) -> ImportResult:
        services = api_services(request.app.state)
        cohort_id = data.cohort_id
        content = await data.file.read()
        name = (data.file.filename or "").lower()
        xlsx = name.endswith((".xlsx", ".xlsm")) or data.file.content_type == XLSX_MEDIA_TYPE
        with tempfile.TemporaryDirectory(prefix="jaga-import-") as folder:
            path = Path(folder) / ("list.xlsx" if xlsx else "list.csv")
            path.write_bytes(content)
            try:
                rows = await asyncio.to_thread(_read_list, path)
            except Exception as unreadable:  # any parser error: the file, not the server
                raise problem(
                    422, "unreadable-file", "Unreadable participant list",
                    f"{data.file.filename or 'the file'} cannot be read as a "
                    f"{'XLSX' if xlsx else 'CSV'} participant list: {unreadable}",
                ) from None  # fmt: skip
            _refuse_out_of_scope(
                request.user,
                [(f"row {n}", normalise_code(row.get("kecamatan", ""))) for n, row in rows],
            )
            body = {"cohort_id": cohort_id, "xlsx": xlsx,
                    "sha256": hashlib.sha256(content).hexdigest()}  # fmt: skip

            async def run() -> ImportResult:
                report = await importer.import_participants(
                    services.registrar, path, cohort_id, context_of(request)
                )
                position = await services.store.pool.fetchval(
                    """SELECT position FROM events WHERE stream_id = $1
                       ORDER BY stream_version DESC LIMIT 1""",
                    cohort_stream(cohort_id),
                )
                made = report.enrolled + report.waitlisted
                return ImportResult(
                    position=position if made and position else 0, cohort_id=cohort_id,
                    rows=report.rows, enrolled=report.enrolled, waitlisted=report.waitlisted,
                    already_registered=report.already_registered,
                    rejected=[RejectedRow(r.row, r.nik, r.errors) for r in report.rejected],
                )  # fmt: skip

            return await run_command(request, body, run, response_type=ImportResult)

    @post(
        "/{participant_id:str}/leave", status_code=200,
        guards=[requires(Permission.PARTICIPANTS_REGISTER)],
        summary="A member leaves their cohort",
        description="Death, withdrawal, moving away or becoming a formal employee. The slot "
        "goes to the next on the waiting list. Accepts an Idempotency-Key.",
        responses={409: NOT_NOW, 422: INVALID_CHANGE},
    )  # fmt: skip
    async def leave(
        self, participant_id: ParticipantPath, data: JSONBody[LeaveRequest], request: AuthRequest
    ) -> CommandResult:
        command = LeaveCohort(
            participant_id=participant_id, reason=data.reason, left_on=data.left_on
        )

        async def act(registrar: Registrar, context: Context) -> Appended:
            return appended(await registrar.leave(command, context))

        return await _on_participant(request, participant_id, data, act)

    @post(
        "/{participant_id:str}/rejoin", status_code=200,
        guards=[requires(Permission.PARTICIPANTS_REGISTER)],
        summary="A former member joins again",
        description="For someone whose membership ended (lapsed, or left alive): a new "
        "membership from today with waiting periods from zero. Who left takes a slot again, "
        "or waits for one. Accepts an Idempotency-Key.",
        responses={409: NOT_NOW},
    )  # fmt: skip
    async def rejoin(self, participant_id: ParticipantPath, request: AuthRequest) -> CommandResult:
        async def act(registrar: Registrar, context: Context) -> Appended:
            cohort_id = (await registrar.participant(participant_id)).cohort_id
            done = await registrar.rejoin(Rejoin(participant_id), context)
            return [participant_stream(participant_id), cohort_stream(cohort_id)], done.position

        body = {"participant_id": participant_id}
        return await _on_participant(request, participant_id, body, act)

    @put(
        "/{participant_id:str}/kpj", status_code=200,
        guards=[requires(Permission.PARTICIPANTS_REGISTER)],
        summary="Record the participant's BPJS number (KPJ)",
        description="The same KPJ again changes nothing (no events). Accepts an "
        "Idempotency-Key.",
        responses={422: INVALID_CHANGE},
    )  # fmt: skip
    async def record_kpj(
        self, participant_id: ParticipantPath, data: JSONBody[KpjRequest], request: AuthRequest
    ) -> CommandResult:
        async def act(registrar: Registrar, context: Context) -> Appended:
            return appended(
                await registrar.record_kpj(RecordKpj(participant_id, data.kpj), context)
            )

        return await _on_participant(request, participant_id, data, act)

    @post(
        "/{participant_id:str}/funder", status_code=200,
        guards=[requires(Permission.PARTICIPANTS_REGISTER)],
        summary="Change who pays the participant's contributions from a month on",
        description=f"Funders: {', '.join(FUNDERS)} (mandiri: the worker pays). Not for "
        "someone who left. Accepts an Idempotency-Key.",
        responses={409: NOT_NOW, 422: INVALID_CHANGE},
    )  # fmt: skip
    async def change_funder(
        self, participant_id: ParticipantPath, data: JSONBody[FunderRequest], request: AuthRequest
    ) -> CommandResult:
        command = ChangeFunder(participant_id, data.funder, data.from_month)

        async def act(registrar: Registrar, context: Context) -> Appended:
            return appended(await registrar.change_funder(command, context))

        return await _on_participant(request, participant_id, data, act)

    # -- reads -------------------------------------------------------------------------------

    @get(
        "/", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="Search participants",
        description="By name (case-insensitive, anywhere in the name), desa, kecamatan, "
        "cohort and status as of today, in participant id order, paginated with cursors. "
        "Stored statuses (registered, waitlisted, left, deceased) filter in the query; "
        "active, in_arrears and membership_ended depend on today and are worked out for the "
        f"enrolled rows in id order, at most {SCAN_BUDGET} per page: such a page may hold "
        "fewer than `limit` items while `next_cursor` is set. A kecamatan-scoped user sees "
        "their kecamatan only.",
    )  # fmt: skip
    async def search_participants(
        self,
        request: AuthRequest,
        name: NameFilter = None,
        desa: CodeFilter = None,
        kecamatan: CodeFilter = None,
        status: Annotated[
            StatusAsOf | None, QueryParameter(description="Status as of today (Asia/Jakarta)")
        ] = None,
        cohort_id: Annotated[
            str | None, QueryParameter(pattern=COHORT_ID, description="Only this cohort")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ParticipantPage:
        pool = api_services(request.app.state).store.pool
        await await_read_models(pool, PARTICIPANT_READ_MODELS, min_position)
        after = decode_cursor(cursor, width=1)
        conditions: dict[str, object] = {
            "name ILIKE {}": _like(name) if name else None,
            "desa = {}": normalise_code(desa) if desa else None,
            "kecamatan = {}": normalise_code(kecamatan) if kecamatan else None,
            "cohort_id = {}": cohort_id,
        }
        today = business_today()
        rows, last = await search(
            pool, request.user, today,
            conditions={k: v for k, v in conditions.items() if v is not None},
            status=status, after=str(after[0]) if after else None, limit=limit,
        )  # fmt: skip
        items = [participant_view(r, request.user, today) for r in rows]
        return ParticipantPage(items, encode_cursor([last]) if last else None)

    @get(
        "/by-nik/{nik:str}", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="Find a participant by NIK",
        description="Through the keyed NIK hash (the NIK is never decrypted to search): one "
        "primary-key lookup. An invalid NIK is a 422 saying why.",
        responses={422: INVALID_NIK},
    )  # fmt: skip
    async def by_nik(
        self,
        nik: NikPath,
        request: AuthRequest,
        min_position: MinPosition = None,
    ) -> ParticipantView:
        state = request.app.state
        pool = api_services(state).store.pool
        await await_read_models(pool, PARTICIPANT_READ_MODELS, min_position)
        today = business_today()
        parse_nik(nik, today)
        nik_hash = _nik_hasher(state).nik(normalise_nik(nik))
        row = await participant_row(pool, participant_id_for(nik_hash))
        if row is None or row["nik_hash"] != nik_hash or not _visible(request.user, row):
            raise NotFound("participant", mask_nik(normalise_nik(nik)))
        return participant_view(row, request.user, today)

    @get(
        "/by-kpj/{kpj:str}", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="Find a participant by BPJS number (KPJ)",
        description="The participant BPJS numbered so (KpjRecorded), with their standing as "
        "of today.",
    )  # fmt: skip
    async def by_kpj(
        self,
        kpj: KpjPath,
        request: AuthRequest,
        min_position: MinPosition = None,
    ) -> ParticipantView:
        pool = api_services(request.app.state).store.pool
        await await_read_models(pool, PARTICIPANT_READ_MODELS, min_position)
        found = await pool.fetch("SELECT participant_id FROM rm.participants WHERE kpj = $1", kpj)
        ids = [r[0] for r in found]
        rows = [r for r in await participant_rows(pool, ids) if _visible(request.user, r)]
        if not rows:
            raise NotFound("participant with KPJ", kpj)
        row = min(rows, key=lambda r: r["participant_id"])
        return participant_view(row, request.user, business_today())

    @get(
        "/{participant_id:str}", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="A participant, with their standing as of today",
        description="Status as of today in Asia/Jakarta (waitlisted with the place on the "
        "list, active, in arrears with the amount and the day membership ends if nothing "
        "more is paid, membership ended, left, deceased). NIK and phone are masked, and the "
        "birth date withheld, for roles that do not need them.",
    )  # fmt: skip
    async def show(
        self,
        participant_id: ParticipantPath,
        request: AuthRequest,
        min_position: MinPosition = None,
    ) -> ParticipantView:
        pool = api_services(request.app.state).store.pool
        await await_read_models(pool, PARTICIPANT_READ_MODELS, min_position)
        row = await _participant(pool, request.user, participant_id)
        return participant_view(row, request.user, business_today())

    @get(
        "/{participant_id:str}/coverage", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="Was the participant covered on a date, and why",
        description="As known today: a day is covered when it lies in a membership period "
        "and its month's contribution was paid by the due date, or before that day.",
    )  # fmt: skip
    async def coverage(
        self,
        participant_id: ParticipantPath,
        request: AuthRequest,
        on: Annotated[date, QueryParameter(description="The day, e.g. of an accident")],
        min_position: MinPosition = None,
    ) -> CoverageView:
        pool = api_services(request.app.state).store.pool
        await await_read_models(pool, PARTICIPANT_READ_MODELS, min_position)
        row = await _participant(pool, request.user, participant_id)
        found = standing(row, business_today())
        view = StandingView.of(found)
        if found.history is None:
            return CoverageView(
                participant_id=participant_id, on=on, covered=False,
                reason=CoverageReason.NOT_A_MEMBER.value,
                explanation=f"never a member (status: {found.status_as_of})",
                month=f"{on:%Y-%m}", period=None, payment_reference=None, paid_on=None,
                rules_version="", standing=view,
            )  # fmt: skip
        covered = is_covered(found.history, on)
        return CoverageView(
            participant_id=participant_id, on=on, covered=covered.covered,
            reason=covered.reason.value, explanation=covered.explanation,
            month=str(covered.month), period=covered.period,
            payment_reference=covered.payment_reference, paid_on=covered.paid_on,
            rules_version=covered.rules_version, standing=view,
        )  # fmt: skip

    @get(
        "/{participant_id:str}/timeline", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="The participant's timeline: who did what, when, and why",
        description="Every event that concerns the participant (registration, payments, "
        "reminders, accidents, claims) in log order, with the actor, business and record "
        "time, correlation and causation, and a summary in Bahasa Indonesia without personal "
        "data.",
        responses={404: NOT_FOUND},
    )  # fmt: skip
    async def timeline(
        self,
        participant_id: ParticipantPath,
        request: AuthRequest,
        cursor: Cursor = None,
        limit: Limit = 100,
        min_position: MinPosition = None,
    ) -> Timeline:
        return await subject_timeline(
            request, "participant", participant_id, cursor=cursor, limit=limit,
            min_position=min_position,
        )  # fmt: skip

    @get(
        "/{participant_id:str}/contributions", guards=[requires(Permission.PARTICIPANTS_READ)],
        summary="The participant's contribution months: paid, unpaid, in arrears",
        description="Every month of every membership period as of today: due date, amount "
        "due and paid, and whether it was paid on time, late, is in arrears (past due, still "
        "payable), unpaid (no longer payable) or not yet due; the payments, and money held "
        "as credit or owed back.",
    )  # fmt: skip
    async def contributions(
        self,
        participant_id: ParticipantPath,
        request: AuthRequest,
        min_position: MinPosition = None,
    ) -> ContributionsView:
        pool = api_services(request.app.state).store.pool
        await await_read_models(pool, PARTICIPANT_READ_MODELS, min_position)
        row = await _participant(pool, request.user, participant_id)
        found = standing(row, business_today())
        history = found.history
        months = [
            MonthView(
                month=str(m.month), period=m.period, due_on=m.due_on, amount_due=m.amount_due,
                amount_paid=m.amount_paid, status=m.status.value, paid_on=m.paid_on,
                paid_by=m.paid_by,
            )
            for m in (history.months if history else ())
        ]  # fmt: skip
        payments = [
            PaymentView(reference=c.reference, payer=c.payer, months=c.months, amount=c.amount,
                        paid_at=c.paid_at, reversed=c.reversed)
            for c in contributions_of(row)
        ]  # fmt: skip
        return ContributionsView(
            participant_id=participant_id, standing=StandingView.of(found), months=months,
            payments=payments, credit=history.credit_total if history else 0,
            refunds=history.refund_total if history else 0,
        )  # fmt: skip
