"""NIK parsing and identity checks, with examples and properties."""

from __future__ import annotations

import pickle
from datetime import date

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain.errors import ValidationFailed
from services.domain.nik import Nik, Sex, check_identity, normalise_nik, parse_nik

TODAY = date(2026, 1, 15)


def reason(error: pytest.ExceptionInfo[ValidationFailed]) -> str:
    [only] = error.value.errors
    assert only.field == "nik"
    return only.reason


# --- examples ---------------------------------------------------------------------------


def test_a_mans_nik_is_split_into_its_parts() -> None:
    # Given a man born 14 January 1990, NIK issued in Bermani Ilir (17.08.01)
    nik = parse_nik("1708011401900001", TODAY)
    # Then
    assert nik == Nik("17", "08", "01", date(1990, 1, 14), "L", "0001")
    assert nik.district_code == "17.08.01"
    assert nik.ddmmyy == "140190"
    assert str(nik) == "1708011401900001"


def test_a_womans_day_has_40_added() -> None:
    nik = parse_nik("1708015401900002", TODAY)
    assert nik.sex == "P"
    assert nik.birth_date == date(1990, 1, 14)
    assert nik.ddmmyy == "540190"


def test_spaces_dots_and_dashes_are_ignored() -> None:
    assert normalise_nik(" 1708.01-1401 9000\u00a001 ") == "1708011401900001"
    assert str(parse_nik("17.08.01 140190-0001", TODAY)) == "1708011401900001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "NIK is empty"),
        (" - . ", "NIK is empty"),
        ("17080114019000A1", "only digits, found 'A' at position 15"),
        ("\uff11\uff1708011401900001", "only digits, found '\uff11' at position 1"),
        ("170801140190001", "must be 16 digits, got 15"),
        ("17080114019000011", "must be 16 digits, got 17"),
        ("1708010001900001", "birth day must be 01-31 (men) or 41-71 (women), got 00"),
        ("1708013201900001", "got 32"),
        ("1708014001900001", "got 40"),
        ("1708017201900001", "got 72"),
        ("1708011400900001", "birth month must be 01-12, got 00"),
        ("1708011413900001", "birth month must be 01-12, got 13"),
        ("1708011401900000", "serial must be 0001-9999, got 0000"),
        ("1708013102900001", "310290 is not a real date (31-02-1990)"),
        ("1708012902250001", "290225 is not a real date (29-02-2025)"),
        ("1708017102900001", "710290 is not a real date (31-02-1990)"),
    ],
)
def test_invalid_niks_are_refused_with_a_precise_reason(text: str, expected: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_nik(text, TODAY)
    assert expected in reason(error)


def test_the_reason_never_repeats_the_whole_nik() -> None:
    # NIKs are personal data; error details end up in logs.
    with pytest.raises(ValidationFailed) as error:
        parse_nik("170801140190001", TODAY)
    assert "170801140190001" not in error.value.detail


def test_the_field_name_can_be_chosen() -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_nik("123", TODAY, field="rows[3].nik")
    assert error.value.errors[0].field == "rows[3].nik"


def test_leap_day_in_a_leap_year_is_valid() -> None:
    assert parse_nik("1708012902000001", TODAY).birth_date == date(2000, 2, 29)
    assert parse_nik("1708016902240001", TODAY).birth_date == date(2024, 2, 29)


# --- century ------------------------------------------------------------------------------


def test_century_is_the_most_recent_date_not_in_the_future() -> None:
    # Given today is 15 January 2026
    # Then 140126 is today, 2026; 160126 is tomorrow, so 1926; 010425 is 2025
    assert parse_nik("1708011401260001", TODAY).birth_date == date(2026, 1, 14)
    assert parse_nik("1708011501260001", TODAY).birth_date == date(2026, 1, 15)
    assert parse_nik("1708011601260001", TODAY).birth_date == date(1926, 1, 16)
    assert parse_nik("1708010104250001", TODAY).birth_date == date(2025, 4, 1)
    assert parse_nik("1708010104270001", TODAY).birth_date == date(1927, 4, 1)


def test_century_depends_on_today() -> None:
    nik = "1708010101500001"
    assert parse_nik(nik, date(2026, 1, 1)).birth_date == date(1950, 1, 1)
    assert parse_nik(nik, date(2050, 1, 1)).birth_date == date(2050, 1, 1)


# --- identity ---------------------------------------------------------------------------


def test_declared_identity_that_matches_passes() -> None:
    nik = parse_nik("1708015401900002", TODAY)
    check_identity(nik, date(1990, 1, 14), "P")


def test_a_declared_century_the_nik_cannot_show_still_matches() -> None:
    # Given a woman born 1925 whose NIK reads as 2025 by the century rule
    nik = parse_nik("1708014104250001", TODAY)
    assert nik.birth_date == date(2025, 4, 1)
    # Then her declared 1925 birth date agrees (DDMMYY 010425)
    check_identity(nik, date(1925, 4, 1), "P")


def test_wrong_sex_and_birth_date_are_both_reported() -> None:
    nik = parse_nik("1708015401900002", TODAY)
    with pytest.raises(ValidationFailed) as error:
        check_identity(nik, date(1990, 1, 15), "L")
    fields = {e.field: e.reason for e in error.value.errors}
    assert set(fields) == {"sex", "birth_date"}
    assert "NIK, which says 'P'" in fields["sex"]
    assert "DDMMYY 150190" in fields["birth_date"]
    assert "DDMMYY 140190" in fields["birth_date"]


def test_only_sex_wrong() -> None:
    nik = parse_nik("1708011401900001", TODAY)
    with pytest.raises(ValidationFailed) as error:
        check_identity(nik, date(1990, 1, 14), "P")
    assert [e.field for e in error.value.errors] == ["sex"]


# --- the struct -------------------------------------------------------------------------


def test_nik_struct_round_trips_through_json_and_pickle() -> None:
    nik = parse_nik("1708015401900002", TODAY)
    assert msgspec.json.decode(msgspec.json.encode(nik), type=Nik) == nik
    assert pickle.loads(pickle.dumps(nik)) == nik


def test_nik_struct_refuses_impossible_parts() -> None:
    with pytest.raises(ValueError, match="serial"):
        Nik("17", "08", "01", date(1990, 1, 1), "L", "0000")
    with pytest.raises(ValueError, match="province"):
        Nik("1", "08", "01", date(1990, 1, 1), "L", "0001")
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(
            b'{"province":"17","regency":"08","district":"01","birth_date":"1990-01-01",'
            b'"sex":"X","serial":"0001"}',
            type=Nik,
        )


# --- properties -------------------------------------------------------------------------

two_digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
# Within the last 100 years before TODAY the century rule is unambiguous.
birth_dates = st.dates(min_value=date(TODAY.year - 99, 1, 1), max_value=TODAY)
sexes: st.SearchStrategy[Sex] = st.sampled_from(["L", "P"])
serials = st.integers(1, 9999).map(lambda n: f"{n:04d}")


def build(prefix: str, birth: date, sex: Sex, serial: str) -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{prefix}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial}"


