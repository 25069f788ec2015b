"""Realistic Kepahiang workers for tests: valid NIKs, real villages, the sample occupations."""

from __future__ import annotations

from datetime import date, timedelta

from services.commands import RegisterWorker
from services.domain.regions import default_regions

_VILLAGES = sorted(default_regions().desa.values(), key=lambda d: d.code)
_OCCUPATIONS = ("ojek", "becak", "kuli angkut", "buruh tani", "nelayan", "juru parkir")


def worker(cohort_id: str, n: int, *, priority: bool = False) -> RegisterWorker:
    """The n-th worker: a distinct, valid NIK whose birth date and sex agree with the row."""
    born = date(1960, 1, 1) + timedelta(days=(n * 37) % 14000)
    sex = "P" if n % 2 else "L"
    day = born.day + (40 if sex == "P" else 0)
    village = _VILLAGES[n % len(_VILLAGES)]
    district = village.kecamatan_code.split(".")[-1]
    nik = f"1708{district}{day:02d}{born:%m%y}{n % 9999 + 1:04d}"
    return RegisterWorker(
        cohort_id=cohort_id,
        nik=nik,
        name=f"Pekerja {n}",
        birth_date=born,
        sex=sex,
        phone=f"08{5200000000 + n}",
        kecamatan=village.kecamatan_code,
        desa=village.code,
        occupation=_OCCUPATIONS[n % len(_OCCUPATIONS)],
        declared_income=1_000_000,
        priority=priority,
    )
