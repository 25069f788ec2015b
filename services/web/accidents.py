"""Accident report pages: Stage I (what happened), Stage II (the doctor's outcome, which files
the accident's JKK claim) and the JKM death claim, as forms over the API's commands.

An accident reads back from GET /accidents/<id> (CLAIMS_READ): Stage I and II as reported,
with its JKK claim once filed.

Every form carries an Idempotency-Key made when the form is rendered (kept when it comes
back with errors), so a double submit reports the accident, or files the claim, only once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote
from uuid import uuid4

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from services.domain.calendar import JAKARTA
from services.web.client import ApiRefused, optional
from services.web.pages import render, see_other
from services.web.session import Form, Viewer, checked_form, form_text, viewer_of
from services.web.wording import refusal

ACCIDENT_KINDS = {
    "at_work": "Kecelakaan di tempat kerja",
    "commuting": "Kecelakaan dalam perjalanan pergi atau pulang kerja",
    "occupational_disease": "Penyakit akibat kerja",
    "outside_work": "Kecelakaan di luar hubungan kerja",
}
OUTCOMES = {
    "recovered": "Sembuh",
    "partial_disability": "Cacat sebagian",
    "total_permanent_disability": "Cacat total tetap",
    "death": "Meninggal dunia",
}
WITNESS_SLOTS = (1, 2)
"""The Stage I form offers the two witnesses domain.md asks for."""

_FIELD_ERRORS = {
    "participant_id": "Peserta tidak dikenal.",
    "occurred_at": "Tanggal dan jam kecelakaan harus sudah lewat, tidak di masa depan.",
    "kind": "Pilih jenis kecelakaan.",
    "place": "Tempat kejadian wajib diisi.",
    "chronology": "Kronologi kejadian wajib diisi.",
    "witnesses": "Sebutkan dua orang saksi beserta namanya (tidak perlu untuk penyakit akibat "
    "kerja).",
    "police_report": "Kecelakaan lalu lintas wajib disertai nomor laporan polisi.",
    "doctor_statement_at": "Tanggal surat keterangan dokter harus sesudah kecelakaan dan tidak "
    "di masa depan.",
    "outcome": "Pilih hasil menurut surat keterangan dokter.",
    "disability_percent": "Persentase cacat (1-100) diisi hanya untuk cacat sebagian.",
    "impairment": "Keterangan cacat terlalu panjang atau berisi karakter yang tidak sah.",
    "died_on": "Tanggal meninggal harus sudah lewat, tidak di masa depan.",
}
"""What to say beside an input the API found wrong, by the API's field name."""
_FIELD_ERROR = "Isian ini tidak valid: terlalu panjang atau berisi karakter yang tidak sah."

Errors = dict[str, str]


class AccidentPages(Controller):
    path = "/app/accidents"
    include_in_schema = False

    @get("/new")
    async def new_report(
        self, request: Request[Any, Any, Any], participant_id: FromQuery[str]
    ) -> Template:
        viewer = await _reporter(request)
        participant = await _participant(viewer, participant_id)
        values = {"key": str(uuid4()), "occurred_on": _today()}
        return _report_form(request, viewer, participant, values)

    @post("/new", status_code=200)
    async def file_report(
        self, request: Request[Any, Any, Any], participant_id: FromQuery[str]
    ) -> Template | Redirect:
        viewer = await _reporter(request)
        form = await checked_form(request, viewer)
        participant = await _participant(viewer, participant_id)
        body, errors = _report_body(participant_id, form)
        if errors:
            return _report_form(request, viewer, participant, form, errors=errors, status=422)
        try:
            answer = await viewer.api.command("/accidents", body, form_text(form, "key"))
        except ApiRefused as refused:
            return _report_form(request, viewer, participant, form, refused=refused)
        accident_id = answer["resource"]["id"]
        return see_other(
            f"{_path('app', 'accidents', accident_id)}?min_position={answer['position']}",
            "Laporan kecelakaan tahap I tersimpan.",
        )

    @get("/death")
    async def death_form(
        self, request: Request[Any, Any, Any], participant_id: FromQuery[str]
    ) -> Template:
        viewer = await _reporter(request)
        participant = await _participant(viewer, participant_id)
        return _death_form(request, viewer, participant, {"key": str(uuid4())})

    @post("/death", status_code=200)
    async def file_death(
        self, request: Request[Any, Any, Any], participant_id: FromQuery[str]
    ) -> Template | Redirect:
        viewer = await _reporter(request)
        form = await checked_form(request, viewer)
        participant = await _participant(viewer, participant_id)
        body = {"participant_id": participant_id, "died_on": form_text(form, "died_on")}
        try:
            answer = await viewer.api.command("/claims/death", body, form_text(form, "key"))
        except ApiRefused as refused:
            return _death_form(request, viewer, participant, form, refused=refused)
        return _to_claim(answer, "Klaim JKM diajukan.")

    @get("/{accident_id:str}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        accident_id: FromPath[str],
        min_position: FromQuery[int | None] = None,
    ) -> Template:
        viewer = await viewer_of(request)
        accident = await _accident(viewer, accident_id, min_position)
        return _accident_page(request, viewer, accident, {"key": str(uuid4())})

    @get("/{accident_id:str}/outcome")
    async def outcome_form(self, accident_id: FromPath[str]) -> Redirect:
        """Where a Stage II form that came back with errors was posted: reloaded or shared,
        the address shows the accident (and its form) again."""
        return see_other(_path("app", "accidents", accident_id))

    @post("/{accident_id:str}/outcome", status_code=200)
    async def report_outcome(
        self, request: Request[Any, Any, Any], accident_id: FromPath[str]
    ) -> Template | Redirect:
        viewer = await _reporter(request)
        form = await checked_form(request, viewer)
        body, errors = _outcome_body(form)
        refused = None
        if not errors:
            path = f"{_path('accidents', accident_id)}/outcome"
            try:
                answer = await viewer.api.command(path, body, form_text(form, "key"))
            except ApiRefused as error:
                refused = error
            else:
                return _to_claim(answer, "Klaim JKK diajukan.")
        accident = await _accident(viewer, accident_id, None)
        return _accident_page(
            request, viewer, accident, form, errors=errors, refused=refused, status=422
        )


