"""Benefit lines for JKK and JKM claims (domain.md "Benefits"), each with its formula.

Pure and I/O-free. "Wage" is the participant's declared monthly income. Amounts are integer
rupiah; anything fractional is computed exactly and rounded once, half away from zero. Every
line is a frozen `BenefitLine` carrying its kind, its amount, a human-readable formula with the
numbers (e.g. "48 x Rp1.000.000 = Rp48.000.000", written with the multiplication sign), and the
version of the `BenefitRules` it was computed under.

The amounts are those of PP 44/2015 as amended by PP 82/2019, gathered in `BenefitRules` so that a
change of regulation or policy is a new rules version, not an edit of the code. Two settings are
policy readings: JKM with under 3 months of membership pays only the funeral benefit, and STMB
per day is the monthly wage / 30.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

import msgspec

from services.domain.calendar import add_months
from services.domain.money import JUTA, TIMES, percent, round_rupiah, rupiah


class BenefitKind(StrEnum):
    MEDICAL = "medical"
    TRANSPORT = "transport"
    STMB = "stmb"
    """Sementara tidak mampu bekerja: temporary incapacity to work."""
    DISABILITY = "disability"
    DEATH = "death"
    FUNERAL = "funeral"
    PERIODIC = "periodic"
    SCHOLARSHIP = "scholarship"
    LATE_PENALTY = "late_penalty"
    """1% of the benefit per working day paid after the SLA deadline (services/domain/sla.py)."""


class BenefitLine(msgspec.Struct, frozen=True, kw_only=True):
    kind: BenefitKind
    amount: int
    formula: str
    description: str = ""
    rules_version: str = ""


class TransportMode(StrEnum):
    LAND = "land"
    SEA = "sea"
    AIR = "air"


class EducationLevel(StrEnum):
    TK = "tk"
    SD = "sd"
    SMP = "smp"
    SMA = "sma"
    UNIVERSITY = "university"


class BenefitRules(msgspec.Struct, frozen=True, kw_only=True):
    """Benefit amounts and multipliers of one regulation (and policy) version."""

    version: str = "benefits/PP82-2019"

    transport_cap_land: int = 5 * JUTA
    transport_cap_sea: int = 2 * JUTA
    transport_cap_air: int = 10 * JUTA

    stmb_full_months: int = 12
    stmb_full_percent: int = 100
    stmb_reduced_percent: int = 50
    stmb_days_per_month: int = 30
    """(policy) STMB is paid by days: a day is the monthly wage / 30."""

    disability_wage_multiple: int = 80
    total_disability_percent: int = 70

    jkk_death_wage_multiple: int = 48
    jkk_funeral: int = 10 * JUTA
    jkk_periodic: int = 12 * JUTA

    jkm_death: int = 20 * JUTA
    jkm_periodic: int = 12 * JUTA
    jkm_funeral: int = 10 * JUTA
    jkm_full_benefit_min_membership_months: int = 3
    jkm_funeral_only_below_min_membership: bool = True
    """(policy) With fewer months of membership than the minimum, JKM pays the funeral only."""

    scholarship_tk: int = 1_500_000
    scholarship_sd: int = 1_500_000
    scholarship_smp: int = 2 * JUTA
    scholarship_sma: int = 3 * JUTA
    scholarship_university: int = 12 * JUTA
    scholarship_years_tk: int = 2
    scholarship_years_sd: int = 6
    scholarship_years_smp: int = 3
    scholarship_years_sma: int = 3
    scholarship_years_university: int = 5
    scholarship_max_children: int = 2
    scholarship_min_contribution_months: int = 36
    scholarship_age_limit: int = 23

    def transport_cap(self, mode: TransportMode) -> int:
        return getattr(self, f"transport_cap_{TransportMode(mode).value}")

    def scholarship(self, level: EducationLevel) -> tuple[int, int]:
        """(amount per year, maximum years) for an education level."""
        level = EducationLevel(level)
        return getattr(self, f"scholarship_{level}"), getattr(self, f"scholarship_years_{level}")

    @property
    def jkm_total(self) -> int:
        """The whole JKM death benefit: death + periodic + funeral (Rp42 juta)."""
        return self.jkm_death + self.jkm_periodic + self.jkm_funeral


DEFAULT_BENEFIT_RULES = BenefitRules()


class NotEligible(ValueError):
    """A benefit the rules do not grant; `reasons` names every rule that refuses it."""

    def __init__(self, benefit: str, reasons: Sequence[str]) -> None:
        self.benefit = benefit
        self.reasons = tuple(reasons)
        super().__init__(f"{benefit} not granted: " + "; ".join(self.reasons))


def _amount(value: int, what: str, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int rupiah amount, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{what} must be {'positive' if positive else '>= 0'}, got {value}")
    return value


def _line(kind: BenefitKind, amount: int, formula: str, description: str, rules: BenefitRules):
    return BenefitLine(
        kind=kind,
        amount=amount,
        formula=formula,
        description=description,
        rules_version=rules.version,
    )


def total(lines: Iterable[BenefitLine]) -> int:
    return sum(line.amount for line in lines)


# --- JKK -----------------------------------------------------------------------------------------


def medical(billed: int, *, rules: BenefitRules = DEFAULT_BENEFIT_RULES) -> BenefitLine:
    """Medical care as billed: JKK has no ceiling."""
    _amount(billed, "billed medical care")
    return _line(
        BenefitKind.MEDICAL,
        billed,
        f"{rupiah(billed)} as billed (no ceiling)",
        "medical care",
        rules,
    )


class Trip(msgspec.Struct, frozen=True):
    mode: TransportMode
    cost: int


def transport(
    trips: Iterable[Trip], *, rules: BenefitRules = DEFAULT_BENEFIT_RULES
) -> tuple[BenefitLine, ...]:
    """One line per mode of transport: its costs summed, up to that mode's own cap."""
    costs: dict[TransportMode, list[int]] = {}
    for trip in trips:
        costs.setdefault(TransportMode(trip.mode), []).append(_amount(trip.cost, "trip cost"))
    lines = []
    for mode in TransportMode:  # land, sea, air: a stable order
        if mode not in costs:
            continue
        spent, cap = sum(costs[mode]), rules.transport_cap(mode)
        claimed = " + ".join(rupiah(c) for c in costs[mode])
        if len(costs[mode]) > 1:
            claimed = f"{claimed} = {rupiah(spent)}"
        paid = min(spent, cap)
        formula = (
            f"{claimed}, within the {mode} cap {rupiah(cap)}"
            if spent <= cap
            else f"{claimed}, capped at {rupiah(cap)} ({mode})"
        )
        lines.append(_line(BenefitKind.TRANSPORT, paid, formula, f"transport by {mode}", rules))
    return tuple(lines)


