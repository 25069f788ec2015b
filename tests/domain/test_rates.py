"""Contribution amounts from the rate table in force, in integer rupiah."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain.calendar import Month
from services.domain.errors import NotFound, ValidationFailed
from services.domain.money import percent_of
from services.domain.rates import (
    DEFAULT_SCHEDULE,
    MIN_DECLARED_INCOME,
    PP44_2015_PP82_2019,
    ContributionDue,
    Programme,
    RateSchedule,
    contribution_due,
)

OCT_2025 = Month(2025, 10)
JKK_JKM = (Programme.JKK, Programme.JKM)


def test_kepahiang_worked_example() -> None:
    # Given the minimum income and JKK + JKM, October 2025
    due = contribution_due(MIN_DECLARED_INCOME, JKK_JKM, OCT_2025, DEFAULT_SCHEDULE)
    # Then Rp10,000 + Rp6,800 = Rp16,800 from PP 44/2015 as amended by PP 82/2019
    assert due.amounts == {Programme.JKK: 10_000, Programme.JKM: 6_800}
    assert due.total == 16_800
    assert due.rate_version == "PP44/2015+PP82/2019"
    # And 1,984 workers for three months cost Rp99,993,600 (under the Rp100 juta paid)
    assert 1_984 * due.total * 3 == 99_993_600


def test_with_jht_the_minimum_is_36_800() -> None:
    due = contribution_due(1_000_000, ["JKK", "JKM", "JHT"], OCT_2025)
    assert due.amounts[Programme.JHT] == 20_000
    assert due.total == 36_800


@pytest.mark.parametrize(
    ("income", "jkk"),
    [
        (0, 10_000),  # the minimum applies below Rp1,000,000
        (1_000_000, 10_000),
        (1_500_000, 15_000),
        (20_700_000, 207_000),
        (50_000_000, 207_000),  # the maximum
        (1_234_549, 12_345),  # 12,345.49 rounds down
        (1_234_550, 12_346),  # 12,345.50 rounds half up
    ],
)
def test_jkk_is_one_percent_clamped_and_rounded_half_up(income: int, jkk: int) -> None:
    assert contribution_due(income, [Programme.JKK], OCT_2025).amounts == {Programme.JKK: jkk}


def test_jht_rounds_half_up_too() -> None:
    # 2% of 1,234,525 = 24,690.50
    assert contribution_due(1_234_525, ["JHT"], OCT_2025).amounts[Programme.JHT] == 24_691
    assert contribution_due(1_234_524, ["JHT"], OCT_2025).amounts[Programme.JHT] == 24_690


@given(st.integers(0, 10**12), st.integers(0, 10_000))
def test_percent_of_is_round_half_up(amount: int, basis_points: int) -> None:
    exact = Fraction(amount * basis_points, 10_000)
    result = percent_of(amount, basis_points)
    # The nearest rupiah; an exact half goes up.
    assert -Fraction(1, 2) < result - exact <= Fraction(1, 2)


@given(st.integers(0, 10**10))
def test_jkk_always_between_min_and_max(income: int) -> None:
    jkk = contribution_due(income, ["JKK"], OCT_2025).amounts[Programme.JKK]
    assert 10_000 <= jkk <= 207_000


def test_amounts_keep_programme_order_whatever_the_input_order() -> None:
    due = contribution_due(1_000_000, ["JHT", "JKM", "JKK", "JKM"], OCT_2025)
    assert list(due.amounts) == [Programme.JKK, Programme.JKM, Programme.JHT]


def test_bad_inputs_are_refused_all_at_once() -> None:
    with pytest.raises(ValidationFailed) as error:
        contribution_due(-1, ["JKK", "JKN"], OCT_2025)
    assert [e.field for e in error.value.errors] == ["income", "programmes"]
    assert "unknown programme 'JKN'" in error.value.detail


@pytest.mark.parametrize("income", [1.5, True, "1000000"])
def test_income_must_be_whole_rupiah(income: object) -> None:
    with pytest.raises(ValidationFailed, match="income"):
        contribution_due(income, ["JKK"], OCT_2025)  # type: ignore[arg-type]


def test_no_programme_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="at least one programme"):
        contribution_due(1_000_000, [], OCT_2025)


# --- schedule -----------------------------------------------------------------------------

RAISE_2027 = msgspec.structs.replace(
    PP44_2015_PP82_2019,
    version="hypothetical-2027",
    effective_from=date(2027, 3, 10),
    jkm_fixed=8_000,
)
SCHEDULE = RateSchedule.of([RAISE_2027, PP44_2015_PP82_2019])


def test_the_table_in_force_is_the_latest_effective_by_the_first_of_the_month() -> None:
    # Given a new table effective 10 March 2027
    # Then March 2027 still uses the old one (in force on 1 March), April the new one
    assert SCHEDULE.in_force(Month(2027, 2)).version == "PP44/2015+PP82/2019"
    assert SCHEDULE.in_force(Month(2027, 3)).version == "PP44/2015+PP82/2019"
    assert SCHEDULE.in_force(Month(2027, 4)).version == "hypothetical-2027"
    due = contribution_due(1_000_000, JKK_JKM, Month(2027, 4), SCHEDULE)
    assert (due.total, due.rate_version) == (18_000, "hypothetical-2027")


def test_a_table_effective_on_the_first_applies_that_month() -> None:
    first = msgspec.structs.replace(RAISE_2027, effective_from=date(2027, 3, 1))
    schedule = RateSchedule.of([PP44_2015_PP82_2019, first])
    assert schedule.in_force(Month(2027, 3)) is first


def test_a_month_before_any_table_is_not_found() -> None:
    with pytest.raises(NotFound, match="rate table in force for month '2019-12'"):
        DEFAULT_SCHEDULE.in_force(Month(2019, 12))
    assert DEFAULT_SCHEDULE.in_force(Month(2020, 1)) is PP44_2015_PP82_2019


def test_a_schedule_refuses_unordered_or_repeated_tables() -> None:
    with pytest.raises(ValueError, match="increasing"):
        RateSchedule((RAISE_2027, PP44_2015_PP82_2019))
    with pytest.raises(ValueError, match="increasing"):
        RateSchedule((PP44_2015_PP82_2019, PP44_2015_PP82_2019))
    with pytest.raises(ValueError, match="at least one"):
        RateSchedule(())
    with pytest.raises(ValueError, match="unique"):
        RateSchedule.of(
            [
                PP44_2015_PP82_2019,
                msgspec.structs.replace(RAISE_2027, version="PP44/2015+PP82/2019"),
            ]
        )


def test_a_table_refuses_negative_rates_and_min_above_max() -> None:
    with pytest.raises(ValueError, match="jkm_fixed"):
        msgspec.structs.replace(PP44_2015_PP82_2019, jkm_fixed=-1)
    with pytest.raises(ValueError, match="jkk_min above jkk_max"):
        msgspec.structs.replace(PP44_2015_PP82_2019, jkk_min=300_000)


def test_contribution_due_round_trips_through_json() -> None:
    due = contribution_due(1_000_000, JKK_JKM, OCT_2025)
    data = msgspec.json.encode(due)
    assert msgspec.json.decode(data, type=ContributionDue) == due
    assert b'"amounts":{"JKK":10000,"JKM":6800}' in data
