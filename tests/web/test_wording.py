"""Refusals in plain Indonesian: real domain errors through the API's problem and back
into a sentence; and, read from the source, every reason, field, action, kind and problem
type the code can raise has its Indonesian wording."""

from __future__ import annotations

import ast
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services.api import domain_problem
from services.commands import (
    ApproveClaim,
    DecideClaim,
    RecordClaimPayment,
    SubmitClaim,
)
from services.domain.errors import (
    DeathAlreadyClaimed,
    DomainError,
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    QuotaExceeded,
    ValidationFailed,
)
from services.web.client import ApiRefused
from services.web.wording import (
    ACTIONS,
    FIELDS,
    KINDS,
    PROBLEM_TYPES,
    STATES,
    field_label,
    field_problem,
    reason_text,
    refusal,
)
from tests.services.test_claim_decider import (
    ANI,
    BUDI,
    FILED,
    ILLEGAL,
    INCOMPLETE,
    LARGE,
    NOW,
    NPWP,
    PROPOSAL,
    READY,
    SMALL,
    C,
    when,
)

SERVICES = Path(__file__).resolve().parents[2] / "services"


def refused(error: DomainError) -> ApiRefused:
    """The problem the API answers for `error`, as the pages' client receives it."""
    problem = domain_problem(error)
    body = {"type": problem.type_, "title": problem.title, "status": problem.status_code,
            "detail": problem.detail, **(problem.extra or {})}  # fmt: skip
    return ApiRefused(problem.status_code, json.loads(json.dumps(body)))