def stmb(
    wage: int,
    *,
    incapacity_from: date,
    period_from: date,
    period_to: date,
    rules: BenefitRules = DEFAULT_BENEFIT_RULES,
) -> tuple[BenefitLine, ...]:
    """Temporary incapacity for one period (both days included), paid by days.

    100% of the wage for the first 12 months of incapacity, 50% after; a period across that
    boundary gives one line for each rate.
    """
    _amount(wage, "wage", positive=True)
    if period_from < incapacity_from:
        raise ValueError(
            f"STMB period from {period_from} starts before the incapacity ({incapacity_from})"
        )
    if period_to < period_from:
        raise ValueError(f"STMB period ends ({period_to}) before it starts ({period_from})")
    boundary = add_months(incapacity_from, rules.stmb_full_months)
    spans = [
        (period_from, min(period_to, boundary - timedelta(days=1)), rules.stmb_full_percent),
        (max(period_from, boundary), period_to, rules.stmb_reduced_percent),
    ]
    lines = []
    for start, end, rate in spans:
        if end < start:
            continue
        days = (end - start).days + 1
        per_days = rules.stmb_days_per_month
        amount = round_rupiah(Fraction(wage * rate * days, 100 * per_days))
        which = (
            f"first {rules.stmb_full_months} months"
            if rate == rules.stmb_full_percent
            else f"after {rules.stmb_full_months} months"
        )
        lines.append(
            _line(
                BenefitKind.STMB,
                amount,
                f"{days} days {TIMES} {percent(rate)} {TIMES} {rupiah(wage)} / {per_days} "
                f"= {rupiah(amount)}",
                f"temporary incapacity {start} to {end} ({which} of incapacity from "
                f"{incapacity_from})",
                rules,
            )
        )
    return tuple(lines)


