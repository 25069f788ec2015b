"""Importing the regency's list: the formats Excel writes, every row checked, re-runs safe."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from events.store import Context
from services.importer import (
    COLUMNS,
    ImportFileError,
    import_participants,
    read_rows,
    write_rejections,
)
from services.registration import Registrar
from tests.services.conftest import open_cohort
from tests.services.workers import worker

SAMPLE = Path(__file__).parent.parent / "data" / "sample_participants.csv"


def rows_for(cohort_id: str, first: int, count: int) -> list[list[str]]:
    rows = []
    for n in range(first, first + count):
        w = worker(cohort_id, n)
        rows.append([w.nik, w.name, w.birth_date.strftime("%d/%m/%Y"), w.sex, w.phone,
                     w.kecamatan, w.desa, w.occupation, "1.000.000"])  # fmt: skip
    return rows


def write_csv(path: Path, rows: list[list[str]], *, delimiter: str, bom: bool) -> None:
    header = list(reversed(COLUMNS))  # any order
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as out:
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([h.upper() for h in header])
        for row in rows:
            by_column = dict(zip(COLUMNS, row, strict=True))
            writer.writerow([by_column[h] for h in header])


async def test_the_sample_list_imports_and_a_rerun_registers_nobody_twice(
    registrar: Registrar, admin: Context, tmp_path: Path
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=45)

    report = await import_participants(registrar, SAMPLE, cohort_id, admin)
    again = await import_participants(registrar, SAMPLE, cohort_id, admin)

    assert report.rows == 50
    assert report.enrolled + report.waitlisted + len(report.rejected) == 50
    assert report.enrolled == 45 or report.enrolled + len(report.rejected) == 50
    assert again.enrolled == again.waitlisted == 0
    assert again.already_registered == report.enrolled + report.waitlisted
    write_rejections(report, tmp_path / "ditolak.csv")
    assert (tmp_path / "ditolak.csv").read_text().startswith("baris,nik,kolom,alasan")


@pytest.mark.parametrize(("delimiter", "bom"), [(";", True), (",", False)])
async def test_csv_as_excel_writes_it(
    registrar: Registrar, admin: Context, tmp_path: Path, delimiter: str, bom: bool
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=10)
    rows = rows_for(cohort_id, 70_000 + 1000 * bom, 12)
    rows[5][8] = "sembilan ratus ribu"  # not an amount
    rows[6][2] = "1990-13-45"  # not a date
    path = tmp_path / "daftar.csv"
    write_csv(path, rows, delimiter=delimiter, bom=bom)

    report = await import_participants(registrar, path, cohort_id, admin)

    assert (report.enrolled, report.waitlisted) == (10, 0)
    assert [(r.row, r.errors[0].field) for r in report.rejected] == [
        (7, "penghasilan"), (8, "tanggal_lahir"),
    ]  # fmt: skip
    assert "*" in report.rejected[0].nik


async def test_xlsx(registrar: Registrar, admin: Context, tmp_path: Path) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=5)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMNS))
    for row in rows_for(cohort_id, 80_000, 6):
        sheet.append([int(row[0]), *row[1:8], 1000000])  # a NIK typed as a number, as Excel does
    path = tmp_path / "daftar.xlsx"
    book.save(path)

    report = await import_participants(registrar, path, cohort_id, admin)

    assert (report.enrolled, report.waitlisted, report.rejected) == (5, 1, [])


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "salah.csv"
    path.write_text("nik,nama\n1708,Ani\n")
    with pytest.raises(ImportFileError, match="missing columns"):
        list(read_rows(path))
