"""Peserta pages: find a participant by NIK, KPJ or name, and one participant's page.

The search box takes whatever the officer has at hand: a 16-digit NIK or a KPJ goes straight
to the participant (one lookup each), anything else searches names, with the village and
status filters beside it. The participant's page gathers what the API lets this user read:
standing, contribution months as a calendar strip, payments, reminders, claims and the audit
timeline. A section the user's role may not read (the API answers 403) is left out.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from services.domain.regions import Desa, default_regions
from services.web.client import ApiRefused, optional
from services.web.pages import render
from services.web.session import Viewer, viewer_of
from services.web.wording import refusal

PAGE_SIZE = 25
PARTICIPANT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SEPARATORS = re.compile(r"[\s.-]+")

MONTH_STATUSES = {
    "paid_on_time": ("Lunas", "ok", "✓"),
    "paid_late": ("Lunas terlambat", "near", "✓"),
    "not_yet_due": ("Belum jatuh tempo", "", "…"),
    "in_arrears": ("Menunggak", "bad", "!"),
    "unpaid": ("Tidak dibayar", "bad", "✕"),
}
"""A contribution month's status: its words, its badge class and a mark (never colour alone)."""
FUNDERS = {
    "apbd_kabupaten": "APBD Kabupaten",
    "apbd_provinsi": "APBD Provinsi",
    "mandiri": "Mandiri (dibayar sendiri)",
}
LEAVING_REASONS = {
    "death": "meninggal dunia",
    "withdrawal": "mengundurkan diri",
    "moved_away": "pindah domisili",
    "formal_employee": "menjadi pekerja penerima upah",
}
REMINDER_KINDS = {
    "self_pay_due": "Iuran mandiri jatuh tempo",
    "arrears_1": "Tunggakan 1 bulan",
    "arrears_2": "Tunggakan 2 bulan",
    "arrears_3": "Tunggakan 3 bulan",
    "membership_ending": "Kepesertaan akan berakhir",
    "sponsor_block_due": "Iuran sponsor jatuh tempo",
    "sponsor_budget_period_end": "Periode anggaran sponsor berakhir",
}
REMINDER_STATES = {
    "scheduled": ("Dijadwalkan", ""),
    "sent": ("Terkirim", "ok"),
    "failed": ("Gagal", "bad"),
}
CHANNELS = {"smtp": "Surel", "http": "Gateway SMS/WhatsApp", "file": "Berkas (uji coba)"}
SEARCHABLE_STATUSES = (
    "active", "in_arrears", "waitlisted", "registered", "membership_ended", "left", "deceased",
)  # fmt: skip
LABELS = {
    "MONTH_STATUSES": MONTH_STATUSES, "FUNDERS": FUNDERS, "LEAVING_REASONS": LEAVING_REASONS,
    "REMINDER_KINDS": REMINDER_KINDS, "REMINDER_STATES": REMINDER_STATES, "CHANNELS": CHANNELS,
}  # fmt: skip

QueryKind = Literal["nik", "kpj", "name", "number"]


# -- searching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """What the officer asked for: the search box, the filters and the page."""

    q: str = ""
    desa: str = ""
    status: str = ""
    cursor: str = ""
    min_position: int | None = None

    @property
    def number(self) -> str:
        """The box without spaces, dots and dashes (how NIKs and KPJs get typed)."""
        return _SEPARATORS.sub("", self.q)

    @property
    def kind(self) -> QueryKind:
        """A NIK is 16 digits and a KPJ 8 to 13; other digits are neither; the rest a name."""
        digits = self.number
        if not digits.isascii() or not digits.isdigit():
            return "name"
        if len(digits) == 16:
            return "nik"
        return "kpj" if 8 <= len(digits) <= 13 else "number"

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.desa or self.status)

    def query(self, **changes: str) -> str:
        """This search as a query string (for the next page's link)."""
        fields = {"q": self.q, "desa": self.desa, "status": self.status, **changes}
        return urlencode({k: v for k, v in fields.items() if v})