def partial_disability(
    wage: int,
    table_percent: int | Decimal,
    *,
    impairment: str = "",
    rules: BenefitRules = DEFAULT_BENEFIT_RULES,
) -> BenefitLine:
    """Partial permanent disability: table % x 80 x wage."""
    _amount(wage, "wage", positive=True)
    if isinstance(table_percent, bool) or not isinstance(table_percent, int | Decimal):
        raise TypeError(f"table percent must be an int or a Decimal, got {table_percent!r}")
    if not 0 < table_percent <= 100:
        raise ValueError(f"table percent must be in (0, 100], got {table_percent}")
    multiple = rules.disability_wage_multiple
    amount = round_rupiah(Fraction(table_percent) / 100 * multiple * wage)
    return _line(
        BenefitKind.DISABILITY,
        amount,
        f"{percent(table_percent)} {TIMES} {multiple} {TIMES} {rupiah(wage)} = {rupiah(amount)}",
        f"partial disability{': ' + impairment if impairment else ''}",
        rules,
    )


def total_disability(wage: int, *, rules: BenefitRules = DEFAULT_BENEFIT_RULES) -> BenefitLine:
    """Total permanent disability: 70% x 80 x wage."""
    _amount(wage, "wage", positive=True)
    pct, multiple = rules.total_disability_percent, rules.disability_wage_multiple
    amount = round_rupiah(Fraction(pct * multiple * wage, 100))
    return _line(
        BenefitKind.DISABILITY,
        amount,
        f"{percent(pct)} {TIMES} {multiple} {TIMES} {rupiah(wage)} = {rupiah(amount)}",
        "total permanent disability",
        rules,
    )


def jkk_death(
    wage: int, *, rules: BenefitRules = DEFAULT_BENEFIT_RULES
) -> tuple[BenefitLine, BenefitLine, BenefitLine]:
    """Death from a work accident: 48 x wage (never less than the whole JKM death benefit),
    plus the funeral benefit and the periodic benefit paid at once."""
    _amount(wage, "wage", positive=True)
    multiple, floor = rules.jkk_death_wage_multiple, rules.jkm_total
    base = multiple * wage
    formula = f"{multiple} {TIMES} {rupiah(wage)} = {rupiah(base)}"
    if base < floor:
        formula += f", less than the JKM death benefit {rupiah(floor)}: {rupiah(floor)} is paid"
    return (
        _line(BenefitKind.DEATH, max(base, floor), formula, "JKK death benefit", rules),
        _fixed(BenefitKind.FUNERAL, rules.jkk_funeral, "funeral benefit", rules),
        _fixed(BenefitKind.PERIODIC, rules.jkk_periodic, "periodic benefit, paid at once", rules),
    )


def _fixed(kind: BenefitKind, amount: int, description: str, rules: BenefitRules) -> BenefitLine:
    return _line(kind, amount, f"{rupiah(amount)} (fixed)", description, rules)


# --- JKM -----------------------------------------------------------------------------------------


def jkm_death(
    *, membership_months: int, rules: BenefitRules = DEFAULT_BENEFIT_RULES
) -> tuple[BenefitLine, ...]:
    """Death not from a work accident, while a member: Rp20 juta + Rp12 juta + Rp10 juta.

    With fewer whole months of membership than `jkm_full_benefit_min_membership_months` (3),
    and the policy flag `jkm_funeral_only_below_min_membership` set, only the funeral benefit.
    """
    if membership_months < 0:
        raise ValueError(f"membership months must be >= 0, got {membership_months}")
    minimum = rules.jkm_full_benefit_min_membership_months
    funeral = _fixed(BenefitKind.FUNERAL, rules.jkm_funeral, "JKM funeral benefit", rules)
    if rules.jkm_funeral_only_below_min_membership and membership_months < minimum:
        only = msgspec.structs.replace(
            funeral,
            formula=f"{rupiah(rules.jkm_funeral)} (fixed; {membership_months} months of "
            f"membership, under {minimum}: funeral benefit only)",
        )
        return (only,)
    return (
        _fixed(BenefitKind.DEATH, rules.jkm_death, "JKM death benefit", rules),
        _fixed(BenefitKind.PERIODIC, rules.jkm_periodic, "JKM periodic benefit", rules),
        funeral,
    )


