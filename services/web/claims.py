"""The case board and a claim's page, with every claim action as a form.

The board lists claims soonest deadline first (the API's order) with filters for state,
officer, kecamatan and SLA status: a GET form that htmx enhances (the list swaps in place,
the URL follows) and that works without JavaScript. A claim's page gathers what an officer
needs to decide: the claimant and their coverage on the event date with its reason, the
documents checklist, the SLA, the decision's benefit lines with their formulas, the heirs and
the timeline. Its forms offer only the actions the viewer's rights and the claim's state allow
(as the claim decider would); each posts to /app/claims/{id}/<action>, which runs the API
command once per form (Idempotency-Key) and redirects to the page as of the command's
position, or shows the refusal in Indonesian with the user's input kept.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.domain.calendar import JAKARTA
from services.domain.regions import default_regions
from services.web.client import ApiRefused, optional
from services.web.format import DOCUMENTS, label
from services.web.pages import render, see_other
from services.web.session import (
    Form,
    Viewer,
    checked_form,
    form_text,
    form_texts,
    viewer_of,
)
from services.web.wording import reason_text, refusal

BOARD_PAGE = 30
CLOSED = ("rejected", "paid")
TAKES_DOCUMENTS = ("reported", "documents_incomplete", "returned", "reopened")
RETURNABLE = ("submitted", "under_verification", "awaiting_second_approval")
DECIDED = ("approved", "awaiting_second_approval", "paid", "rejected")

BENEFIT_KINDS = {
    "medical": "Biaya pengobatan dan perawatan",
    "transport": "Biaya transportasi",
    "stmb": "Santunan sementara tidak mampu bekerja (STMB)",
    "disability": "Santunan cacat",
    "death": "Santunan kematian",
    "funeral": "Biaya pemakaman",
    "periodic": "Santunan berkala (dibayar sekaligus)",
    "scholarship": "Beasiswa pendidikan anak",
    "late_penalty": "Denda keterlambatan pembayaran",
}
HEIR_RELATIONS = {
    "spouse": "Suami/istri",
    "child": "Anak",
    "parent": "Orang tua",
    "grandparent": "Kakek/nenek",
    "grandchild": "Cucu",
    "sibling": "Saudara kandung",
    "parent_in_law": "Mertua",
    "named_in_will": "Ditunjuk dalam wasiat",
}
TRANSPORT_MODES = {"land": "Darat", "sea": "Laut", "air": "Udara"}
EDUCATION_LEVELS = {
    "tk": "TK",
    "sd": "SD",
    "smp": "SMP",
    "sma": "SMA",
    "university": "Perguruan tinggi",
}
COVERAGE_REASONS = {
    "paid_on_time": "iuran bulan itu dibayar tepat waktu",
    "paid_before_day": "iuran bulan itu dibayar sebelum hari kejadian",
    "late_payment_covers": "iuran terlambat dibayar, tetapi sebelum hari kejadian",
    "not_a_member": "bukan peserta pada hari itu",
    "month_unpaid": "iuran bulan itu belum dibayar",
    "paid_after_day": "iuran bulan itu baru dibayar setelah hari kejadian",
}
_FORMULA_WORDS = [
    (r" as billed \(no ceiling\)", " sesuai tagihan (tanpa batas)"),
    (r", within the (\w+) cap ", ", dalam batas \\1 "),
    (r", capped at (Rp[\d.]+) \((\w+)\)", ", dibatasi \\1 (\\2)"),
    (r"\(fixed; (\d+) months of membership, under (\d+): funeral benefit only\)",
     "(tetap; \\1 bulan kepesertaan, kurang dari \\2: hanya biaya pemakaman)"),
    (r" \(fixed\)", " (tetap)"),
    (r", less than the JKM death benefit (Rp[\d.]+): (Rp[\d.]+) is paid",
     ", kurang dari santunan kematian JKM \\1: dibayar \\2"),
    (r" a year for (\w+) \(year (\d+) of at most (\d+)\)",
     " per tahun untuk \\1 (tahun ke-\\2 dari paling lama \\3)"),
    (r" working days? ", " hari kerja "),
    (r"(\d) days ", "\\1 hari "),
    (r"\bland\b", "darat"), (r"\bsea\b", "laut"), (r"\bair\b", "udara"),
]  # fmt: skip


def rumus(formula: str) -> str:
    """A benefit line's formula with the domain's English words in Indonesian (the numbers
    and operators stay as the decision recorded them)."""
    for pattern, words in _FORMULA_WORDS:
        formula = re.sub(pattern, words, formula)
    return formula


def officer_name(actor: str | None) -> str:
    """ "user:ani" -> "ani" (events record actors; officers know usernames)."""
    if not actor:
        return "-"
    return actor.split(":", 1)[1] if actor.startswith("user:") else actor


def sla_text(working_days_left: int | None, working_days_late: int | None) -> str:
    """The countdown: "3 hari kerja lagi", "batas hari ini" or "terlambat 2 hari kerja"."""
    if working_days_late:
        return f"terlambat {working_days_late} hari kerja"
    if working_days_left is None:
        return "batas waktu belum berjalan"
    if working_days_left == 0:
        return "batas hari ini"
    return f"{working_days_left} hari kerja lagi"


def known_officers(claims: list[dict[str, Any]], viewer: Viewer) -> list[str]:
    """Usernames to suggest in the officer filter: the viewer (if they work claims) and the
    officers of the claims shown."""
    names = {officer_name(c["officer"]) for c in claims if c["officer"]}
    if viewer.can("claims_work"):
        names.add(viewer.username)
    return sorted(names)


def kecamatan_names() -> dict[str, str]:
    """Kecamatan of the regency by code (the shipped reference data), for the board filter."""
    return {code: k.name for code, k in sorted(default_regions().kecamatan.items())}


def alasan(reason: str) -> str:
    """A reason on a claim in Indonesian: the domain's own (eligibility) from the wording
    catalog; an officer's, typed in Indonesian already, as written."""
    said = reason_text(reason)
    return said[:1].upper() + said[1:] if said else reason