def raised(command: object, *given: object, **decision: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        when(command, *given, **decision)  # type: ignore[arg-type]
    return caught.value


# -- the problem carries the refusal's parts -------------------------------------------------------


def test_an_illegal_transition_problem_carries_its_parts_and_keeps_its_detail() -> None:
    error = raised(SubmitClaim(C), FILED, INCOMPLETE)
    problem = refused(error).problem
    assert problem["type"] == "urn:jaga:problem:illegal-transition"
    assert problem["detail"] == error.detail
    assert (problem["entity"], problem["state"], problem["action"]) == (
        f"claim {C}", "documents_incomplete", "submit",
    )  # fmt: skip
    assert problem["reason"].startswith("documents still missing: ")


@pytest.mark.parametrize(
    ("error", "members"),
    [
        (NotFound("participant", "p-1"), {"kind": "participant", "key": "p-1"}),
        (Duplicate("participant", "NIK", existing="p-1"),
         {"kind": "participant", "key": "NIK", "existing": "p-1"}),
        (Duplicate("user", "sari"), {"kind": "user", "key": "sari"}),
        (QuotaExceeded("kph2025", 500, 500), {"cohort": "kph2025", "quota": 500, "active": 500}),
        (DeathAlreadyClaimed("p-1", "c-1", "JKK", "approved"),
         {"participant_id": "p-1", "claim_id": "c-1", "claim_kind": "JKK",
          "claim_state": "approved"}),
        (ValidationFailed.one("kpj", "a KPJ number is 8 to 13 digits"),
         {"errors": [{"field": "kpj", "reason": "a KPJ number is 8 to 13 digits"}]}),
    ],
)  # fmt: skip
def test_every_domain_problem_carries_its_parts(
    error: DomainError, members: dict[str, object]
) -> None:
    problem = refused(error).problem
    assert {k: problem[k] for k in members} == members
    assert problem["detail"] == error.detail
    assert "existing" in problem or "existing" not in members


# -- real refusals of the claim decider, in Indonesian ---------------------------------------------


def test_missing_documents_are_named_as_the_officer_knows_them() -> None:
    said = refusal(refused(raised(SubmitClaim(C), FILED, INCOMPLETE)))
    assert said.startswith("Tidak dapat mengajukan klaim: dokumen masih kurang: ")
    assert "KTP peserta" in said and "Kartu peserta (KPJ)" in said
    assert "ktp" not in said and "kpj_card" not in said


def test_the_second_approval_by_the_proposer_is_refused_naming_them() -> None:
    said = refusal(refused(raised(ApproveClaim(C), *READY, NPWP, PROPOSAL, actor=ANI)))
    assert said == (
        "Tidak dapat menyetujui klaim: persetujuan kedua harus oleh petugas lain, bukan yang "
        f"mengusulkan ({ANI})."
    )


def test_deciding_a_claim_assigned_to_another_officer() -> None:
    said = refusal(refused(raised(DecideClaim(claim_id=C), *READY, actor=BUDI, found=SMALL)))
    assert said == (
        f"Tidak dapat memutuskan klaim: klaim ini ditugaskan kepada {ANI}, bukan kepada {BUDI}."
    )


def test_a_large_benefit_without_an_npwp_names_the_amounts_in_rupiah() -> None:
    said = refusal(refused(raised(DecideClaim(claim_id=C), *READY, found=LARGE)))
    assert said.startswith("Tidak dapat menyetujui klaim: manfaat Rp70.000.000 melebihi Rp")
    assert "NPWP diperlukan" in said


def test_a_step_out_of_order_names_the_states_in_indonesian() -> None:
    said = refusal(refused(raised(RecordClaimPayment(claim_id=C, reference="T", paid_at=NOW),
                                  *READY)))  # fmt: skip
    assert said == (
        'Tidak dapat mencatat pembayaran manfaat: hanya dari status "Disetujui", sedangkan '
        'statusnya sekarang "Dalam verifikasi".'
    )


@pytest.mark.parametrize(("given", "command", "state", "reason"), ILLEGAL)
def test_every_illegal_claim_transition_reads_in_indonesian(
    given: tuple[object, ...], command: object, state: str, reason: str
) -> None:
    said = refusal(refused(raised(command, *given, found=SMALL)))
    assert said.startswith("Tidak dapat ") and said.endswith(".")
    assert not english_in(said, reason), said


def test_a_reason_the_catalog_lacks_gets_the_general_sentence_never_english() -> None:
    error = IllegalTransition("claim c-1", "submitted", "submit", "the moon is full")
    assert refusal(refused(error)) == "Tidak dapat mengajukan klaim pada keadaan data sekarang."


# -- other problems --------------------------------------------------------------------------------


def test_field_errors_name_the_fields_as_the_forms_do() -> None:
    error = ValidationFailed([
        FieldError("received_at", "an instant with its time zone, not later than now"),
        FieldError("heirs[1].name", "must not be empty"),
    ])  # fmt: skip
    assert refusal(refused(error)) == (
        "Isian belum benar. Tanggal diterima: isi tanggal dan jam lengkap, tidak lebih dari "
        "sekarang. Nama (ahli waris ke-2): wajib diisi."
    )


def test_a_date_before_another_is_written_as_a_date() -> None:
    reason = "2025-11-19T10:00:00+07:00 is before occurred_at 2025-11-20T09:00:00+07:00"
    assert field_problem({"field": "reported_at", "reason": reason}) == (
        "Waktu pelaporan: 19 November 2025 10.00 WIB lebih awal dari waktu kejadian "
        "(20 November 2025 09.00 WIB)."
    )


def test_litestar_validation_errors_read_in_indonesian() -> None:
    problem = {
        "type": "urn:jaga:problem:invalid-request", "status": 400,
        "detail": "Validation failed for POST /claims/c-1/payment",
        "errors": [
            {"field": "data", "reason": "Object missing required field `reference`",
             "source": "body"},
            {"field": "paid_at", "reason": "Invalid RFC3339 encoded datetime", "source": "body"},
            {"field": "witnesses[0].name", "reason": "Expected `str` of length >= 1"},
            {"field": "limit", "reason": "Expected `int` <= 200", "source": "query"},
        ],
    }  # fmt: skip
    assert refusal(ApiRefused(400, problem)) == (
        "Isian belum benar. Nomor referensi wajib diisi. Tanggal pembayaran: bukan tanggal dan "
        "jam yang benar. Nama (saksi ke-1): panjangnya paling sedikit 1 karakter. Jumlah baris: "
        "harus paling banyak 200."
    )


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (NotFound("participant with KPJ", "12345678"),
         "Peserta dengan nomor KPJ 12345678 tidak ditemukan, atau berada di luar wilayah kerja "
         "Anda."),
        (NotFound("claim", "3f1c"),
         "Klaim tidak ditemukan, atau berada di luar wilayah kerja Anda."),
        (Duplicate("participant", "NIK", existing="p-1"),
         "NIK ini sudah terdaftar sebagai peserta."),
        (Duplicate("claim", "c-1", existing="JKK claim of accident a-1"),
         "Klaim untuk kejadian ini sudah diajukan."),
        (QuotaExceeded("kph2025", 500, 500),
         "Kohort kph2025 sudah penuh: kuota 500 orang, peserta aktif 500 orang."),
        (DeathAlreadyClaimed("p-1", "c-1", "JKM", "under_verification"),
         'Kematian peserta ini sudah diajukan dalam klaim JKM (meninggal dunia bukan karena '
         'kecelakaan kerja) yang berstatus "Dalam verifikasi". Satu kematian hanya dapat diklaim '
         "satu kali: klaim lain untuk kematian yang sama baru dapat diajukan atau dibuka kembali "
         "setelah klaim itu ditolak. Tidak ada yang dicatat."),
        (IllegalTransition("user sari", "disabled", "disable", "already"),
         'Tidak dapat menonaktifkan akun: statusnya sudah "Nonaktif".'),
        (IllegalTransition("cohort", "budget year 2026", "roll over",
                           "the new budget year must come after 2026"),
         "Tidak dapat melanjutkan kohort ke tahun anggaran baru: tahun anggaran baru harus "
         "sesudah 2026."),
        (IllegalTransition("user sari", "active", "change roles",
                           "your own account: another administrator must change them"),
         "Tidak dapat mengubah peran akun: ini akun Anda sendiri: administrator lain yang harus "
         "mengubahnya."),
    ],
)  # fmt: skip
def test_domain_refusals_read_in_indonesian(error: DomainError, said: str) -> None:
    assert refusal(refused(error)) == said


