"""The NIK (Nomor Induk Kependudukan), the participant's identity: parse, validate, compare.

Sixteen digits: province (2), regency (2), district (2) where the NIK was first issued,
birth date DDMMYY with 40 added to the day for women, then a serial 0001-9999. The prefix
is where the NIK was issued, not where the person lives now, so it is never checked against
the address.

The NIK holds only two digits of the birth year. `parse_nik` picks the century that makes
the birth date the most recent one not after `today`; `check_identity` compares the
declared birth date by DDMMYY, so a person born in 1925 whose NIK reads as 2025 still
matches.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

import msgspec

from services.domain.errors import FieldError, ValidationFailed

Sex = Literal["L", "P"]
"""L: laki-laki (male), P: perempuan (female), as on the KTP and in the spreadsheets."""

FEMALE_DAY_OFFSET = 40
NIK_LENGTH = 16

_SEPARATORS = re.compile(r"[\s.\-]+")
_DIGITS = re.compile(r"[0-9]+")
_TWO_DIGITS = re.compile(r"[0-9]{2}")
_SERIAL = re.compile(r"[0-9]{4}")


class Nik(msgspec.Struct, frozen=True):
    """A valid NIK, split into its parts. `str(nik)` gives back the 16 digits."""

    province: str
    regency: str
    district: str
    birth_date: date
    sex: Sex
    serial: str

    def __post_init__(self) -> None:
        for name in ("province", "regency", "district"):
            if not _TWO_DIGITS.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} must be 2 digits, got {getattr(self, name)!r}")
        if not _SERIAL.fullmatch(self.serial) or self.serial == "0000":
            raise ValueError(f"serial must be 4 digits from 0001, got {self.serial!r}")
        if self.sex not in ("L", "P"):
            raise ValueError(f"sex must be 'L' or 'P', got {self.sex!r}")

    @property
    def ddmmyy(self) -> str:
        """The birth-date digits as written in the NIK (day + 40 for women)."""
        return _ddmmyy(self.birth_date, self.sex)

    @property
    def district_code(self) -> str:
        """Where the NIK was issued, as an official region code, e.g. "17.08.01"."""
        return f"{self.province}.{self.regency}.{self.district}"

    def __str__(self) -> str:
        return f"{self.province}{self.regency}{self.district}{self.ddmmyy}{self.serial}"


def _ddmmyy(birth_date: date, sex: Sex) -> str:
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex == "P" else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def _plain_ddmmyy(day: date) -> str:
    return f"{day.day:02d}{day.month:02d}{day.year % 100:02d}"


def normalise_nik(text: str) -> str:
    """Drop the spaces, dots and dashes people type or spreadsheets add ("1708 0141.1090-0001")."""
    return _SEPARATORS.sub("", text)


def parse_nik(text: str, today: date, field: str = "nik") -> Nik:
    """Parse and validate a NIK (after `normalise_nik`); raise `ValidationFailed` on `field`
    with the first rule it breaks. The century of the birth year is the one that makes the
    birth date the most recent date not after `today`."""
    digits = normalise_nik(text)
    if not digits:
        raise ValidationFailed.one(field, "NIK is empty")
    if not _DIGITS.fullmatch(digits):
        position, char = next((i, c) for i, c in enumerate(digits, 1) if c not in "0123456789")
        raise ValidationFailed.one(
            field, f"NIK must contain only digits, found {char!r} at position {position}"
        )
    if len(digits) != NIK_LENGTH:
        raise ValidationFailed.one(field, f"NIK must be {NIK_LENGTH} digits, got {len(digits)}")

    raw_day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    serial = digits[12:16]
    if 1 <= raw_day <= 31:
        sex: Sex = "L"
        day = raw_day
    elif FEMALE_DAY_OFFSET + 1 <= raw_day <= FEMALE_DAY_OFFSET + 31:
        sex = "P"
        day = raw_day - FEMALE_DAY_OFFSET
    else:
        raise ValidationFailed.one(
            field, f"NIK birth day must be 01-31 (men) or 41-71 (women), got {digits[6:8]}"
        )
    if not 1 <= month <= 12:
        raise ValidationFailed.one(field, f"NIK birth month must be 01-12, got {digits[8:10]}")
    if serial == "0000":
        raise ValidationFailed.one(field, "NIK serial must be 0001-9999, got 0000")

    year = _most_recent_year(yy, month, day, today)
    try:
        birth_date = date(year, month, day)
    except ValueError:
        raise ValidationFailed.one(
            field,
            f"NIK birth date {digits[6:12]} is not a real date ({day:02d}-{month:02d}-{year})",
        ) from None
    return Nik(digits[0:2], digits[2:4], digits[4:6], birth_date, sex, serial)


def _most_recent_year(yy: int, month: int, day: int, today: date) -> int:
    """The year ending in `yy` whose (month, day) is the latest not after `today`."""
    year = today.year - today.year % 100 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return year


def check_identity(nik: Nik, birth_date: date, sex: Sex) -> None:
    """Refuse a declared birth date or sex that disagrees with the NIK; reports both fields
    when both disagree. Birth dates are compared as DDMMYY, since the NIK has no century."""
    errors: list[FieldError] = []
    if sex != nik.sex:
        reason = f"declared sex {sex!r} disagrees with the NIK, which says {nik.sex!r}"
        errors.append(FieldError("sex", reason))
    declared = _plain_ddmmyy(birth_date)
    in_nik = _plain_ddmmyy(nik.birth_date)
    if declared != in_nik:
        errors.append(
            FieldError(
                "birth_date",
                f"declared birth date {birth_date.isoformat()} (DDMMYY {declared}) disagrees "
                f"with the NIK, which says DDMMYY {in_nik}",
            )
        )
    if errors:
        raise ValidationFailed(errors)
