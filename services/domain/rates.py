"""Contribution rates for non-wage-earner (BPU) participants, versioned by effective date.

Rates change by regulation, so an amount is always computed from the rate table in force
for its contribution month, and the result names that table's version (events record it).
A table applies to a month when it took effect on or before the month's first day: a
regulation taking effect mid-month applies from the next contribution month.

Amounts are integer rupiah. Percentages are held as basis points (1% = 100) so no float
ever touches money; a percentage amount is rounded half up to the rupiah
(`money.percent_of`), then JKK is clamped to its minimum and maximum.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import msgspec

from services.domain.calendar import Month
from services.domain.errors import FieldError, NotFound, ValidationFailed
from services.domain.money import percent_of

MIN_DECLARED_INCOME = 1_000_000
"""Lowest declared monthly income a BPU participant may register with (checked at
registration; `contribution_due` itself accepts any non-negative income)."""


class Programme(enum.StrEnum):
    """BPJS Ketenagakerjaan programmes a cohort can cover."""

    JKK = "JKK"  # work accident
    JKM = "JKM"  # death
    JHT = "JHT"  # old-age savings (optional)


class RateTable(msgspec.Struct, frozen=True, kw_only=True):
    """The BPU rates of one regulation version, from `effective_from` on."""

    version: str
    effective_from: date
    jkk_basis_points: int
    jkk_min: int
    jkk_max: int
    jkm_fixed: int
    jht_basis_points: int

    def __post_init__(self) -> None:
        for name in ("jkk_basis_points", "jkk_min", "jkk_max", "jkm_fixed", "jht_basis_points"):
            if getattr(self, name) < 0:
                raise ValueError(f"rate table {self.version}: {name} must be >= 0")
        if self.jkk_min > self.jkk_max:
            raise ValueError(f"rate table {self.version}: jkk_min above jkk_max")

    def amount(self, programme: Programme, income: int) -> int:
        """The monthly contribution of one programme at a declared income."""
        if programme is Programme.JKK:
            return min(max(percent_of(income, self.jkk_basis_points), self.jkk_min), self.jkk_max)
        if programme is Programme.JKM:
            return self.jkm_fixed
        return percent_of(income, self.jht_basis_points)


PP44_2015_PP82_2019 = RateTable(
    version="PP44/2015+PP82/2019",
    # PP 82/2019 (amending PP 44/2015) was enacted in December 2019; every month Jaga
    # handles (from 2025) is well after it.
    effective_from=date(2019, 12, 2),
    jkk_basis_points=100,  # 1% of declared income
    jkk_min=10_000,
    jkk_max=207_000,
    jkm_fixed=6_800,
    jht_basis_points=200,  # 2% of declared income
)


class RateSchedule(msgspec.Struct, frozen=True):
    """Rate tables ordered by effective date; `in_force` picks the one for a month."""

    tables: tuple[RateTable, ...]

    def __post_init__(self) -> None:
        if not self.tables:
            raise ValueError("a rate schedule needs at least one table")
        dates = [t.effective_from for t in self.tables]
        if dates != sorted(set(dates)):
            raise ValueError(f"rate tables must have increasing effective dates, got {dates}")
        versions = [t.version for t in self.tables]
        if len(set(versions)) != len(versions):
            raise ValueError(f"rate table versions must be unique, got {versions}")

    @classmethod
    def of(cls, tables: Iterable[RateTable]) -> RateSchedule:
        """A schedule from tables in any order."""
        return cls(tuple(sorted(tables, key=lambda t: t.effective_from)))

    def in_force(self, month: Month) -> RateTable:
        """The latest table effective on or before the month's first day."""
        first_day = month.first_day
        found = None
        for table in self.tables:
            if table.effective_from > first_day:
                break
            found = table
        if found is None:
            raise NotFound("rate table in force for month", str(month))
        return found


DEFAULT_SCHEDULE = RateSchedule((PP44_2015_PP82_2019,))


class ContributionDue(msgspec.Struct, frozen=True, kw_only=True):
    """What one participant owes for one month, per programme, and the table it came from."""

    month: Month
    income: int
    rate_version: str
    amounts: dict[Programme, int]

    @property
    def total(self) -> int:
        return sum(self.amounts.values())


def contribution_due(
    income: int,
    programmes: Iterable[Programme | str],
    month: Month,
    schedule: RateSchedule = DEFAULT_SCHEDULE,
) -> ContributionDue:
    """The monthly contribution at a declared income for the chosen programmes, from the
    rate table in force for `month`. Raises `ValidationFailed` for a negative or non-integer
    income, no programme or an unknown one; `NotFound` when no table covers the month."""
    errors: list[FieldError] = []
    if isinstance(income, bool) or not isinstance(income, int) or income < 0:
        errors.append(
            FieldError("income", f"must be a whole, non-negative rupiah amount: {income!r}")
        )
    chosen: list[Programme] = []
    for programme in programmes:
        try:
            chosen.append(Programme(programme))
        except ValueError:
            errors.append(FieldError("programmes", f"unknown programme {programme!r}"))
    if not chosen and not errors:
        errors.append(FieldError("programmes", "at least one programme is needed"))
    if errors:
        raise ValidationFailed(errors)

    version, amounts = _amounts(income, frozenset(chosen), month, schedule)
    return ContributionDue(month=month, income=income, rate_version=version, amounts=dict(amounts))


@lru_cache(maxsize=8192)
def _amounts(
    income: int, chosen: frozenset[Programme], month: Month, schedule: RateSchedule
) -> tuple[str, tuple[tuple[Programme, int], ...]]:
    """The table in force and each chosen programme's amount, in `Programme` order: a pure
    function of a small domain (incomes repeat, months are few), worked out once."""
    table = schedule.in_force(month)
    return table.version, tuple((p, table.amount(p, income)) for p in Programme if p in chosen)
