"""Business time in Asia/Jakarta: contribution months, due dates and working days.

Every business date and deadline in Jaga is a date in Asia/Jakarta (WIB), while instants are
stored in UTC; `to_jakarta` / `business_date` are the one place that converts. Working days
are Monday to Friday except Indonesian national holidays, taken from the maintained
`holidays` package (the government fixes the Islamic dates each year by decree; the package
follows those decrees, so we pin it and update it rather than keep our own list).

Joint leave days (cuti bersama, e.g. the days around Idul Fitri) are leave for civil
servants, not national holidays: the default calendar keeps them as working days, and
`BusinessCalendar(joint_leave_off=True)` counts them as days off for uses that need that.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import msgspec

from services.domain.errors import ValidationFailed

JAKARTA = ZoneInfo("Asia/Jakarta")

DUE_DAY = 15
"""A contribution month is due on this day of the month (moved to the next working day)."""

_MONTH_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})")


class Month(msgspec.Struct, frozen=True, order=True):
    """A calendar month (contribution months, coverage periods). Orders by (year, month)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1-12, got {self.month}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year must be 1-9999, got {self.year}")

    @classmethod
    def parse(cls, text: str, field: str = "month") -> Month:
        """Parse "YYYY-MM" (e.g. "2026-01"); `field` names the input in the error."""
        match = _MONTH_TEXT.fullmatch(text.strip())
        if match is None:
            raise ValidationFailed.one(field, f"expected a month as YYYY-MM, got {text!r}")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12 or year < 1:
            raise ValidationFailed.one(field, f"no such month: {text!r}")
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Month:
        """The month a date falls in."""
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        """Months since year 0, for arithmetic: `b.index - a.index` months apart."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Month:
        """Inverse of `index`."""
        year, zero_based = divmod(index, 12)
        return cls(year, zero_based + 1)

    def __add__(self, months: int) -> Month:
        if not isinstance(months, int):
            return NotImplemented
        return Month.from_index(self.index + months)

    def __sub__(self, other: int) -> Month:
        if not isinstance(other, int):
            return NotImplemented
        return Month.from_index(self.index - other)

    def months_until(self, other: Month) -> int:
        """How many months from this month to `other` (negative if `other` is earlier)."""
        return other.index - self.index

    def next(self) -> Month:
        """The following month."""
        return self + 1

    def previous(self) -> Month:
        """The month before."""
        return self - 1

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, _stdlib_calendar.monthrange(self.year, self.month)[1])

    def days(self) -> Iterator[date]:
        """Every date of the month, in order."""
        day = self.first_day
        for _ in range(self.last_day.day):
            yield day
            day += timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and (day.year, day.month) == (self.year, self.month)


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` months later (earlier when negative), or that month's
    last day when it is shorter: 31 January + 1 month is 28 (29) February, 29 February 2028 +
    5 years is 28 February 2033."""
    month = Month.of(day) + months
    return date(month.year, month.month, min(day.day, month.last_day.day))


def month_range(first: Month, last: Month) -> Iterator[Month]:
    """Months from `first` to `last`, both included (empty when `last` is before `first`)."""
    for index in range(first.index, last.index + 1):
        yield Month.from_index(index)


def require_aware(instant: datetime, what: str = "instant") -> datetime:
    """`instant` itself when it is timezone-aware. Naive datetimes are refused (ValueError,
    naming `what`): their zone is unknown, and guessing would shift deadlines by 7 hours."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{what} {instant.isoformat()} has no time zone: instants must be timezone-aware "
            "(store them in UTC)"
        )
    return instant


def to_jakarta(instant: datetime) -> datetime:
    """The same instant on Jakarta's wall clock; naive datetimes are refused."""
    return require_aware(instant).astimezone(JAKARTA)


def business_date(instant: datetime) -> date:
    """The Jakarta calendar date of an instant (e.g. 2025-12-31T17:30Z is 2026-01-01)."""
    return to_jakarta(instant).date()


def _indonesian_holidays(year: int, joint_leave_off: bool) -> holidays.HolidayBase:
    categories: tuple[str, ...] = (holidays.PUBLIC,)
    if joint_leave_off:
        categories += (holidays.GOVERNMENT,)
    return holidays.country_holidays("ID", years=year, categories=categories, language="id")


@lru_cache(maxsize=256)
def _days_off(year: int, joint_leave_off: bool) -> frozenset[date]:
    """Holidays of one year as an immutable set: the package's dict grows on lookup, so it
    is not shared between threads."""
    return frozenset(_indonesian_holidays(year, joint_leave_off))


class BusinessCalendar(msgspec.Struct, frozen=True):
    """Working days in Indonesia: Monday to Friday, except national holidays and, when
    `joint_leave_off`, joint leave days (cuti bersama).

    All the working-day arithmetic below asks `is_working_day`, so a calendar with other days
    off (a test's stand-in) overrides that one method."""

    joint_leave_off: bool = False

    def days_off(self, year: int) -> dict[date, str]:
        """The days off (besides weekends) of a year with their Indonesian names, in order."""
        return dict(sorted(_indonesian_holidays(year, self.joint_leave_off).items()))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _days_off(day.year, self.joint_leave_off)

    def roll_forward(self, day: date) -> date:
        """`day` if it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (before it when n < 0); `day` itself never
        counts, so documents completed on a Saturday with a 7-day SLA are due on the 7th
        working day after that Saturday. n == 0 returns `day` unchanged."""
        step = timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: 0 on the same day, negative when `end` is earlier
        (then minus the working days in (end, start]). So
        `working_days_between(d, add_working_days(d, n)) == n` for n >= 0."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def due_date(self, month: Month) -> date:
        """When a contribution month is due: the 15th, or the next working day after it."""
        return self.roll_forward(date(month.year, month.month, DUE_DAY))


DEFAULT_CALENDAR = BusinessCalendar()
"""National holidays only, as domain.md says; joint leave days are working days."""


def is_working_day(day: date, calendar: BusinessCalendar = DEFAULT_CALENDAR) -> bool:
    """Monday to Friday and not a national holiday."""
    return calendar.is_working_day(day)


def add_working_days(day: date, n: int, calendar: BusinessCalendar = DEFAULT_CALENDAR) -> date:
    """See `BusinessCalendar.add_working_days`."""
    return calendar.add_working_days(day, n)


def working_days_between(
    start: date, end: date, calendar: BusinessCalendar = DEFAULT_CALENDAR
) -> int:
    """See `BusinessCalendar.working_days_between`."""
    return calendar.working_days_between(start, end)


def due_date(month: Month, calendar: BusinessCalendar = DEFAULT_CALENDAR) -> date:
    """See `BusinessCalendar.due_date`."""
    return calendar.due_date(month)