# -- who may, and the commands ---------------------------------------------------------------


async def _reporter(request: Request[Any, Any, Any]) -> Viewer:
    """The viewer, if they may report accidents and file claims (the API's CLAIMS_WORK)."""
    viewer = await viewer_of(request)
    if not viewer.can("claims_work"):
        raise PermissionDeniedException(
            detail="Anda tidak berhak melaporkan kecelakaan atau mengajukan klaim."
        )
    return viewer


def _to_claim(answer: Mapping[str, Any], flash: str) -> Redirect:
    claim_id = answer["resource"]["id"]
    return see_other(f"{_path('app', 'claims', claim_id)}?min_position={answer['position']}", flash)


# -- reading an accident ---------------------------------------------------------------------


async def _accident(viewer: Viewer, accident_id: str, min_position: int | None) -> dict[str, Any]:
    """The accident as reported (GET /accidents/<id>), the participant as the viewer may see
    them, and the JKK claim once Stage II has filed it."""
    seen = await viewer.api.get(_path("accidents", accident_id))
    claim = None
    if seen["claim_id"] is not None:
        claim = await optional(
            viewer.api.get(_path("claims", seen["claim_id"]), {"min_position": min_position}), 404
        )
    report = {key: value for key, value in seen.items() if key not in ("participant", "outcome")}
    report["reported_by"] = seen["reported_by"].removeprefix("user:")
    return {"accident_id": accident_id, "report": report, "outcome": seen["outcome"],
            "claim": claim, "participant": seen["participant"]}  # fmt: skip


async def _participant(viewer: Viewer, participant_id: str) -> Any:
    """The participant the form is about; an id that is no id at all is as absent as an
    unknown one (the API answers 400 for it), so the officer reads "not found"."""
    try:
        return await viewer.api.get(_path("participants", participant_id))
    except ApiRefused as refused:
        if refused.status == 400:
            raise ApiRefused(
                404,
                {
                    "type": "urn:jaga:problem:not-found",
                    "status": 404,
                    "detail": f"participant {participant_id!r} not found",
                },
            ) from None
        raise


# -- forms -----------------------------------------------------------------------------------


def _report_body(participant_id: str, form: Form) -> tuple[dict[str, Any], Errors]:
    """The Stage I command from the form; a date and time that make no instant are the only
    error found here (the API checks the rest)."""
    occurred_at = _instant(form_text(form, "occurred_on"), form_text(form, "occurred_time"))
    errors = {} if occurred_at else {"occurred_at": "Isi tanggal dan jam kecelakaan."}
    witnesses = [
        {"name": form_text(form, f"witness{n}_name"),
         "phone": form_text(form, f"witness{n}_phone") or None,
         "statement": form_text(form, f"witness{n}_statement")}
        for n in WITNESS_SLOTS
        if any(form_text(form, f"witness{n}_{part}") for part in ("name", "phone", "statement"))
    ]  # fmt: skip
    traffic = bool(form_text(form, "traffic"))
    body = {
        "participant_id": participant_id, "occurred_at": occurred_at,
        "kind": form_text(form, "kind"), "place": form_text(form, "place"),
        "chronology": form_text(form, "chronology"), "witnesses": witnesses, "traffic": traffic,
        "police_report": (form_text(form, "police_report") or None) if traffic else None,
    }  # fmt: skip
    return body, errors