@pytest.mark.parametrize(
    ("status", "problem", "said"),
    [
        (429, {"type": "urn:jaga:problem:login-throttled",
               "detail": "too many failed logins; try again in 840 s"},
         "Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam 14 menit."),
        (403, {"type": "urn:jaga:problem:forbidden", "detail": "sari lacks claims_work"},
         "Peran Anda tidak mengizinkan tindakan ini."),
        (503, {"type": "urn:jaga:problem:read-model-behind"},
         "Data belum selesai diperbarui. Muat ulang halaman ini sebentar lagi."),
        (404, {"type": "urn:jaga:problem:not-found",
               "detail": "claim 'c-1' has no events as of 2025-09-01 known at 2026-01-05"},
         "Belum ada catatan untuk data ini pada tanggal tersebut."),
        (404, {"type": "urn:jaga:problem:not-found", "detail": "Not Found"},
         "Data tidak ditemukan, atau berada di luar wilayah kerja Anda."),
        (409, {"type": "urn:jaga:problem:version-conflict", "stream_id": "claim-c1"},
         "Data ini baru saja diubah oleh orang lain. Muat ulang halaman, lalu coba lagi."),
        (418, {}, "Terjadi kesalahan. Coba lagi."),
    ],
)  # fmt: skip
def test_api_problems_read_in_indonesian(status: int, problem: dict[str, str], said: str) -> None:
    assert refusal(ApiRefused(status, problem)) == said


def test_field_paths_name_the_item_of_a_list() -> None:
    assert field_label("heirs[0].relation") == "hubungan keluarga (ahli waris ke-1)"
    assert field_label("witnesses[1]") == "saksi ke-2"
    assert field_label("data") == "isian"


