"""Audit pages: a stream's history, a participant's or claim's state as of a business date and
as known at a recorded instant, the hash chain's verification, and export links.

Every part replays the log through the API's /audit endpoints (AUDIT_READ), which mask
personal data by role; a refusal shows in Indonesian where the part's answer would have been.
The exports are links straight to GET /audit/export: the browser downloads them with the
pages' session cookie (the API takes it on reads), streamed, never held by the page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Template

from services.domain.calendar import JAKARTA
from services.web.accidents import ACCIDENT_KINDS, OUTCOMES
from services.web.claims import BENEFIT_KINDS, COVERAGE_REASONS, rumus
from services.web.client import ApiRefused
from services.web.format import SLA_STATUSES
from services.web.pages import render
from services.web.participants import (
    CHANNELS,
    FUNDERS,
    LEAVING_REASONS,
    REMINDER_KINDS,
    actor_name,
)
from services.web.session import Viewer, viewer_of
from services.web.wording import event_field_label, refusal

AUDIT_READ = "audit_read"
EVENTS_PER_PAGE = 100
TIMELINE_PAGES = 5
"""Pages (of 200) of the subject's timeline read for the events' Indonesian summaries."""
STREAM_ID = re.compile(r"[a-z_]+-\S+")
TIMELINE_KINDS = ("participant", "claim", "cohort", "accident", "payment")
SUBJECTS = {"participant": "Peserta", "claim": "Klaim"}
END_REASONS = {
    "lapsed": "berakhir karena tunggakan",
    "death": "meninggal dunia",
    "total_disability": "cacat total tetap",
    "withdrawal": "keluar: mengundurkan diri",
    "moved_away": "keluar: pindah domisili",
    "formal_employee": "keluar: menjadi pekerja penerima upah",
}
"""services/domain/coverage.py EndReason: why a membership period ended."""
NOT_ALLOWED = "Halaman audit hanya untuk auditor. Anda tidak berhak melihatnya."
BAD_STREAM = "Tulis ID aliran seperti participant-…, claim-…, cohort-… atau accident-…."
LABELS = {
    "SUBJECTS": SUBJECTS, "END_REASONS": END_REASONS, "FUNDERS": FUNDERS,
    "LEAVING_REASONS": LEAVING_REASONS, "BENEFIT_KINDS": BENEFIT_KINDS,
    "COVERAGE_REASONS": COVERAGE_REASONS,
}  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """One part's answer, or why there is none (in Indonesian) with the status to answer."""

    data: Any = None
    refused: str | None = None
    status: int = 200


def refused(error: ApiRefused) -> Outcome:
    return Outcome(refused=refusal(error), status=error.status)


# -- export links ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportLinks:
    """Links to GET /audit/export for these filters, one per format."""

    stream_id: str = ""
    types: str = ""
    after: str = ""

    @property
    def jsonl(self) -> str:
        return export_url("jsonl", self.stream_id, self.types, self.after)

    @property
    def csv(self) -> str:
        return export_url("csv", self.stream_id, self.types, self.after)


def export_url(fmt: str, stream_id: str = "", types: str = "", after: str = "") -> str:
    """The API's export with only the filters given (an empty one would be refused)."""
    query: list[tuple[str, str]] = [("format", fmt)]
    if stream_id.strip():
        query.append(("stream_id", stream_id.strip()))
    query += [("types", t) for t in re.split(r"[\s,]+", types) if t]
    if after.strip():
        query.append(("after", after.strip()))
    return f"/audit/export?{urlencode(query)}"


# -- a stream's history ------------------------------------------------------------------------


CLAIM_KINDS = {"JKK": "kecelakaan kerja", "JKM": "kematian"}
"""What a claim's kind covers (shown beside the code, so without it)."""
EVENT_VALUES: dict[tuple[str, str], dict[str, str]] = {
    ("ClaimFiled", "kind"): CLAIM_KINDS,
    ("ClaimFiled", "accident_kind"): ACCIDENT_KINDS,
    ("ClaimFiled", "outcome"): OUTCOMES,
    ("DeathClaimReserved", "claim_kind"): CLAIM_KINDS,
    ("ClaimSlaFlagged", "level"): SLA_STATUSES,
    ("AccidentReported", "kind"): ACCIDENT_KINDS,
    ("AccidentOutcomeReported", "outcome"): OUTCOMES,
    ("ParticipantLeft", "reason"): LEAVING_REASONS,
    ("FunderChanged", "funder"): FUNDERS,
    ("ReminderScheduled", "kind"): REMINDER_KINDS,
    ("ReminderScheduled", "channel"): CHANNELS,
    ("ReminderSent", "channel"): CHANNELS,
}
"""Coded values of an event's fields, in Indonesian: (event type, field) -> code -> words."""