@given(two_digits, two_digits, two_digits, birth_dates, sexes, serials)
def test_every_valid_nik_round_trips(
    province: str, regency: str, district: str, birth: date, sex: Sex, serial: str
) -> None:
    text = build(province + regency + district, birth, sex, serial)
    nik = parse_nik(text, TODAY)
    assert nik == Nik(province, regency, district, birth, sex, serial)
    assert str(nik) == text
    check_identity(nik, birth, sex)


@given(birth_dates, serials)
def test_a_womans_day_is_the_mans_plus_40(birth: date, serial: str) -> None:
    man = parse_nik(build("170801", birth, "L", serial), TODAY)
    woman = parse_nik(build("170801", birth, "P", serial), TODAY)
    assert int(woman.ddmmyy[:2]) == int(man.ddmmyy[:2]) + 40
    assert (man.sex, woman.sex) == ("L", "P")
    assert man.birth_date == woman.birth_date == birth


@given(st.text(alphabet="0123456789", min_size=16, max_size=16), st.dates())
def test_any_16_digits_are_valid_or_refused_with_a_reason(text: str, today: date) -> None:
    try:
        nik = parse_nik(text, today)
    except ValidationFailed as error:
        assert error.errors[0].field == "nik"
        assert error.errors[0].reason
    else:
        assert str(nik) == text
        assert nik.birth_date <= today


@given(st.text(max_size=40))
def test_any_text_is_valid_or_refused_never_a_crash(text: str) -> None:
    try:
        parse_nik(text, TODAY)
    except ValidationFailed as error:
        assert error.errors[0].reason
