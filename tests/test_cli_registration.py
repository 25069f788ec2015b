"""`jaga cohorts create` and `jaga import participants`, run as an officer would."""

from __future__ import annotations

from pathlib import Path

from events.migrations import migrate
from events.personal import MasterKeys
from tests.test_personal_data_cli import jaga

SAMPLE = Path(__file__).parent / "data" / "sample_participants.csv"


async def test_create_a_cohort_then_import_the_list_twice(
    scratch_database_url: str, tmp_path: Path
) -> None:
    await migrate(scratch_database_url)
    keys = MasterKeys.generate("k1")
    create = [
        "cohorts", "create", "--id", "kph2025", "--name", "Pekerja rentan Kepahiang 2025",
        "--sponsor", "APBD Kabupaten Kepahiang", "--budget-year", "2025", "--quota", "45",
        "--coverage-start", "2025-10-01", "--coverage-end", "2025-12-31",
        "--budget-allocation", "100000000", "--legal-basis", "Inpres 2/2021", "--actor", "dinsos",
    ]  # fmt: skip
    created = jaga(create, scratch_database_url, tmp_path, keys)
    assert created.returncode == 0, created.stderr
    report = tmp_path / "ditolak.csv"
    args = ["import", "participants", str(SAMPLE), "--cohort", "kph2025", "--actor", "ani",
            "--report", str(report)]  # fmt: skip

    first = jaga(args, scratch_database_url, tmp_path, keys)
    second = jaga(args, scratch_database_url, tmp_path, keys)

    assert first.returncode == 0, first.stderr
    assert "45 enrolled, 5 on the waiting list" in first.stderr
    assert "50 already registered" in second.stderr
    assert report.read_text().strip() == "baris,nik,kolom,alasan"
    again = jaga(create, scratch_database_url, tmp_path, keys)
    assert again.returncode == 1 and "already exists" in again.stderr
