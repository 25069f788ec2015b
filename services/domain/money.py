"""Rupiah amounts: Python ints (no decimals), written the Indonesian way ("Rp16.800").

Every computed amount is rounded once, at the end, half away from zero (`round_rupiah`), from an
exact `Fraction`; nothing goes through floats.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

JUTA = 1_000_000
"""One million rupiah ("Rp1 juta")."""

TIMES = "\u00d7"
"""The multiplication sign (U+00D7) used in benefit formulas."""

BASIS_POINTS = 10_000
"""Rates are held in basis points, so no float touches money: 10,000 = 100%, 100 = 1%."""


def _require_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {value!r} ({type(value).__name__})")
    return value


def number(value: int) -> str:
    """An integer with Indonesian thousands separators: 1984 -> "1.984"."""
    _require_int(value, "number")
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value):,}".replace(",", ".")


def rupiah(amount: int) -> str:
    """A rupiah amount: 16800 -> "Rp16.800", -5000 -> "-Rp5.000", 0 -> "Rp0"."""
    _require_int(amount, "a rupiah amount")
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{number(abs(amount))}"


def round_rupiah(value: Fraction | int) -> int:
    """Round an exact amount to whole rupiah, half away from zero (Rp0,5 -> Rp1)."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise TypeError(f"round_rupiah takes an int or a Fraction, got {value!r}")
    value = Fraction(value)
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def percent_of(amount: int, basis_points: int) -> int:
    """`amount` x `basis_points` / 10,000, rounded once by `round_rupiah` (half away from zero:
    for the amounts and rates >= 0 it is used with, an exact half goes up)."""
    return round_rupiah(Fraction(amount * basis_points, BASIS_POINTS))


def percent(value: int | Decimal) -> str:
    """A percentage with a decimal comma: 35 -> "35%", Decimal("2.5") -> "2,5%"."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"a percentage must be an int or a Decimal, got {value!r}")
    if isinstance(value, int):
        return f"{number(value)}%"
    if not value.is_finite():
        raise ValueError(f"a percentage must be finite, got {value}")
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    whole_part = number(int(whole)) if whole not in ("-0", "") else whole
    return f"{whole_part},{fraction}%" if fraction else f"{whole_part}%"