# -- every phrase the code can raise has its wording (read from the source) ------------------------

ALLOWED_WORDS = {
    "nik", "kpj", "jkk", "jkm", "npwp", "stmb", "laki", "perempuan", "kecamatan", "desa",
    "kelurahan", "supervisor", "administrator", "rupiah", "bank", "transfer", "per",
}  # fmt: skip
"""Words of the English phrases that are Indonesian or acronyms an officer knows."""


def english_in(said: str, english: str) -> set[str]:
    """The words of the English phrase that are still in the Indonesian sentence."""
    words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", english)} - ALLOWED_WORDS
    return {w for w in words if re.search(rf"(?<![A-Za-z]){w}(?![A-Za-z])", said, re.I)}


HOLE = "7"
"""What a variable part of a phrase stands for when the source does not say (a name, a
number, a date: every pattern takes it)."""


@dataclass(frozen=True)
class Scope:
    """Where an expression is read: its module, its function and the arguments a caller
    bound to that function's parameters."""

    module: ast.Module
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    bound: dict[str, tuple[ast.expr, Scope]] = field(default_factory=dict)
    depth: int = 0


@dataclass
class Source:
    """The services' code, parsed once: every call by the name it calls, with its scope."""

    calls: dict[str, list[tuple[ast.Call, Scope]]] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> Source:
        source = cls()
        for path in sorted(root.rglob("*.py")):
            if "web" in path.relative_to(root).parts:
                continue
            module = ast.parse(path.read_text(encoding="utf-8"))
            source._index(module, module, Scope(module, None))
        return source

    def _index(self, node: ast.AST, module: ast.Module, scope: Scope) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = Scope(module, child)
            elif isinstance(child, ast.Call):
                self.calls.setdefault(called(child), []).append((child, scope))
            self._index(child, module, inner)

    def sites(self, *names: str) -> Iterator[tuple[ast.Call, Scope]]:
        for name in names:
            yield from self.calls.get(name, [])

    def strings(self, expr: ast.expr | None, scope: Scope) -> set[str]:
        """The texts `expr` can be, as far as the source says; empty when it does not."""
        match expr:
            case ast.Constant(value=str() | int() as value) if not isinstance(value, bool):
                return {str(value)}
            case ast.JoinedStr(values=parts):
                choices = [self._hole(part, scope) for part in parts]
                return {"".join(texts) for texts in itertools.product(*choices)}
            case ast.IfExp(body=body, orelse=orelse):
                return self.strings(body, scope) | self.strings(orelse, scope)
            case ast.Call(func=ast.Attribute(value=text, attr="replace" | "strip")):
                return self.strings(text, scope)
            case ast.Name(id=name):
                return self._name(name, scope)
        return set()

    def _hole(self, part: ast.expr, scope: Scope) -> set[str]:
        if isinstance(part, ast.FormattedValue):
            return self.strings(part.value, scope) or {HOLE}
        return self.strings(part, scope)

    def _name(self, name: str, scope: Scope) -> set[str]:
        if name in scope.bound:
            expr, where = scope.bound[name]
            return self.strings(expr, where)
        function = scope.function
        if function is not None and name in parameters(function):
            return self._from_callers(function, name, scope.depth)
        found: set[str] = set()
        for node in ast.walk(function or scope.module):
            if isinstance(node, ast.Assign | ast.AnnAssign) and any(
                isinstance(t, ast.Name) and t.id == name for t in targets(node)
            ):
                found |= self.strings(node.value, scope)
            elif isinstance(node, ast.For) and loops_over_texts(node, name):
                for item in node.iter.elts:  # type: ignore[attr-defined]
                    found |= self.strings(item, scope)
        return found

    def _from_callers(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
                      depth: int) -> set[str]:  # fmt: skip
        """A parameter's texts: what every caller of the function passes for it."""
        if depth > 4:
            return set()
        found: set[str] = set()
        params = parameters(function)
        shift = 1 if params[:1] in (["self"], ["cls"]) else 0
        for call, caller in self.calls.get(function.name, []):
            given = dict(zip(params[shift:], call.args, strict=False))
            given |= {k.arg: k.value for k in call.keywords if k.arg}
            default = defaults(function).get(name)
            expr = given.get(name, default)
            where = caller if name in given else Scope(caller.module, function)
            found |= self.strings(expr, Scope(where.module, where.function, where.bound,
                                              depth + 1))  # fmt: skip
        return found