def data_label(event_type: str, key: str) -> str:
    """An event field's name as officers read it ("Jenis klaim" for a ClaimFiled's `kind`,
    "Jenis kecelakaan" for an AccidentReported's), when the wording knows it; the identifier
    stays beside it for the export's readers."""
    known = event_field_label(event_type, key)
    return known[:1].upper() + known[1:] if known else ""


def value_label(event_type: str, key: str, value: Any) -> str:
    """What a coded value of an event's field means ("kematian" for a ClaimFiled's kind JKM);
    "" when the value is not a code the pages know (the value itself is always shown)."""
    if not isinstance(value, str):
        return ""
    return EVENT_VALUES.get((event_type, key), {}).get(value, "")


def shown(value: Any) -> str:
    """An event field's value as text: scalars as they are, lists and objects as compact JSON."""
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return str(value)


async def summaries(viewer: Viewer, stream_id: str) -> dict[int, str]:
    """The Indonesian summary of each event under the stream's subject, by position (none
    when the timeline does not know the subject yet)."""
    kind, _, subject = stream_id.partition("-")
    if kind not in TIMELINE_KINDS:
        return {}
    found: dict[int, str] = {}
    cursor = None
    try:
        for _ in range(TIMELINE_PAGES):
            page = await viewer.api.get(
                f"/audit/timeline/{kind}/{quote(subject, safe='')}",
                {"limit": 200, "cursor": cursor},
            )
            found |= {e["position"]: e["summary"] for e in page["items"]}
            cursor = page["next_cursor"]
            if cursor is None:
                break
    except ApiRefused:
        return found
    return found


async def stream_history(viewer: Viewer, stream_id: str, cursor: str | None) -> Outcome:
    if not STREAM_ID.fullmatch(stream_id):
        return Outcome(refused=BAD_STREAM, status=400)
    try:
        page = await viewer.api.get(
            f"/audit/streams/{quote(stream_id, safe='')}/events",
            {"limit": EVENTS_PER_PAGE, "cursor": cursor},
        )
    except ApiRefused as error:
        return refused(error)
    page["summaries"] = await summaries(viewer, stream_id)
    return Outcome(page)


# -- a state as of a date, as known at an instant ----------------------------------------------


@dataclass(frozen=True)
class StateQuery:
    """The state form as filled in: the date and the instant in Asia/Jakarta."""

    subject: str = "participant"
    subject_id: str = ""
    as_of: str = ""
    known_date: str = ""
    known_time: str = ""

    def known_at(self) -> str | None:
        """The instant, Asia/Jakarta; a date without a time means the end of that day."""
        if not self.known_date:
            return None
        day = date.fromisoformat(self.known_date)
        clock = time.fromisoformat(self.known_time) if self.known_time else time(23, 59, 59)
        return datetime.combine(day, clock, JAKARTA).isoformat()


def _check_state_query(query: StateQuery) -> str | None:
    """What is wrong with the form, in Indonesian (None: nothing)."""
    if query.subject not in SUBJECTS:
        return "Pilih peserta atau klaim."
    if not query.subject_id.strip():
        return "Isi ID peserta atau klaim."
    if query.known_time and not query.known_date:
        return "Isi tanggal untuk jam yang dipilih."
    try:
        if query.as_of:
            date.fromisoformat(query.as_of)
        query.known_at()
    except ValueError:
        return "Tanggal atau jam tidak valid."
    return None


async def replayed_state(viewer: Viewer, query: StateQuery) -> Outcome:
    problem = _check_state_query(query)
    if problem:
        return Outcome(refused=problem, status=400)
    path = "participants" if query.subject == "participant" else "claims"
    try:
        state = await viewer.api.get(
            f"/audit/{path}/{quote(query.subject_id.strip(), safe='')}/state",
            {"as_of": query.as_of, "known_at": query.known_at()},
        )
    except ApiRefused as error:
        if error.status == 404 and viewer.can(AUDIT_READ):
            noun = SUBJECTS[query.subject].lower()
            return Outcome(
                refused=f"Tidak ada kejadian {noun} ini sampai tanggal dan saat yang dipilih.",
                status=404,
            )
        return refused(error)
    return Outcome(state)


# -- verification ------------------------------------------------------------------------------

