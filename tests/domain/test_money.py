"""Rupiah formatting and rounding (services/domain/money.py)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain.money import JUTA, TIMES, number, percent, round_rupiah, rupiah


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "Rp0"),
        (100, "Rp100"),
        (6_800, "Rp6.800"),
        (16_800, "Rp16.800"),
        (42 * JUTA, "Rp42.000.000"),
        (99_993_600, "Rp99.993.600"),
        (1_000_000_000_000, "Rp1.000.000.000.000"),
        (-5_000, "-Rp5.000"),
    ],
)
def test_rupiah_uses_the_indonesian_thousands_separator(amount: int, text: str) -> None:
    assert rupiah(amount) == text


def test_the_kepahiang_first_three_months_worked_example() -> None:
    # Given 1,984 workers at Rp16,800 a month (JKK + JKM), when three months are paid,
    workers, monthly, months = 1_984, 16_800, 3
    total = workers * monthly * months
    # then the sponsor owes Rp99,993,600, inside the Rp100 juta allocation.
    assert total == 99_993_600 < 100 * JUTA
    formula = f"{number(workers)} {TIMES} {rupiah(monthly)} {TIMES} {months} = {rupiah(total)}"
    assert formula == "1.984 \u00d7 Rp16.800 \u00d7 3 = Rp99.993.600"


@pytest.mark.parametrize("bad", [1.5, "16800", True, None, Decimal("16800")])
def test_rupiah_refuses_anything_but_an_int(bad: object) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        rupiah(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 3),
        (Fraction(-1, 2), -1),
        (Fraction(20_666_662, 10), 2_066_666),
        (Fraction(6_200_000, 3), 2_066_667),
        (Fraction(4, 10), 0),
        (7, 7),
    ],
)
def test_round_rupiah_rounds_half_away_from_zero(value: Fraction | int, rounded: int) -> None:
    assert round_rupiah(value) == rounded


def test_round_rupiah_refuses_floats() -> None:
    with pytest.raises(TypeError):
        round_rupiah(0.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (35, "35%"),
        (100, "100%"),
        (Decimal("2.5"), "2,5%"),
        (Decimal("12.50"), "12,5%"),
        (Decimal("70"), "70%"),
        (Decimal("1E+1"), "10%"),
        (Decimal("0.25"), "0,25%"),
    ],
)
def test_percent_uses_a_decimal_comma(value: int | Decimal, text: str) -> None:
    assert percent(value) == text


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_rupiah_round_trips_through_its_digits(amount: int) -> None:
    text = rupiah(amount)
    digits = text.removeprefix("-").removeprefix("Rp")
    assert int(digits.replace(".", "")) * (-1 if amount < 0 else 1) == amount
    groups = digits.split(".")
    assert 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])


@given(st.integers(min_value=-(10**9), max_value=10**9), st.integers(1, 1000))
def test_round_rupiah_is_within_half_a_rupiah(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator, denominator)
    assert abs(round_rupiah(exact) - exact) <= Fraction(1, 2)