def called(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id + "." if isinstance(func.value, ast.Name) else ""
        return owner + func.attr if owner == "ValidationFailed." else func.attr
    return func.id if isinstance(func, ast.Name) else ""


def parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]


def defaults(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.expr]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    found = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]],
                     args.defaults, strict=True))  # fmt: skip
    found |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
    return found


def loops_over_texts(loop: ast.For, name: str) -> bool:
    """`for name in ("a", "b")`: the name is each of those."""
    target = loop.target
    return (
        isinstance(target, ast.Name)
        and target.id == name
        and isinstance(loop.iter, ast.Tuple | ast.List)
    )


def targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


def argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


SOURCE = Source.read(SERVICES)


def phrases(names: tuple[str, ...], index: int, keyword: str) -> set[str]:
    """Every text the `index`th argument of calls to `names` can be."""
    found: set[str] = set()
    for call, scope in SOURCE.sites(*names):
        found |= SOURCE.strings(argument(call, index, keyword), scope)
    return found


TRANSITION_ACTIONS = phrases(("IllegalTransition",), 2, "action")
TRANSITION_REASONS = phrases(("IllegalTransition",), 3, "reason")
TRANSITION_STATES = phrases(("IllegalTransition",), 1, "state")
FIELD_NAMES = phrases(("FieldError", "ValidationFailed.one"), 0, "field")
FIELD_REASONS = phrases(("FieldError", "ValidationFailed.one"), 1, "reason")
KIND_NAMES = phrases(("NotFound", "Duplicate"), 0, "kind")
PROBLEM_SLUGS = phrases(("problem",), 1, "slug") | {
    kind.code.replace("_", "-") for kind in DomainError.__subclasses__()
}
"""Litestar's other HTTP errors (`http_problem`: method-not-allowed, ...) get their status's
sentence."""


def benefit_reasons() -> set[str]:
    """A claim's benefit inputs are refused as the `benefits` field with the message of the
    ValueError or TypeError the benefit rules raise (services/claim_assessment.py)."""
    found: set[str] = set()
    for name in ("domain/benefits.py", "claim_assessment.py"):
        module = ast.parse((SERVICES / name).read_text(encoding="utf-8"))
        for function in ast.walk(module):
            if not isinstance(function, ast.FunctionDef) or function.name == "assess":
                continue
            for node in ast.walk(function):
                if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                        and called(node.exc) in ("ValueError", "TypeError")):  # fmt: skip
                    found |= SOURCE.strings(node.exc.args[0], Scope(module, function))
    return found


def test_the_source_is_read_whole() -> None:
    """The collectors find what is known to be there, so an empty set cannot pass."""
    assert {"submit", "approve", "receive the 7", "disable", "roll over"} <= TRANSITION_ACTIONS
    assert "documents still missing: 7" in TRANSITION_REASONS
    assert "only from 7" in TRANSITION_REASONS
    assert "your own account: nobody may lock themself out" in TRANSITION_REASONS
    assert {"received_at", "occurred_at", "nik", "heirs[7].relation"} <= FIELD_NAMES
    assert "7 is before occurred_at 7" in FIELD_REASONS
    assert "wage must be positive, got 7" in benefit_reasons()
    assert {"claim", "participant with KPJ", "stream"} <= KIND_NAMES
    assert {"illegal-transition", "login-throttled", "unreadable-file"} <= PROBLEM_SLUGS