HELPERS = {"officer_name": officer_name, "sla_text": sla_text, "rumus": rumus, "alasan": alasan}
"""Functions the claim templates call."""


# -- which actions a viewer may take on a claim ---------------------------------------------------


def for_death(claim: Mapping[str, Any]) -> bool:
    """A JKM claim, or a JKK claim of a fatal accident (its checklist asks for the death
    certificate): the heirs receive the benefit."""
    return claim["kind"] == "JKM" or "death_certificate" in claim["required_documents"]


def allowed_actions(claim: Mapping[str, Any], viewer: Viewer) -> set[str]:
    """The forms to show: the viewer's rights and the claim's state, as the claim decider
    would allow them (the API still decides; this only hides what it would refuse)."""
    state, officer = claim["state"], claim["officer"]
    me = f"user:{viewer.username}"
    work = viewer.can("claims_work")
    rules = {
        "take": work and state not in CLOSED and officer is None,
        "reassign": viewer.can("claims_reassign") and state not in CLOSED,
        "document": work and state in TAKES_DOCUMENTS,
        "submit": work and state in TAKES_DOCUMENTS,
        "verify": work and state == "submitted" and officer is not None,
        "return": work and state in RETURNABLE,
        "heirs": work and for_death(claim) and state not in DECIDED,
        "decide": work and state == "under_verification" and officer == me,
        "approve": viewer.can("claims_second_approval")
        and state == "awaiting_second_approval"
        and claim["proposed_by"] != me,
        "reject": work and state in ("under_verification", "awaiting_second_approval"),
        "pay": work and state == "approved",
        "reopen": work and state in CLOSED,
    }
    return {name for name, allowed in rules.items() if allowed}


# -- reading forms --------------------------------------------------------------------------------


class FormProblem(Exception):
    """The form cannot become a command: the message says what to fix, in Indonesian."""


def _rupiah(text: str, what: str) -> int:
    digits = re.sub(r"[\s.]|^Rp", "", text.strip(), flags=re.IGNORECASE)
    if not digits.isdigit():
        raise FormProblem(f"{what} harus berupa angka rupiah, misalnya 4.500.000.")
    return int(digits)