def _outcome_body(form: Form) -> tuple[dict[str, Any], Errors]:
    """The Stage II command; the disability % goes along only for a partial disability."""
    statement_at = _instant(form_text(form, "doctor_on"), form_text(form, "doctor_time"))
    errors = {} if statement_at else {"doctor_statement_at": "Isi tanggal dan jam surat dokter."}
    outcome = form_text(form, "outcome")
    percent = None
    if outcome == "partial_disability":
        percent_text = form_text(form, "disability_percent")
        if percent_text.isdigit():
            percent = int(percent_text)
        else:
            errors["disability_percent"] = _FIELD_ERRORS["disability_percent"]
    body = {"doctor_statement_at": statement_at, "outcome": outcome,
            "disability_percent": percent, "impairment": form_text(form, "impairment")}  # fmt: skip
    return body, errors


def _report_form(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    participant: Mapping[str, Any],
    values: Form,
    *,
    errors: Errors | None = None,
    refused: ApiRefused | None = None,
    status: int = 200,
) -> Template:
    return _form_page(
        request, viewer, "accidents/new.html", values, errors, refused, status,
        participant=participant, kinds=ACCIDENT_KINDS, witness_slots=WITNESS_SLOTS,
    )  # fmt: skip


def _death_form(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    participant: Mapping[str, Any],
    values: Form,
    *,
    refused: ApiRefused | None = None,
) -> Template:
    return _form_page(
        request, viewer, "accidents/death.html", values, None, refused, 200,
        participant=participant,
    )  # fmt: skip


def _accident_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    accident: Mapping[str, Any],
    values: Form,
    *,
    errors: Errors | None = None,
    refused: ApiRefused | None = None,
    status: int = 200,
) -> Template:
    return _form_page(
        request, viewer, "accidents/show.html", values, errors, refused, status,
        accident=accident, kinds=ACCIDENT_KINDS, outcomes=OUTCOMES,
    )  # fmt: skip


def _form_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    template: str,
    values: Form,
    errors: Errors | None,
    refused: ApiRefused | None,
    status: int,
    **context: Any,
) -> Template:
    """A page with a form: what was typed, the refusal in Indonesian, errors by field."""
    if refused is not None:
        errors = {**_field_errors(refused), **(errors or {})}
        status = refused.status
    message = refusal(refused) if refused is not None else None
    if errors and message is None:
        message = "Periksa kembali isian yang ditandai."
    return render(request, template, viewer, status_code=status, values=values,
                  errors=errors or {}, message=message, **context)  # fmt: skip


def _field_errors(refused: ApiRefused) -> Errors:
    """The problem's field errors, by the API's field name, in Indonesian."""
    errors: Errors = {}
    for item in refused.problem.get("errors") or []:
        field = _field_of(str(item.get("field", "")) if isinstance(item, dict) else "")
        if field:
            errors.setdefault(field, _FIELD_ERRORS.get(field, _FIELD_ERROR))
    return errors


def _field_of(path: str) -> str:
    """`witnesses[1].phone` -> `witness2`; `$.data.place` -> `place`: where to show it."""
    path = path.removeprefix("$.").removeprefix("data.")
    name, _, rest = path.partition("[")
    if name == "witnesses" and rest[:1].isdigit():
        return f"witness{int(rest.split(']')[0]) + 1}"
    return name.split(".")[0]


# -- small parts -----------------------------------------------------------------------------


def _instant(day: str, clock: str) -> str | None:
    """A date and a wall-clock time in Asia/Jakarta as an instant (+07:00); None if either
    is missing or no real date or time."""
    try:
        return datetime.combine(
            date.fromisoformat(day), time.fromisoformat(clock), JAKARTA
        ).isoformat()
    except ValueError:
        return None


def _today() -> str:
    return datetime.now(JAKARTA).date().isoformat()


def _path(*parts: str) -> str:
    """A path from ids typed into URLs: each part quoted, so an id never walks elsewhere."""
    return "/" + "/".join(quote(part, safe="") for part in parts)
