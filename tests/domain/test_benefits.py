"""Benefit lines with their formulas (services/domain/benefits.py), from domain.md "Benefits"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain.benefits import (
    DEFAULT_BENEFIT_RULES,
    BenefitKind,
    BenefitRules,
    EducationLevel,
    NotEligible,
    ScholarshipRequest,
    TransportMode,
    Trip,
    jkk_death,
    jkm_death,
    medical,
    partial_disability,
    scholarship_refusals,
    scholarship_year,
    scholarships,
    stmb,
    total,
    total_disability,
    transport,
)
from services.domain.money import JUTA, rupiah

X = "\u00d7"  # the multiplication sign of the formulas
MIN_WAGE = 1 * JUTA  # the minimum declared income
wages = st.integers(min_value=MIN_WAGE, max_value=100 * JUTA)


def kinds_amounts(lines: tuple) -> list[tuple[BenefitKind, int]]:
    return [(line.kind, line.amount) for line in lines]


# --- JKM --------------------------------------------------------------------------------------


def test_jkm_death_is_rp42_juta() -> None:
    # Given a member of 3 months or more dies not from a work accident,
    lines = jkm_death(membership_months=3)
    # then the heirs get Rp20 juta + Rp12 juta periodic + Rp10 juta funeral = Rp42 juta.
    assert kinds_amounts(lines) == [
        (BenefitKind.DEATH, 20 * JUTA),
        (BenefitKind.PERIODIC, 12 * JUTA),
        (BenefitKind.FUNERAL, 10 * JUTA),
    ]
    assert total(lines) == 42 * JUTA == DEFAULT_BENEFIT_RULES.jkm_total
    assert [line.formula for line in lines] == [
        "Rp20.000.000 (fixed)",
        "Rp12.000.000 (fixed)",
        "Rp10.000.000 (fixed)",
    ]
    assert {line.rules_version for line in lines} == {DEFAULT_BENEFIT_RULES.version}


@pytest.mark.parametrize(
    ("months", "funeral_only_policy", "expected_total"),
    [
        (0, True, 10 * JUTA),
        (2, True, 10 * JUTA),  # under 3 months: the funeral benefit only (policy)
        (3, True, 42 * JUTA),
        (2, False, 42 * JUTA),  # the policy switched off
    ],
)
def test_jkm_death_under_three_months_of_membership_pays_only_the_funeral(
    months: int, funeral_only_policy: bool, expected_total: int
) -> None:
    rules = BenefitRules(version="test", jkm_funeral_only_below_min_membership=funeral_only_policy)
    lines = jkm_death(membership_months=months, rules=rules)
    assert total(lines) == expected_total
    if expected_total == 10 * JUTA:
        (funeral,) = lines
        assert funeral.kind is BenefitKind.FUNERAL
        assert funeral.formula == (
            f"Rp10.000.000 (fixed; {months} months of membership, under 3: funeral benefit only)"
        )


# --- JKK death and disability -----------------------------------------------------------------


def test_jkk_death_is_48_times_the_wage_plus_funeral_and_periodic() -> None:
    death, funeral, periodic = jkk_death(MIN_WAGE)
    assert (death.kind, death.amount) == (BenefitKind.DEATH, 48 * JUTA)
    assert death.formula == f"48 {X} Rp1.000.000 = Rp48.000.000"
    assert (funeral.kind, funeral.amount) == (BenefitKind.FUNERAL, 10 * JUTA)
    assert (periodic.kind, periodic.amount) == (BenefitKind.PERIODIC, 12 * JUTA)
    assert total((death, funeral, periodic)) == 70 * JUTA


def test_jkk_death_is_never_less_than_the_jkm_death_benefit() -> None:
    # Given a wage below the minimum income (48 x Rp800,000 = Rp38.4 juta < Rp42 juta),
    death, _, _ = jkk_death(800_000)
    # then the JKM death benefit is paid instead, and the formula says so.
    assert death.amount == 42 * JUTA
    assert death.formula == (
        f"48 {X} Rp800.000 = Rp38.400.000, less than the JKM death benefit Rp42.000.000: "
        "Rp42.000.000 is paid"
    )


@given(wages | st.integers(1, MIN_WAGE))
def test_jkk_death_floor_holds_for_every_wage(wage: int) -> None:
    death, _, _ = jkk_death(wage)
    assert death.amount == max(48 * wage, 42 * JUTA)


@pytest.mark.parametrize(
    ("wage", "table_percent", "amount", "formula"),
    [
        (MIN_WAGE, 35, 28 * JUTA, f"35% {X} 80 {X} Rp1.000.000 = Rp28.000.000"),
        (1_500_000, Decimal("2.5"), 3 * JUTA, f"2,5% {X} 80 {X} Rp1.500.000 = Rp3.000.000"),
        (1_234_567, 10, 9_876_536, f"10% {X} 80 {X} Rp1.234.567 = Rp9.876.536"),
    ],
)
def test_partial_disability_is_table_percent_times_80_times_wage(
    wage: int, table_percent: int | Decimal, amount: int, formula: str
) -> None:
    line = partial_disability(wage, table_percent, impairment="right thumb")
    assert (line.kind, line.amount, line.formula) == (BenefitKind.DISABILITY, amount, formula)
    assert line.description == "partial disability: right thumb"


@pytest.mark.parametrize("bad", [0, -5, 101, Decimal("0")])
def test_partial_disability_refuses_a_percent_outside_the_table(bad: int | Decimal) -> None:
    with pytest.raises(ValueError, match="table percent must be in"):
        partial_disability(MIN_WAGE, bad)


def test_total_permanent_disability_is_70_percent_times_80_times_wage() -> None:
    line = total_disability(2 * JUTA)
    assert line.amount == 112 * JUTA
    assert line.formula == f"70% {X} 80 {X} Rp2.000.000 = Rp112.000.000"


@given(wages, st.integers(1, 69))
def test_partial_disability_is_less_than_total_disability(wage: int, table_percent: int) -> None:
    assert partial_disability(wage, table_percent).amount < total_disability(wage).amount


# --- medical, transport ----------------------------------------------------------------------


def test_medical_care_is_paid_as_billed_without_ceiling() -> None:
    line = medical(350 * JUTA)
    assert (line.kind, line.amount) == (BenefitKind.MEDICAL, 350 * JUTA)
    assert line.formula == "Rp350.000.000 as billed (no ceiling)"


@pytest.mark.parametrize(
    ("trips", "expected"),
    [
        ([Trip(TransportMode.LAND, 750_000)], [750_000]),
        ([Trip(TransportMode.LAND, 6 * JUTA)], [5 * JUTA]),
        ([Trip(TransportMode.SEA, 3 * JUTA)], [2 * JUTA]),
        ([Trip(TransportMode.AIR, 12 * JUTA)], [10 * JUTA]),
        # each mode its own cap: land and sea both capped, in land-sea-air order
        (
            [Trip(TransportMode.SEA, 2_500_000), Trip(TransportMode.LAND, 5_500_000)],
            [5 * JUTA, 2 * JUTA],
        ),
        # two land trips share the land cap
        ([Trip(TransportMode.LAND, 3 * JUTA), Trip(TransportMode.LAND, 2_500_000)], [5 * JUTA]),
    ],
)
def test_transport_is_capped_per_mode(trips: list[Trip], expected: list[int]) -> None:
    lines = transport(trips)
    assert [line.amount for line in lines] == expected
    assert {line.kind for line in lines} == {BenefitKind.TRANSPORT}


def test_transport_formulas_show_the_costs_and_the_cap() -> None:
    land, air = transport(
        [
            Trip(TransportMode.LAND, 3 * JUTA),
            Trip(TransportMode.AIR, 4 * JUTA),
            Trip(TransportMode.LAND, 2_500_000),
        ]
    )
    assert land.formula == "Rp3.000.000 + Rp2.500.000 = Rp5.500.000, capped at Rp5.000.000 (land)"
    assert air.formula == "Rp4.000.000, within the air cap Rp10.000.000"
    assert air.description == "transport by air"


# --- STMB ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # 30 days in the first 12 months: a full month's wage
        ((date(2025, 4, 1), date(2025, 4, 30)), [(30, 100, 2 * JUTA)]),
        # 31 days: 31 x 100% x Rp2,000,000 / 30 = Rp2,066,666.67 -> Rp2,066,667
        ((date(2025, 3, 10), date(2025, 4, 9)), [(31, 100, 2_066_667)]),
        # across the 12-month boundary (10 Mar 2026): 9 days at 100%, 22 days at 50%
        ((date(2026, 3, 1), date(2026, 3, 31)), [(9, 100, 600_000), (22, 50, 733_333)]),
        # after 12 months: 50%
        ((date(2026, 4, 1), date(2026, 4, 30)), [(30, 50, 1 * JUTA)]),
    ],
)
def test_stmb_is_100_percent_for_12_months_then_50_percent_by_days(
    period: tuple[date, date], expected: list[tuple[int, int, int]]
) -> None:
    lines = stmb(
        2 * JUTA, incapacity_from=date(2025, 3, 10), period_from=period[0], period_to=period[1]
    )
    assert [line.amount for line in lines] == [amount for _, _, amount in expected]
    for line, (days, rate, amount) in zip(lines, expected, strict=True):
        assert line.kind is BenefitKind.STMB
        assert line.formula == f"{days} days {X} {rate}% {X} Rp2.000.000 / 30 = {rupiah(amount)}"


def test_stmb_boundary_from_the_31st_falls_on_the_last_day_of_a_shorter_month() -> None:
    # Incapacity from 31 Jan 2025: the first 12 months end on 30 Jan 2026 (31 Jan 2026 at 50%).
    first, after = stmb(
        MIN_WAGE,
        incapacity_from=date(2025, 1, 31),
        period_from=date(2026, 1, 30),
        period_to=date(2026, 1, 31),
    )
    assert "2026-01-30 to 2026-01-30" in first.description
    assert "2026-01-31 to 2026-01-31" in after.description


@pytest.mark.parametrize(
    ("period_from", "period_to", "match"),
    [
        (date(2025, 3, 1), date(2025, 3, 31), "starts before the incapacity"),
        (date(2025, 4, 2), date(2025, 4, 1), "ends"),
    ],
)
def test_stmb_refuses_impossible_periods(period_from: date, period_to: date, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stmb(
            MIN_WAGE,
            incapacity_from=date(2025, 3, 10),
            period_from=period_from,
            period_to=period_to,
        )


@given(
    wages,
    st.dates(date(2024, 1, 1), date(2026, 12, 31)),
    st.integers(0, 500),
    st.integers(0, 120),
)
def test_stmb_periods_add_up_whatever_the_split(
    wage: int, incapacity_from: date, offset: int, length: int
) -> None:
    start = incapacity_from + timedelta(days=offset)
    end = start + timedelta(days=length)
    lines = stmb(wage, incapacity_from=incapacity_from, period_from=start, period_to=end)
    days = sum(int(line.formula.split(" days")[0]) for line in lines)
    assert days == length + 1
    # never more than a full wage a day, never less than half of it (rounding aside)
    assert wage * days / 60 - len(lines) <= total(lines) <= wage * days / 30 + len(lines)


# --- scholarships ----------------------------------------------------------------------------

CLAIM_DAY = date(2026, 7, 13)


def child(**overrides: object) -> ScholarshipRequest:
    fields: dict = {
        "child": "Ani",
        "birth_date": date(2015, 5, 1),
        "level": EducationLevel.SD,
        "year_of_level": 1,
    }
    return ScholarshipRequest(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("level", "amount", "max_years"),
    [
        (EducationLevel.TK, 1_500_000, 2),
        (EducationLevel.SD, 1_500_000, 6),
        (EducationLevel.SMP, 2 * JUTA, 3),
        (EducationLevel.SMA, 3 * JUTA, 3),
        (EducationLevel.UNIVERSITY, 12 * JUTA, 5),
    ],
)
def test_scholarship_per_child_per_year_by_level(
    level: EducationLevel, amount: int, max_years: int
) -> None:
    last = scholarship_year(
        child(level=level, year_of_level=max_years), on=CLAIM_DAY, contribution_months=36
    )
    assert (last.kind, last.amount) == (BenefitKind.SCHOLARSHIP, amount)
    assert f"year {max_years} of at most {max_years}" in last.formula
    with pytest.raises(NotEligible, match=f"at most {max_years} years"):
        scholarship_year(
            child(level=level, year_of_level=max_years + 1), on=CLAIM_DAY, contribution_months=36
        )


@pytest.mark.parametrize(
    ("request_", "months", "refusal"),
    [
        (child(), 35, "35 months of contributions, 36 needed"),
        (child(birth_date=date(2003, 7, 13)), 36, "Ani is 23 on 2026-07-13, the limit is under 23"),
        (child(married=True), 36, "Ani is married"),
        (child(working=True), 36, "Ani works"),
    ],
)
def test_scholarship_refusals_name_the_rule(
    request_: ScholarshipRequest, months: int, refusal: str
) -> None:
    assert scholarship_refusals(request_, on=CLAIM_DAY, contribution_months=months) == (refusal,)
    with pytest.raises(NotEligible, match=refusal):
        scholarship_year(request_, on=CLAIM_DAY, contribution_months=months)


def test_a_child_of_22_still_gets_the_scholarship() -> None:
    line = scholarship_year(
        child(birth_date=date(2003, 7, 14), level=EducationLevel.UNIVERSITY, year_of_level=4),
        on=CLAIM_DAY,
        contribution_months=60,
    )
    assert line.amount == 12 * JUTA


def test_scholarships_for_at_most_two_children() -> None:
    two = [child(), child(child="Budi", level=EducationLevel.SMP)]
    assert [line.amount for line in scholarships(two, on=CLAIM_DAY, contribution_months=40)] == [
        1_500_000,
        2 * JUTA,
    ]
    three = [*two, child(child="Citra", level=EducationLevel.TK)]
    with pytest.raises(NotEligible, match=r"3 children \(Ani, Budi, Citra\); at most 2"):
        scholarships(three, on=CLAIM_DAY, contribution_months=40)
