"""Business calendar: months, Jakarta dates, due dates and working days.

Holiday facts are those of the pinned `holidays` package (Indonesia), which follows the
government's yearly decree: if a version bump moves a date, these tests say so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain.calendar import (
    DEFAULT_CALENDAR,
    BusinessCalendar,
    Month,
    add_months,
    add_working_days,
    business_date,
    due_date,
    is_working_day,
    month_range,
    to_jakarta,
    working_days_between,
)
from services.domain.errors import ValidationFailed

WITH_JOINT_LEAVE = BusinessCalendar(joint_leave_off=True)

# --- Month ---------------------------------------------------------------------------------


def test_month_parses_and_prints_as_yyyy_mm() -> None:
    assert Month.parse("2026-01") == Month(2026, 1)
    assert Month.parse(" 2025-10 ") == Month(2025, 10)
    assert str(Month(2026, 1)) == "2026-01"


@pytest.mark.parametrize(
    "text", ["2026-1", "2026-13", "2026-00", "26-01", "2026/01", "", "0000-01"]
)
def test_month_parse_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        Month.parse(text, field="months[0]")
    assert error.value.errors[0].field == "months[0]"


def test_month_refuses_impossible_values() -> None:
    with pytest.raises(ValueError, match="1-12"):
        Month(2026, 13)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"year":2026,"month":0}', type=Month)


def test_months_order_and_step_across_years() -> None:
    assert Month(2025, 12) < Month(2026, 1) < Month(2026, 2)
    assert Month(2025, 12).next() == Month(2026, 1)
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2025, 10) + 3 == Month(2026, 1)
    assert Month(2026, 1) - 13 == Month(2024, 12)
    assert Month(2025, 10).months_until(Month(2026, 9)) == 11
    assert max([Month(2025, 11), Month(2026, 1), Month(2025, 12)]) == Month(2026, 1)


def test_month_range_includes_both_ends() -> None:
    # Given the Kepahiang cohort's first block: October to December 2025
    block = list(month_range(Month(2025, 10), Month(2025, 12)))
    assert [str(m) for m in block] == ["2025-10", "2025-11", "2025-12"]
    assert list(month_range(Month(2026, 1), Month(2025, 12))) == []
    assert len(list(month_range(Month(2025, 10), Month(2026, 9)))) == 12


def test_month_days() -> None:
    feb = Month(2024, 2)
    assert (feb.first_day, feb.last_day) == (date(2024, 2, 1), date(2024, 2, 29))
    assert len(list(feb.days())) == 29
    assert date(2024, 2, 29) in feb
    assert date(2024, 3, 1) not in feb
    assert Month.of(date(2026, 3, 21)) == Month(2026, 3)


def test_month_is_hashable_and_round_trips_through_json() -> None:
    assert len({Month(2026, 1), Month(2026, 1), Month(2026, 2)}) == 2
    data = msgspec.json.encode(Month(2026, 1))
    assert msgspec.json.decode(data, type=Month) == Month(2026, 1)


months = st.builds(Month, st.integers(1900, 2200), st.integers(1, 12))


@given(months, st.integers(-2400, 2400))
def test_month_arithmetic_is_consistent(month: Month, k: int) -> None:
    assert (month + k) - k == month
    assert month.months_until(month + k) == k
    assert (month + k > month) == (k > 0)
    assert Month.from_index(month.index) == month


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 3, 2), 12, date(2027, 3, 2)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # the month is shorter: its last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 60, date(2033, 2, 28)),  # a 5th anniversary with no 29 February
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2025, 12, 15), 0, date(2025, 12, 15)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_shorter_months_last(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


# --- Jakarta time ---------------------------------------------------------------------------


def test_an_instant_is_dated_in_jakarta() -> None:
    # Given 17:30 UTC on New Year's Eve
    instant = datetime(2025, 12, 31, 17, 30, tzinfo=UTC)
    # Then it is already 00:30 on 1 January in Jakarta (UTC+7)
    assert to_jakarta(instant).isoformat() == "2026-01-01T00:30:00+07:00"
    assert business_date(instant) == date(2026, 1, 1)
    assert business_date(datetime(2025, 12, 31, 16, 59, tzinfo=UTC)) == date(2025, 12, 31)
    assert business_date(datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=9)))) == (
        date(2025, 12, 31)
    )


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_jakarta(datetime(2026, 1, 1, 12, 0))


# --- holidays and working days ----------------------------------------------------------------


def test_real_indonesian_holidays_are_days_off() -> None:
    days_off = DEFAULT_CALENDAR.days_off(2026)
    assert days_off[date(2026, 3, 21)] == "Hari Raya Idul Fitri"
    assert date(2026, 3, 19) in days_off  # Nyepi
    assert date(2026, 8, 17) in days_off  # Independence Day
    assert not is_working_day(date(2025, 12, 25))  # Christmas, a Thursday
    assert not is_working_day(date(2026, 3, 19))  # Nyepi, a Thursday
    assert not is_working_day(date(2026, 1, 16))  # Isra Mikraj, a Friday
    assert is_working_day(date(2025, 12, 24))
    assert not is_working_day(date(2026, 1, 17))  # a Saturday
    assert not is_working_day(date(2026, 1, 18))  # a Sunday


def test_joint_leave_is_a_working_day_unless_the_calendar_says_otherwise() -> None:
    # 20 March 2026 (Friday) is cuti bersama before Idul Fitri; 26 Dec 2025 after Christmas
    for day in (date(2026, 3, 20), date(2025, 12, 26)):
        assert is_working_day(day)
        assert not WITH_JOINT_LEAVE.is_working_day(day)
    assert date(2026, 3, 20) not in DEFAULT_CALENDAR.days_off(2026)
    assert WITH_JOINT_LEAVE.days_off(2026)[date(2026, 3, 20)].startswith("Cuti Bersama")


@pytest.mark.parametrize(
    ("month", "due"),
    [
        (Month(2025, 10), date(2025, 10, 15)),  # a Wednesday: the 15th itself
        (Month(2025, 2), date(2025, 2, 17)),  # Saturday 15th -> Monday
        (Month(2026, 3), date(2026, 3, 16)),  # Sunday 15th -> Monday
        (Month(2026, 8), date(2026, 8, 18)),  # Sat, Sun, then Independence Day Monday
        (Month(2029, 3), date(2029, 3, 16)),  # Thursday 15th is Nyepi -> Friday
        (Month(2025, 12), date(2025, 12, 15)),
    ],
)
def test_due_date_is_the_15th_or_the_next_working_day(month: Month, due: date) -> None:
    assert due_date(month) == due


def test_due_date_moves_past_joint_leave_only_in_that_calendar() -> None:
    # Sunday 15 Feb 2026; Monday 16 is cuti bersama, Tuesday 17 is Imlek
    assert due_date(Month(2026, 2)) == date(2026, 2, 16)
    assert due_date(Month(2026, 2), WITH_JOINT_LEAVE) == date(2026, 2, 18)


def test_jkk_sla_over_nyepi_and_idul_fitri() -> None:
    # Given documents complete on Tuesday 17 March 2026 and a 7-working-day SLA
    complete = date(2026, 3, 17)
    # Then Nyepi (19th) and the Idul Fitri weekend (21st, 22nd) are skipped
    assert add_working_days(complete, 7) == date(2026, 3, 27)
    assert working_days_between(complete, date(2026, 3, 27)) == 7
    # And with joint leave (18, 20, 23, 24 March) off too, the first working day is the
    # 25th, and the deadline 2 April
    assert add_working_days(complete, 1, WITH_JOINT_LEAVE) == date(2026, 3, 25)
    assert add_working_days(complete, 7, WITH_JOINT_LEAVE) == date(2026, 4, 2)


def test_jkm_sla_over_christmas() -> None:
    # Given documents complete on Wednesday 24 December 2025 and 3 working days
    assert add_working_days(date(2025, 12, 24), 3) == date(2025, 12, 30)
    assert add_working_days(date(2025, 12, 24), 3, WITH_JOINT_LEAVE) == date(2025, 12, 31)


def test_working_days_between_counts_the_end_not_the_start() -> None:
    friday, monday = date(2026, 1, 9), date(2026, 1, 12)
    assert working_days_between(friday, friday) == 0
    assert working_days_between(friday, monday) == 1
    assert working_days_between(monday, friday) == -1
    assert working_days_between(date(2026, 1, 10), date(2026, 1, 11)) == 0  # a weekend
    assert add_working_days(date(2026, 1, 10), 0) == date(2026, 1, 10)
    assert add_working_days(monday, -1) == friday


def test_a_year_has_the_working_days_the_holidays_leave() -> None:
    weekdays_2026 = sum(
        1 for d in range(365) if (date(2026, 1, 1) + timedelta(days=d)).weekday() < 5
    )
    weekday_holidays = sum(1 for d in DEFAULT_CALENDAR.days_off(2026) if d.weekday() < 5)
    assert working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == (
        weekdays_2026 - weekday_holidays
    )


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
calendars = st.sampled_from([DEFAULT_CALENDAR, WITH_JOINT_LEAVE])


@given(days, st.integers(0, 60), calendars)
def test_adding_then_counting_working_days_round_trips(
    start: date, n: int, calendar: BusinessCalendar
) -> None:
    end = calendar.add_working_days(start, n)
    assert calendar.working_days_between(start, end) == n
    if n > 0:
        assert calendar.is_working_day(end)
        assert end > start


@given(days, st.integers(1, 60), calendars)
def test_going_back_from_a_working_day_round_trips(
    start: date, n: int, calendar: BusinessCalendar
) -> None:
    start = calendar.roll_forward(start)
    earlier = calendar.add_working_days(start, -n)
    assert calendar.is_working_day(earlier)
    assert calendar.working_days_between(earlier, start) == n


@given(days, days)
def test_working_days_between_is_antisymmetric(a: date, b: date) -> None:
    assert working_days_between(a, b) == -working_days_between(b, a)


@given(days)
def test_weekends_are_never_working_days_and_due_dates_always_are(day: date) -> None:
    if day.weekday() >= 5:
        assert not is_working_day(day)
    due = due_date(Month.of(day))
    assert is_working_day(due)
    assert due >= date(day.year, day.month, 15)