# --- scholarships --------------------------------------------------------------------------------


class ScholarshipRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One child's scholarship for one school year, claimed yearly."""

    child: str
    """Who the child is (an id or a name): at most two different children get scholarships."""
    birth_date: date
    level: EducationLevel
    year_of_level: int
    """1 for the first year at this level, 2 for the second, ..."""
    married: bool = False
    working: bool = False


def age_on(birth_date: date, day: date) -> int:
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def scholarship_refusals(
    request: ScholarshipRequest,
    *,
    on: date,
    contribution_months: int,
    rules: BenefitRules = DEFAULT_BENEFIT_RULES,
) -> tuple[str, ...]:
    """Every rule that refuses this scholarship year (empty: granted)."""
    reasons = []
    needed = rules.scholarship_min_contribution_months
    if contribution_months < needed:
        reasons.append(f"{contribution_months} months of contributions, {needed} needed")
    age = age_on(request.birth_date, on)
    if age >= rules.scholarship_age_limit:
        reasons.append(
            f"{request.child} is {age} on {on}, the limit is under {rules.scholarship_age_limit}"
        )
    if request.married:
        reasons.append(f"{request.child} is married")
    if request.working:
        reasons.append(f"{request.child} works")
    _, max_years = rules.scholarship(request.level)
    if not 1 <= request.year_of_level <= max_years:
        reasons.append(
            f"year {request.year_of_level} of {request.level.upper()}: at most {max_years} years"
        )
    return tuple(reasons)


def scholarship_year(
    request: ScholarshipRequest,
    *,
    on: date,
    contribution_months: int,
    rules: BenefitRules = DEFAULT_BENEFIT_RULES,
) -> BenefitLine:
    """One child's scholarship for one year; raises `NotEligible` naming every refusal.

    `contribution_months`: months of contributions in the current membership (re-joining
    starts from zero), e.g. `coverage.paid_months(history, day)`.
    """
    reasons = scholarship_refusals(
        request, on=on, contribution_months=contribution_months, rules=rules
    )
    what = f"scholarship for {request.child}"
    if reasons:
        raise NotEligible(what, reasons)
    amount, max_years = rules.scholarship(request.level)
    level = (
        request.level.upper() if request.level is not EducationLevel.UNIVERSITY else "university"
    )
    return _line(
        BenefitKind.SCHOLARSHIP,
        amount,
        f"{rupiah(amount)} a year for {level} (year {request.year_of_level} of at most "
        f"{max_years})",
        f"{what}, {level} year {request.year_of_level}",
        rules,
    )


def scholarships(
    requests: Sequence[ScholarshipRequest],
    *,
    on: date,
    contribution_months: int,
    rules: BenefitRules = DEFAULT_BENEFIT_RULES,
) -> tuple[BenefitLine, ...]:
    """The scholarship lines of one yearly claim: at most two children."""
    children = list(dict.fromkeys(request.child for request in requests))
    if len(children) > rules.scholarship_max_children:
        raise NotEligible(
            "scholarships",
            [
                f"{len(children)} children ({', '.join(children)}); at most "
                f"{rules.scholarship_max_children}"
            ],
        )
    if len(children) < len(requests):
        raise ValueError(
            f"one scholarship year per child and claim, got {len(requests)} "
            f"requests for {len(children)} children"
        )
    return tuple(
        scholarship_year(r, on=on, contribution_months=contribution_months, rules=rules)
        for r in requests
    )