@pytest.mark.parametrize("action", sorted(TRANSITION_ACTIONS))
def test_every_action_has_its_wording(action: str) -> None:
    error = IllegalTransition("claim c-1", "submitted", action, "say why")
    said = refusal(refused(error))
    assert said.startswith("Tidak dapat ") and not said.startswith("Tidak dapat dilakukan")
    assert not english_in(said, action), said


@pytest.mark.parametrize("reason", sorted(TRANSITION_REASONS))
def test_every_transition_reason_has_its_wording(reason: str) -> None:
    error = IllegalTransition("claim c-1", "submitted", "submit", reason)
    said = refusal(refused(error))
    assert said.startswith("Tidak dapat mengajukan klaim: "), said
    assert not english_in(said, reason), said


@pytest.mark.parametrize("state", sorted(TRANSITION_STATES - {HOLE}))
def test_every_state_a_refusal_names_has_its_wording(state: str) -> None:
    said = [refusal(refused(IllegalTransition(entity, state, "submit", "only from submitted")))
            for entity in STATES]  # fmt: skip
    assert any(not english_in(s, state) for s in said), said


@pytest.mark.parametrize("reason", sorted(FIELD_REASONS | benefit_reasons()))
def test_every_field_error_has_its_wording(reason: str) -> None:
    said = reason_text(reason)
    assert said is not None, f"no wording for {reason!r}"
    assert not english_in(said, reason), said


@pytest.mark.parametrize("name", sorted(FIELD_NAMES - {HOLE, ""}))
def test_every_field_has_its_label(name: str) -> None:
    named = re.findall(r"[a-z_]+", name)
    assert all(n in FIELDS for n in named), name


@pytest.mark.parametrize("kind", sorted(KIND_NAMES - {HOLE}))
def test_every_kind_of_thing_has_its_name(kind: str) -> None:
    assert kind in KINDS


@pytest.mark.parametrize("slug", sorted(PROBLEM_SLUGS - {HOLE}))
def test_every_problem_type_has_its_sentence(slug: str) -> None:
    assert slug in PROBLEM_TYPES


def test_every_state_of_the_claim_and_every_action_is_indonesian() -> None:
    for names in (*STATES.values(), ACTIONS):
        for code, said in names.items():
            assert not english_in(said, code.replace("_", " ")) or code in said, (code, said)


def test_the_raise_sites_left_unread_are_the_known_pass_throughs() -> None:
    """A reason the collectors cannot read (not a text the source spells out) must be one of
    these, each worded elsewhere: new ones need a look."""
    unread = set()
    for call, scope in SOURCE.sites("IllegalTransition", "FieldError", "ValidationFailed.one"):
        index = 3 if called(call) == "IllegalTransition" else 1
        expr = argument(call, index, "reason")
        if expr is not None and not SOURCE.strings(expr, scope):
            unread.add(ast.unparse(expr))
    assert unread == {
        "str(exc)",  # claim_assessment: the benefit rules' messages (benefit_reasons)
        "e.reason",  # importer: a field error of the registration, already read
        "outcome.detail",  # importer: a refusal's detail in an import report row
        "reason",  # errors.ValidationFailed.one: its callers are read
    }


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("not covered on 2026-11-01: the contribution for 2026-11 is not paid as of 2026-11-01",
         "peserta tidak terlindungi pada 1 November 2026"),
        ("the membership covers JKK, JKM, not JHT",
         "kepesertaan hanya mencakup program JKK, JKM, bukan JHT"),
        ("filed on 2026-11-01, after the right to claim ended on 2026-10-31",
         "diajukan 1 November 2026, setelah hak klaim berakhir pada 31 Oktober 2026"),
        ("not a work accident (outside_work): not at work, not on the way between home and "
         "work, not an occupational disease", "bukan kecelakaan kerja"),
    ],
)  # fmt: skip
def test_the_reasons_a_claim_is_not_eligible_read_in_indonesian(reason: str, said: str) -> None:
    """services/claim_assessment.py words a rejection on the merits; the claim page shows it."""
    rendered = reason_text(reason)
    assert rendered is not None and rendered.startswith(said)
