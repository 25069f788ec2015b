"""Import of the regency's participant list (CSV or XLSX, as Excel writes them).

Columns by their Indonesian headers, in any order: nik, nama, tanggal_lahir (YYYY-MM-DD or
DD/MM/YYYY), jenis_kelamin (L/P), no_hp, kecamatan (code), desa (code), pekerjaan,
penghasilan. CSV with comma or semicolon, with or without a UTF-8 BOM, CRLF or LF. Every row
is checked; valid rows are registered in file order (that is their order of arrival), and
each rejected row is reported with its reasons. A re-run registers nobody twice: rows already
registered are counted as such, not rejected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import msgspec

from events.store import Context
from services.access import masked
from services.commands import RegisterWorker
from services.domain.errors import DomainError, Duplicate, FieldError, ValidationFailed
from services.registration import Registrar

COLUMNS = (
    "nik", "nama", "tanggal_lahir", "jenis_kelamin", "no_hp", "kecamatan", "desa",
    "pekerjaan", "penghasilan",
)  # fmt: skip
_FIELD_OF = {  # command field -> column, to report errors by the column the officer sees
    "nik": "nik", "name": "nama", "birth_date": "tanggal_lahir", "sex": "jenis_kelamin",
    "phone": "no_hp", "kecamatan": "kecamatan", "desa": "desa", "occupation": "pekerjaan",
    "declared_income": "penghasilan",
}  # fmt: skip
BATCH = 2000


class Rejected(msgspec.Struct, frozen=True):
    row: int  # as numbered in the spreadsheet (header = 1)
    nik: str  # masked
    errors: list[FieldError]


class ImportReport(msgspec.Struct):
    rows: int = 0
    enrolled: int = 0
    waitlisted: int = 0
    already_registered: int = 0
    rejected: list[Rejected] = msgspec.field(default_factory=list)


class ImportFileError(ValueError):
    """The file itself cannot be read as a participant list (not a row of it)."""


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) for every non-empty row, headers normalised."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _xlsx_rows(path)
    else:
        yield from _csv_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = _header(next(reader, []))
    for number, values in enumerate(reader, start=2):
        if any(v.strip() for v in values):
            yield number, dict(zip(header, (v.strip() for v in values), strict=False))


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True, data_only=True).active
    if sheet is None:
        raise ImportFileError(f"{path.name} has no worksheet")
    rows = sheet.iter_rows(values_only=True)
    header = _header([str(v or "") for v in next(rows, ())])
    for number, values in enumerate(rows, start=2):
        cells = [_cell_text(v) for v in values]
        if any(cells):
            yield number, dict(zip(header, cells, strict=False))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(cells: list[str]) -> list[str]:
    header = [re.sub(r"\s+", "_", c.strip().lower()) for c in cells]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ImportFileError(f"missing columns: {', '.join(missing)}")
    return header


def parse_row(row: dict[str, str], cohort_id: str) -> RegisterWorker:
    """The registration a row asks for; `ValidationFailed` naming the columns that are wrong."""
    errors: list[FieldError] = []
    birth = _date(row.get("tanggal_lahir", ""), errors)
    income = _rupiah(row.get("penghasilan", ""), errors)
    sex = {"l": "L", "laki-laki": "L", "p": "P", "perempuan": "P"}.get(
        row.get("jenis_kelamin", "").strip().lower(), row.get("jenis_kelamin", "")
    )
    if errors:
        raise ValidationFailed(errors)
    return RegisterWorker(
        cohort_id=cohort_id, nik=row.get("nik", ""), name=row.get("nama", ""),
        birth_date=birth, sex=sex, phone=row.get("no_hp", ""),
        kecamatan=row.get("kecamatan", ""), desa=row.get("desa", ""),
        occupation=row.get("pekerjaan", "").strip().lower(), declared_income=income,
    )  # fmt: skip


def _date(text: str, errors: list[FieldError]) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    errors.append(FieldError("tanggal_lahir", f"expected YYYY-MM-DD or DD/MM/YYYY, got {text!r}"))
    return date.min


def _rupiah(text: str, errors: list[FieldError]) -> int:
    digits = re.sub(r"^rp\.?\s*|[.,\s]", "", text.strip().lower())
    if not digits.isdigit():
        errors.append(FieldError("penghasilan", f"expected an amount in rupiah, got {text!r}"))
        return 0
    return int(digits)


def mask_nik(nik: str) -> str:
    """A refused row's NIK as the report names it: its digits masked the one way every NIK is
    (services/access.py), whatever separators the spreadsheet put in."""
    return masked("nik", re.sub(r"\D", "", nik))


async def import_participants(
    registrar: Registrar,
    path: Path,
    cohort_id: str,
    context: Context,
    progress: Callable[[int], None] = lambda done: None,
) -> ImportReport:
    report = ImportReport()
    batch: list[tuple[int, str, RegisterWorker]] = []
    for number, row in read_rows(path):
        report.rows += 1
        try:
            batch.append((number, row.get("nik", ""), parse_row(row, cohort_id)))
        except ValidationFailed as invalid:
            report.rejected.append(Rejected(number, mask_nik(row.get("nik", "")),
                                            _by_column(invalid.errors)))  # fmt: skip
        if len(batch) >= BATCH:
            await _register(registrar, batch, context, report)
            progress(report.rows)
            batch = []
    await _register(registrar, batch, context, report)
    progress(report.rows)
    report.rejected.sort(key=lambda r: r.row)
    return report


async def _register(
    registrar: Registrar,
    batch: list[tuple[int, str, RegisterWorker]],
    context: Context,
    report: ImportReport,
) -> None:
    if not batch:
        return
    outcomes = await registrar.register_many([c for _, _, c in batch], context)
    for (number, nik, _), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, Duplicate):
            report.already_registered += 1
        elif isinstance(outcome, ValidationFailed):
            report.rejected.append(Rejected(number, mask_nik(nik), _by_column(outcome.errors)))
        elif isinstance(outcome, DomainError):
            report.rejected.append(Rejected(number, mask_nik(nik),
                                            [FieldError("", outcome.detail)]))  # fmt: skip
        elif outcome.status == "enrolled":
            report.enrolled += 1
        else:
            report.waitlisted += 1


def _by_column(errors: list[FieldError]) -> list[FieldError]:
    return [FieldError(_FIELD_OF.get(e.field, e.field), e.reason) for e in errors]


def write_rejections(report: ImportReport, path: Path) -> None:
    """The rejected rows, one line per reason: baris (row), nik (masked), kolom, alasan."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["baris", "nik", "kolom", "alasan"])
        for rejected in report.rejected:
            for error in rejected.errors:
                writer.writerow([rejected.row, rejected.nik, error.field, error.reason])
