"""Dates and months as Indonesians write them: "26 November 2026", "Desember 2026".

Reminders and pages both use these, in plain ASCII so that an SMS stays in the GSM alphabet.
"""

from __future__ import annotations

from datetime import date

from services.domain.calendar import Month

MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)  # fmt: skip


def bulan(month: Month) -> str:
    """A month the Indonesian way: "Desember 2026"."""
    return f"{MONTHS[month.month - 1]} {month.year}"


def bulan_range(first: Month, last: Month) -> str:
    """Months from `first` to `last`: "Januari sampai Maret 2026", "Desember 2025 sampai
    Februari 2026"."""
    if first.year == last.year:
        return f"{MONTHS[first.month - 1]} sampai {bulan(last)}"
    return f"{bulan(first)} sampai {bulan(last)}"


def tanggal(day: date) -> str:
    """A date the Indonesian way: "15 Desember 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