@dataclass(frozen=True)
class Results:
    """One page of the answer, or why there is none."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None
    message: str | None = None
    found_id: str | None = None
    """A NIK or KPJ found one participant: go to their page."""


async def _lookup(viewer: Viewer, search: Search) -> Results:
    """By NIK or KPJ: the participant, or a message saying nobody has that number."""
    name = "NIK" if search.kind == "nik" else "KPJ"
    path = f"/participants/by-{search.kind}/{search.number}"
    try:
        found = await viewer.api.get(path, {"min_position": search.min_position})
    except ApiRefused as refused:
        if refused.status == 404:
            message = (
                f"Peserta dengan {name} {search.number} tidak ditemukan, "
                "atau berada di luar wilayah kerja Anda."
            )
            return Results([], message=message)
        return Results([], message=refusal(refused))
    return Results([found], found_id=found["participant_id"])


async def _list(viewer: Viewer, search: Search) -> Results:
    """A page of the name search with the village and status filters."""
    params = {
        "name": search.q if search.kind == "name" else None,
        "desa": search.desa, "status": search.status, "cursor": search.cursor,
        "limit": PAGE_SIZE, "min_position": search.min_position,
    }  # fmt: skip
    try:
        page = await viewer.api.get("/participants", params)
    except ApiRefused as refused:
        if refused.status == 403:
            raise
        return Results([], message=refusal(refused))
    items, next_cursor = page["items"], page["next_cursor"]
    if items or next_cursor:
        return Results(items, next_cursor)
    if search.filtered:
        return Results([], message="Tidak ada peserta yang cocok dengan pencarian ini.")
    return Results([], message="Belum ada peserta terdaftar.")


async def find(viewer: Viewer, search: Search) -> Results:
    if search.kind in ("nik", "kpj"):
        return await _lookup(viewer, search)
    if search.kind == "number":
        message = (
            f"Nomor {search.number} bukan NIK (16 digit) maupun KPJ (8 sampai 13 digit). "
            "Periksa kembali nomornya."
        )
        return Results([], message=message)
    return await _list(viewer, search)


def village_options(viewer: Viewer) -> list[tuple[str, list[Desa]]]:
    """The villages to filter by, grouped by kecamatan name (the user's kecamatan only)."""
    regions = default_regions()
    groups = []
    for code, kecamatan in sorted(regions.kecamatan.items()):
        if viewer.kecamatan and code not in viewer.kecamatan:
            continue
        villages = [regions.desa[d] for d in kecamatan.desa_codes]
        groups.append((kecamatan.name, sorted(villages, key=lambda d: d.name)))
    return groups


def place(kecamatan: str | None, desa: str | None) -> str:
    """ "Kepahiang / Pensiunan": names where the reference data knows the codes."""
    regions = default_regions()
    names = []
    for code, table in ((kecamatan, regions.kecamatan), (desa, regions.desa)):
        if code:
            known = table.get(code)
            names.append(known.name if known else code)
    return " / ".join(names) or "-"


# -- one participant -----------------------------------------------------------------------


async def _timeline(viewer: Viewer, participant_id: str, min_position: int | None) -> Any:
    """The participant's timeline; a participant without events has an empty one."""
    path = f"/participants/{participant_id}/timeline"
    try:
        return await viewer.api.get(path, {"limit": 200, "min_position": min_position})
    except ApiRefused as refused:
        if refused.status == 404:
            return {"items": [], "next_cursor": None}
        raise


async def _claims(viewer: Viewer, participant: dict[str, Any], min_position: int | None) -> Any:
    """The participant's claims (a participant has a handful: one page)."""
    params = {"participant_id": participant["participant_id"], "limit": 200,
              "min_position": min_position}  # fmt: skip
    page = await viewer.api.get("/claims", params)
    return {"items": page["items"], "complete": page["next_cursor"] is None}


async def participant_sections(
    viewer: Viewer, participant_id: str, min_position: int | None
) -> dict[str, Any]:
    """Everything the participant's page shows, read concurrently; None for hidden sections."""
    api, since = viewer.api, {"min_position": min_position}
    participant, contributions = await asyncio.gather(
        api.get(f"/participants/{participant_id}", since),
        api.get(f"/participants/{participant_id}/contributions", since),
    )
    reminders, claims, timeline, cohort = await asyncio.gather(
        optional(
            api.get("/reminders", {"participant_id": participant_id, "limit": 100, **since}), 403
        ),
        optional(_claims(viewer, participant, min_position), 403),
        optional(_timeline(viewer, participant_id, min_position), 403),
        optional(_cohort(viewer, participant["cohort_id"]), 403),
    )
    return {
        "participant": participant, "contributions": contributions, "reminders": reminders,
        "claims": claims, "timeline": timeline, "cohort": cohort,
    }  # fmt: skip


async def _cohort(viewer: Viewer, cohort_id: str | None) -> Any:
    """The cohort (its name and sponsor), when the participant has one."""
    return await viewer.api.get(f"/cohorts/{cohort_id}") if cohort_id else None


def actor_name(actor: str) -> str:
    """Who acted: "user:budi" -> "budi"; the operator's CLI ("admin:x") says so."""
    kind, _, name = actor.partition(":")
    if kind == "user":
        return name
    if kind == "admin":
        return f"{name} (operator)"
    return actor


# -- the pages -----------------------------------------------------------------------------


def _is_htmx_swap(request: Request[Any, Any, Any]) -> bool:
    """An htmx request for the results only (a history restore wants the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


class ParticipantPages(Controller):
    path = "/app/participants"
    include_in_schema = False

    @get("/")
    async def search(
        self,
        request: Request[Any, Any, Any],
        q: FromQuery[str] = "",
        desa: FromQuery[str] = "",
        status: FromQuery[str] = "",
        cursor: FromQuery[str] = "",
        min_position: FromQuery[int | None] = None,
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        asked = Search(q.strip(), desa, status, cursor, min_position)
        results = await find(viewer, asked)
        if results.found_id:
            return _go_to(request, f"/app/participants/{results.found_id}")
        swap = _is_htmx_swap(request)
        template = "participants/_results.html" if swap else "participants/search.html"
        page = render(
            request, template, viewer, search=asked, results=results,
            villages=village_options(viewer), statuses=SEARCHABLE_STATUSES, place=place,
        )  # fmt: skip
        page.headers["Vary"] = "HX-Request"
        return page

    @get("/{participant_id:str}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        participant_id: FromPath[str],
        min_position: FromQuery[int | None] = None,
    ) -> Template:
        viewer = await viewer_of(request)
        if not PARTICIPANT_ID.fullmatch(participant_id):
            raise NotFoundException()
        sections = await participant_sections(viewer, participant_id, min_position)
        return render(
            request, "participants/show.html", viewer, **sections, **LABELS, place=place,
            actor_name=actor_name, may_report=viewer.can("claims_work"),
        )  # fmt: skip


def _go_to(request: Request[Any, Any, Any], path: str) -> Response[Any]:
    """To the participant found: a redirect, or for htmx a full navigation there."""
    if request.headers.get("HX-Request"):
        return Response(b"", status_code=200, headers={"HX-Redirect": path})
    return Redirect(path, status_code=HTTP_303_SEE_OTHER)