def _day(text: str, what: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FormProblem(f"{what} harus berupa tanggal.") from None


def _instant(text: str, what: str) -> str:
    """A datetime-local field (Jakarta time) as an instant with its zone."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=JAKARTA).isoformat()
    except ValueError:
        raise FormProblem(f"{what} harus berupa tanggal dan jam.") from None


def _required(form: Form, key: str, what: str) -> str:
    text = form_text(form, key)
    if not text:
        raise FormProblem(f"{what} wajib diisi.")
    return text


def _decision(form: Form) -> dict[str, Any]:
    """What the documents show: medical bills, trips, an STMB period, a scholarship."""
    billed = form_text(form, "medical_billed")
    body: dict[str, Any] = {"medical_billed": _rupiah(billed, "Biaya pengobatan") if billed else 0}
    trips = [
        {"mode": mode, "cost": _rupiah(cost, "Biaya perjalanan")}
        for mode, cost in zip(form_texts(form, "trip_mode"), form_texts(form, "trip_cost"),
                              strict=False)
        if cost
    ]  # fmt: skip
    if trips:
        body["trips"] = trips
    stmb = [form_text(form, k) for k in ("stmb_incapacity_from", "stmb_from", "stmb_to")]
    if any(stmb):
        names = ("Mulai tidak mampu bekerja", "Periode dari", "Periode sampai")
        days = [_day(text, name) for text, name in zip(stmb, names, strict=True)]
        body["stmb"] = [dict(zip(("incapacity_from", "period_from", "period_to"), days,
                                 strict=True))]  # fmt: skip
    child = form_text(form, "child")
    if child:
        year = form_text(form, "year_of_level")
        if not year.isdigit():
            raise FormProblem("Tahun ke- pada jenjang pendidikan harus berupa angka.")
        born = _day(form_text(form, "child_birth_date"), "Tanggal lahir anak")
        level = form_text(form, "level")
        body["scholarships"] = [
            {"child": child, "birth_date": born, "level": level, "year_of_level": int(year)}
        ]
    return body


def _heirs(form: Form) -> dict[str, Any]:
    rows = zip(form_texts(form, "heir_name"), form_texts(form, "heir_nik"),
               form_texts(form, "heir_relation"), strict=False)  # fmt: skip
    heirs = [{"name": n, "nik": k, "relation": r} for n, k, r in rows if n or k]
    if not heirs:
        raise FormProblem("Isi paling sedikit satu ahli waris: nama, NIK dan hubungan.")
    return {"heirs": heirs}


def _return(form: Form) -> dict[str, Any]:
    missing = [d for d in form_texts(form, "missing") if d]
    if not missing:
        raise FormProblem("Pilih dokumen yang masih kurang.")
    return {"missing": missing, "reason": _required(form, "reason", "Alasan")}


# -- the actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A claim command as a form: the API path under /claims/{id}, the body from the form,
    and the message after it (from the command's result and the form)."""

    path: str
    body: Callable[[Form, Viewer], Any]
    flash: Callable[[Mapping[str, Any], Form], str]


def _fixed(message: str) -> Callable[[Mapping[str, Any], Form], str]:
    return lambda result, form: message


def _decided(result: Mapping[str, Any], form: Form) -> str:
    events = result.get("events", [])
    if "ClaimApprovalProposed" in events:
        return "Persetujuan pertama tercatat. Klaim menunggu persetujuan kedua."
    if "ClaimRejected" in events:
        return "Klaim ditolak: peserta tidak memenuhi syarat (lihat alasannya di bawah)."
    return "Klaim disetujui."


def _submitted(result: Mapping[str, Any], form: Form) -> str:
    if "ClaimDocumentsIncomplete" in result.get("events", []):
        return "Dokumen belum lengkap: klaim menunggu dokumen yang kurang."
    return "Klaim diajukan. Batas waktu pembayaran mulai berjalan."


def _received(result: Mapping[str, Any], form: Form) -> str:
    name = label(form_text(form, "document"), DOCUMENTS)
    if "ClaimSubmitted" in result.get("events", []):
        return f"Dokumen diterima: {name}. Dokumen lengkap, klaim diajukan."
    return f"Dokumen diterima: {name}."


ACTIONS: dict[str, Action] = {
    "take": Action("assignment", lambda form, viewer: {"officer": viewer.username},
                   _fixed("Klaim Anda ambil: Anda petugasnya.")),
    "reassign": Action("reassignment",
                       lambda form, viewer: {"officer": _required(form, "officer", "Petugas")},
                       lambda result, form: "Klaim dialihkan kepada "
                                            f"{form_text(form, 'officer')}."),
    "document": Action("documents",
                       lambda form, viewer: {"document": _required(form, "document", "Dokumen"),
                                             "reference": form_text(form, "reference")},
                       _received),
    "submit": Action("submission", lambda form, viewer: None, _submitted),
    "verify": Action("verification", lambda form, viewer: None, _fixed("Verifikasi dimulai.")),
    "return": Action("return", lambda form, viewer: _return(form),
                     _fixed("Klaim dikembalikan untuk dokumen yang kurang.")),
    "heirs": Action("heirs", lambda form, viewer: _heirs(form), _fixed("Ahli waris ditetapkan.")),
    "decide": Action("decision", lambda form, viewer: _decision(form), _decided),
    "approve": Action("second-approval", lambda form, viewer: None,
                      _fixed("Persetujuan kedua tercatat: klaim disetujui.")),
    "reject": Action("rejection", lambda form, viewer: {"reason": _required(form, "reason",
                                                                             "Alasan")},
                     _fixed("Klaim ditolak.")),
    "pay": Action("payment",
                  lambda form, viewer: {
                      "reference": _required(form, "reference", "Nomor referensi transfer"),
                      "paid_at": _instant(_required(form, "paid_at", "Waktu pembayaran"),
                                          "Waktu pembayaran"),
                  },
                  _fixed("Pembayaran tercatat: klaim dibayar.")),
    "reopen": Action("reopening", lambda form, viewer: {"reason": _required(form, "reason",
                                                                             "Alasan")},
                     _fixed("Klaim dibuka kembali.")),
}  # fmt: skip


# -- reading the claim ----------------------------------------------------------------------------


READ_ATTEMPTS = 3
"""A page after a command asks this many times (each waits up to 5 s) for the read models to
show it before it says the data is still being updated."""


async def caught_up(viewer: Viewer, path: str, params: Mapping[str, Any]) -> Any:
    """A read as of a command's position, asked again while the read models catch up."""
    for _ in range(READ_ATTEMPTS - 1):
        try:
            return await viewer.api.get(path, params)
        except ApiRefused as refused:
            if refused.slug != "read-model-behind":
                raise
    return await viewer.api.get(path, params)


async def claim_page_data(
    viewer: Viewer, claim_id: str, min_position: int | None
) -> dict[str, Any]:
    """The claim (as of `min_position`), its claimant and their coverage on the event date,
    the timeline and, under verification, what a decision would
    find. A claim command changes neither the participant nor their coverage."""
    wait = {"min_position": min_position}
    claim = await caught_up(viewer, f"/claims/{claim_id}", wait)
    pid = claim["participant"]["participant_id"]
    assess = viewer.can("claims_work") and claim["state"] == "under_verification"
    timeline_query = {"limit": 200, **wait}
    coverage_on = {"on": claim["event_on"]}
    timeline_path = f"/claims/{claim_id}/timeline"
    participant, coverage, timeline, assessment = await asyncio.gather(
        optional(viewer.api.get(f"/participants/{pid}"), 403, 404),
        optional(viewer.api.get(f"/participants/{pid}/coverage", coverage_on), 403, 404),
        optional(caught_up(viewer, timeline_path, timeline_query), 403, 404),
        optional(viewer.api.get(f"/claims/{claim_id}/assessment"), 403, 404, 422)
        if assess else _none(),
    )  # fmt: skip
    return {
        "claim": claim,
        "participant": participant,
        "coverage": coverage,
        "timeline": timeline["items"] if timeline else None,
        "assessment": assessment,
    }


async def _none() -> None:
    return None


def now_local() -> str:
    """Now in Jakarta, as a datetime-local field's value."""
    return datetime.now(JAKARTA).strftime("%Y-%m-%dT%H:%M")


def page_context(viewer: Viewer, data: dict[str, Any]) -> dict[str, Any]:
    """What the claim's template needs besides the data: the forms' keys and choices."""
    claim = data["claim"]
    missing = claim["missing_documents"]
    others = [d for d in DOCUMENTS if d not in missing]
    return {
        **data,
        "actions": allowed_actions(claim, viewer),
        "keys": {name: str(uuid4()) for name in ACTIONS},
        "document_choices": [*missing, *others],
        "now_local": now_local(),
        "BENEFIT_KINDS": BENEFIT_KINDS,
        "HEIR_RELATIONS": HEIR_RELATIONS,
        "TRANSPORT_MODES": TRANSPORT_MODES,
        "EDUCATION_LEVELS": EDUCATION_LEVELS,
        "COVERAGE_REASONS": COVERAGE_REASONS,
        **HELPERS,
    }


# -- the board ------------------------------------------------------------------------------------


def board_filters(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The filters as the form sent them (an empty field is no filter)."""
    query = request.query_params
    names = ("state", "officer", "kecamatan", "sla", "as_of")
    return {k: (query.get(k) or "").strip() for k in names}


def board_query(filters: Mapping[str, str], cursor: str | None = None) -> str:
    """The board's URL query for these filters (and page)."""
    wanted = {k: v for k, v in filters.items() if v}
    if cursor:
        wanted["cursor"] = cursor
    return urlencode(wanted)


def board_context(
    viewer: Viewer, page: Mapping[str, Any], filters: Mapping[str, str], cursor: str | None
) -> dict[str, Any]:
    """What the board's templates need: the claims, the filters, the pages around this one."""
    after = page["next_cursor"]
    return {
        "claims": page["items"], "filters": filters, "filtered": any(filters.values()),
        "next_query": board_query(filters, after) if after else None, "paged": bool(cursor),
        "first_query": board_query(filters), "officers": known_officers(page["items"], viewer),
        "KECAMATAN": kecamatan_names(), **HELPERS,
    }  # fmt: skip


class ClaimPages(Controller):
    path = "/app/claims"
    include_in_schema = False

    @get("/")
    async def board(self, request: Request[Any, Any, Any]) -> Template:
        """The case board; an htmx request gets only the list."""
        viewer = await viewer_of(request)
        filters = board_filters(request)
        cursor = request.query_params.get("cursor")
        page = await viewer.api.get("/claims", {
            "state": filters["state"], "officer": filters["officer"],
            "kecamatan": filters["kecamatan"], "sla": filters["sla"], "as_of": filters["as_of"],
            "cursor": cursor,
            "limit": BOARD_PAGE, "min_position": request.query_params.get("min_position"),
        })  # fmt: skip
        partial = request.headers.get("HX-Request") and not request.headers.get(
            "HX-History-Restore-Request"
        )
        template = "claims/_list.html" if partial else "claims/board.html"
        context = board_context(viewer, page, filters, cursor)
        response = render(request, template, viewer, **context)
        response.headers["Vary"] = "HX-Request"
        return response

    @get("/{claim_id:str}")
    async def claim(self, request: Request[Any, Any, Any], claim_id: FromPath[str]) -> Template:
        """A claim's page (as of `min_position` after a form's command)."""
        viewer = await viewer_of(request)
        min_position = request.query_params.get("min_position")
        position = int(min_position) if min_position and min_position.isdigit() else None
        data = await claim_page_data(viewer, claim_id, position)
        return render(request, "claims/detail.html", viewer, **page_context(viewer, data),
                      form={}, failed=None, problem=None)  # fmt: skip

    @post("/{claim_id:str}/{action:str}", status_code=303)
    async def act(
        self, request: Request[Any, Any, Any], claim_id: FromPath[str], action: FromPath[str]
    ) -> Redirect | Template:
        """One claim action: the command, then the page as of its position with a message;
        refused, the page again with the reason and the user's input."""
        spec = ACTIONS.get(action)
        if spec is None:
            raise NotFoundException()
        viewer = await viewer_of(request)
        form = await checked_form(request, viewer)
        try:
            body = spec.body(form, viewer)
            result = await viewer.api.command(
                f"/claims/{claim_id}/{spec.path}", body, form_text(form, "idempotency_key")
            )
        except (FormProblem, ApiRefused) as problem:
            message = str(problem) if isinstance(problem, FormProblem) else refusal(problem)
            status = problem.status if isinstance(problem, ApiRefused) else 422
            data = await claim_page_data(viewer, claim_id, None)
            return render(request, "claims/detail.html", viewer, **page_context(viewer, data),
                          status_code=status if 400 <= status < 500 else 422, form=form,
                          failed=action, problem=message)  # fmt: skip
        return see_other(
            f"/app/claims/{claim_id}?min_position={result['position']}", spec.flash(result, form)
        )