CHAIN_PROBLEMS = [
    (re.compile(r"version (\d+) is missing \(next stored version is (\d+)\)"),
     r"versi \1 hilang (versi berikutnya yang tersimpan: \2)"),
    (re.compile(r"link to the previous event is broken.*"),
     "tautan ke kejadian sebelumnya putus (kejadian sebelumnya diubah atau dihapus)"),
    (re.compile(r"hash does not match the stored event.*"),
     "hash tidak cocok dengan kejadian yang tersimpan (kejadian diubah)"),
]  # fmt: skip


def chain_problem(problem: dict[str, Any]) -> str:
    """Where and how the chain broke, in Indonesian."""
    words = problem["problem"]
    for pattern, indonesian in CHAIN_PROBLEMS:
        if pattern.fullmatch(words):
            words = pattern.sub(indonesian, words)
            break
    else:
        words = "kejadian tidak sesuai rantai hash"
    where = [f"aliran {problem['stream_id']}"]
    if problem.get("stream_version") is not None:
        where.append(f"versi {problem['stream_version']}")
    if problem.get("position") is not None:
        where.append(f"posisi {problem['position']}")
    return f"{', '.join(where)}: {words}"


def chain_verdict(check: dict[str, Any]) -> str:
    """The verification's result as one Indonesian sentence."""
    checked = f"{check['events_checked']} kejadian di {check['streams_checked']} aliran diperiksa"
    if check["ok"]:
        return f"Rantai hash utuh: {checked}."
    return f"Rantai hash rusak di {len(check['problems'])} aliran ({checked})."


async def verification(viewer: Viewer, stream_id: str) -> Outcome:
    if stream_id and not STREAM_ID.fullmatch(stream_id):
        return Outcome(refused=BAD_STREAM, status=400)
    try:
        check = await viewer.api.get("/audit/verification", {"stream_id": stream_id})
    except ApiRefused as error:
        return refused(error)
    check["verdict"] = chain_verdict(check)
    check["broken"] = [chain_problem(p) for p in check["problems"]]
    return Outcome(check)


# -- the pages ---------------------------------------------------------------------------------


def _page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    *,
    part: str | None = None,
    outcome: Outcome | None = None,
    stream_id: str = "",
    state_query: StateQuery | None = None,
    verify_stream: str = "",
    export: ExportLinks | None = None,
) -> Template:
    """The audit page with its forms (filled in as asked) and the answer of one part."""
    allowed = viewer.can(AUDIT_READ)
    status = outcome.status if outcome else (200 if allowed else 403)
    return render(
        request, "audit/index.html", viewer, status_code=status, allowed=allowed,
        not_allowed=NOT_ALLOWED, part=part, outcome=outcome or Outcome(), stream_id=stream_id,
        stream_export=ExportLinks(stream_id), state_query=state_query or StateQuery(),
        verify_stream=verify_stream, export=export or ExportLinks(), shown=shown,
        data_label=data_label, value_label=value_label, actor_name=actor_name, rumus=rumus,
        **LABELS,
    )  # fmt: skip


class AuditPages(Controller):
    path = "/app/audit"
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        export_stream: FromQuery[str] = "",
        export_types: FromQuery[str] = "",
        export_after: FromQuery[str] = "",
    ) -> Template:
        viewer = await viewer_of(request)
        links = ExportLinks(export_stream, export_types, export_after)
        return _page(request, viewer, export=links)

    @get("/stream")
    async def stream(
        self,
        request: Request[Any, Any, Any],
        stream_id: FromQuery[str] = "",
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        viewer = await viewer_of(request)
        stream_id = stream_id.strip()
        outcome = await stream_history(viewer, stream_id, cursor)
        return _page(request, viewer, part="stream", outcome=outcome, stream_id=stream_id)

    @get("/state")
    async def state(
        self,
        request: Request[Any, Any, Any],
        subject: FromQuery[str] = "participant",
        subject_id: FromQuery[str] = "",
        as_of: FromQuery[str] = "",
        known_date: FromQuery[str] = "",
        known_time: FromQuery[str] = "",
    ) -> Template:
        viewer = await viewer_of(request)
        query = StateQuery(subject, subject_id.strip(), as_of, known_date, known_time)
        outcome = await replayed_state(viewer, query)
        return _page(request, viewer, part="state", outcome=outcome, state_query=query)

    @get("/verification")
    async def verify(
        self, request: Request[Any, Any, Any], stream_id: FromQuery[str] = ""
    ) -> Template:
        viewer = await viewer_of(request)
        stream_id = stream_id.strip()
        outcome = await verification(viewer, stream_id)
        return _page(request, viewer, part="verification", outcome=outcome, verify_stream=stream_id)
