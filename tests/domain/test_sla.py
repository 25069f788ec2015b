"""Claim SLA, accident report deadlines and claim expiry (services/domain/sla.py).

The calendar of most tests here is a `BusinessCalendar` whose working days are weekdays minus two
days off chosen for the test (Thu 19 and Fri 20 March 2026), standing in for the Indonesian
holiday calendar; the working-day arithmetic is calendar's. One test uses the real default
calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain.benefits import BenefitKind
from services.domain.calendar import BusinessCalendar
from services.domain.money import JUTA
from services.domain.sla import (
    JKK_SLA_WORKING_DAYS,
    JKM_SLA_WORKING_DAYS,
    ReportStage,
    claim_expiry,
    claim_sla,
    late_penalty,
    stage_one_report,
    stage_two_report,
)

X = "\u00d7"
DAYS_OFF = {date(2026, 3, 19), date(2026, 3, 20)}


class StandInCalendar(BusinessCalendar, frozen=True):
    """Weekdays except DAYS_OFF."""

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in DAYS_OFF


CALENDAR = StandInCalendar()


DOCS_COMPLETE = date(2026, 3, 13)  # a Friday
# 7 working days after: 16, 17, 18, (19, 20 off), 23, 24, 25, 26 March
JKK_DEADLINE = date(2026, 3, 26)
BENEFIT = 48 * JUTA


def sla(today: date, paid_on: date | None = None, working_days: int = JKK_SLA_WORKING_DAYS):
    return claim_sla(
        documents_complete_on=DOCS_COMPLETE,
        working_days=working_days,
        benefit=BENEFIT,
        today=today,
        calendar=CALENDAR,
        paid_on=paid_on,
        rules_version="sla-test",
    )


def test_the_jkk_deadline_is_seven_working_days_after_complete_documents() -> None:
    assert sla(DOCS_COMPLETE).deadline == JKK_DEADLINE
    assert CALENDAR.add_working_days(DOCS_COMPLETE, 7) == JKK_DEADLINE


def test_the_jkm_deadline_is_three_working_days_after_complete_documents() -> None:
    result = sla(DOCS_COMPLETE, working_days=JKM_SLA_WORKING_DAYS)
    assert result.deadline == date(2026, 3, 18)


@pytest.mark.parametrize(
    ("today", "paid_on", "left", "late", "breached", "penalty"),
    [
        # given documents complete on Fri 13 March, when looking on ... then:
        (date(2026, 3, 13), None, 7, 0, False, 0),
        (date(2026, 3, 18), None, 4, 0, False, 0),  # 19-20 off: 23, 24, 25, 26 left
        (date(2026, 3, 26), None, 0, 0, False, 0),  # the deadline day itself
        (date(2026, 3, 27), None, 0, 1, True, 480_000),  # unpaid, 1 working day late so far
        (date(2026, 3, 28), None, 0, 1, True, 480_000),  # Saturday: no new working day late
        (date(2026, 4, 1), None, 0, 4, True, 1_920_000),
        (date(2026, 4, 30), date(2026, 3, 26), 0, 0, False, 0),  # paid on the deadline
        (date(2026, 4, 30), date(2026, 3, 31), 0, 3, True, 1_440_000),  # paid 3 days late
        (date(2026, 3, 20), date(2026, 3, 16), 0, 0, False, 0),  # paid early
    ],
)
def test_claim_sla_time_left_days_late_and_penalty(
    today: date,
    paid_on: date | None,
    left: int,
    late: int,
    breached: bool,
    penalty: int,
) -> None:
    result = sla(today, paid_on)
    assert (result.working_days_left, result.working_days_late, result.breached) == (
        left,
        late,
        breached,
    )
    assert (result.penalty.amount if result.penalty else 0) == penalty


def test_the_late_penalty_is_a_benefit_line_with_its_formula() -> None:
    result = sla(date(2026, 4, 30), paid_on=date(2026, 3, 31))
    assert result.penalty is not None
    assert result.penalty.kind is BenefitKind.LATE_PENALTY
    assert result.penalty.formula == f"3 working days {X} 1% {X} Rp48.000.000 = Rp1.440.000"
    assert result.penalty.rules_version == "sla-test"
    one = late_penalty(42 * JUTA, 1)
    assert one is not None and one.formula == f"1 working day {X} 1% {X} Rp42.000.000 = Rp420.000"


def test_a_payment_on_a_day_off_after_the_deadline_is_a_breach_without_penalty_days() -> None:
    # Paid on Saturday 28 March, after Thursday's deadline and Friday: 1 working day late.
    result = sla(date(2026, 3, 30), paid_on=date(2026, 3, 28))
    assert (result.breached, result.working_days_late) == (True, 1)
    deadline_friday = claim_sla(
        documents_complete_on=date(2026, 3, 24),
        working_days=3,
        benefit=BENEFIT,
        today=date(2026, 4, 1),
        calendar=CALENDAR,
        paid_on=date(2026, 3, 28),
    )
    assert deadline_friday.deadline == date(2026, 3, 27)
    assert (deadline_friday.breached, deadline_friday.working_days_late) == (True, 0)
    assert deadline_friday.penalty is None


def test_a_payment_after_today_is_not_yet_known() -> None:
    result = sla(date(2026, 3, 18), paid_on=date(2026, 3, 20))
    assert result.paid_on is None and result.working_days_left == 4


def test_a_payment_before_complete_documents_is_refused() -> None:
    with pytest.raises(ValueError, match="before the documents were complete"):
        sla(date(2026, 3, 20), paid_on=date(2026, 3, 12))


def test_a_negative_number_of_sla_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="SLA working days must be >= 0"):
        sla(DOCS_COMPLETE, working_days=-1)


def test_by_default_the_deadline_skips_real_indonesian_holidays() -> None:
    # The default calendar: Nyepi (Thu 19 March 2026) is a national holiday; Fri 20 March is
    # joint leave (cuti bersama), a working day. 7 working days after Fri 13 March:
    # 16, 17, 18, (19 off), 20, 23, 24, 25.
    result = claim_sla(
        documents_complete_on=DOCS_COMPLETE,
        working_days=JKK_SLA_WORKING_DAYS,
        benefit=BENEFIT,
        today=date(2026, 3, 27),
    )
    assert result.deadline == date(2026, 3, 25)
    assert (result.working_days_late, result.breached) == (2, True)  # 26 and 27 March
    assert result.penalty is not None and result.penalty.amount == 960_000
    paid_on_good_friday = claim_sla(
        documents_complete_on=DOCS_COMPLETE,
        working_days=JKK_SLA_WORKING_DAYS,
        benefit=BENEFIT,
        today=date(2026, 4, 6),
        paid_on=date(2026, 4, 3),
    )
    # Good Friday is a holiday: late are 26, 27, 30, 31 March and 1, 2 April.
    assert paid_on_good_friday.working_days_late == 6


def test_late_penalty_for_a_fractional_rupiah_rounds_half_up() -> None:
    line = late_penalty(16_850, 1)  # 1% of Rp16,850 = Rp168.5
    assert line is not None and line.amount == 169
    assert late_penalty(BENEFIT, 0) is None
    with pytest.raises(ValueError, match="working days late"):
        late_penalty(BENEFIT, -1)


working_calendar_days = st.dates(date(2025, 1, 1), date(2027, 12, 31))


@given(working_calendar_days, st.integers(0, 30))
def test_the_deadline_is_the_nth_working_day_after(start: date, n: int) -> None:
    deadline = CALENDAR.add_working_days(start, n)
    assert CALENDAR.working_days_between(start, deadline) == n
    assert n == 0 or CALENDAR.is_working_day(deadline)


@given(working_calendar_days, st.integers(0, 60), st.integers(0, 500 * JUTA))
def test_penalty_is_one_percent_per_working_day_late(
    complete: date, paid_after: int, benefit: int
) -> None:
    paid_on = complete + timedelta(days=paid_after)
    result = claim_sla(
        documents_complete_on=complete,
        working_days=JKK_SLA_WORKING_DAYS,
        benefit=benefit,
        today=paid_on,
        calendar=CALENDAR,
        paid_on=paid_on,
    )
    expected = result.working_days_late * benefit / 100
    assert abs((result.penalty.amount if result.penalty else 0) - expected) <= 0.5
    assert result.breached == (paid_on > result.deadline)
    assert result.working_days_late == 0 or result.breached


# --- accident reports ---------------------------------------------------------------------------

ACCIDENT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 08:30 WIB, Monday 2 March


@pytest.mark.parametrize(
    ("reported_after", "late", "hours_late"),
    [
        (timedelta(hours=5), False, 0),
        (timedelta(hours=48), False, 0),  # exactly 2x24 hours: on time
        (timedelta(hours=48, minutes=1), True, 1),  # started hours count
        (timedelta(hours=50), True, 2),
        (timedelta(days=5, hours=3), True, 75),
    ],
)
def test_stage_one_is_due_within_two_times_24_hours_of_the_accident(
    reported_after: timedelta, late: bool, hours_late: int
) -> None:
    report = stage_one_report(
        ACCIDENT, reported_at=ACCIDENT + reported_after, now=ACCIDENT + timedelta(days=10)
    )
    assert report.stage is ReportStage.STAGE_I
    assert report.deadline == datetime(2026, 3, 4, 1, 30, tzinfo=UTC)
    assert (report.late, report.hours_late, report.time_left) == (late, hours_late, None)


def test_an_unreported_accident_shows_time_left_then_the_breach() -> None:
    early = stage_one_report(ACCIDENT, now=ACCIDENT + timedelta(hours=30))
    assert (early.late, early.time_left) == (False, timedelta(hours=18))
    overdue = stage_one_report(ACCIDENT, now=ACCIDENT + timedelta(hours=60))
    assert (overdue.late, overdue.hours_late, overdue.time_left) == (True, 12, None)


def test_stage_two_is_due_within_two_times_24_hours_of_the_doctors_statement() -> None:
    statement = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)
    report = stage_two_report(
        statement, reported_at=statement + timedelta(hours=73), now=statement + timedelta(days=7)
    )
    assert report.stage is ReportStage.STAGE_II
    assert (report.deadline, report.late, report.hours_late) == (
        statement + timedelta(hours=48),
        True,
        25,
    )


def test_reports_refuse_naive_instants_and_reports_before_the_event() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        stage_one_report(datetime(2026, 3, 2, 8, 30), now=ACCIDENT)
    with pytest.raises(ValueError, match="before its start"):
        stage_one_report(ACCIDENT, reported_at=ACCIDENT - timedelta(hours=1), now=ACCIDENT)


# --- claim expiry -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accident_on", "on", "last_day", "expired"),
    [
        (date(2026, 3, 2), date(2026, 3, 3), date(2031, 3, 2), False),
        (date(2026, 3, 2), date(2031, 3, 2), date(2031, 3, 2), False),  # the last day
        (date(2026, 3, 2), date(2031, 3, 3), date(2031, 3, 2), True),
        (date(2028, 2, 29), date(2033, 2, 28), date(2033, 2, 28), False),
        (date(2028, 2, 29), date(2033, 3, 1), date(2033, 2, 28), True),
    ],
)
def test_the_right_to_claim_expires_five_years_after_the_accident(
    accident_on: date, on: date, last_day: date, expired: bool
) -> None:
    expiry = claim_expiry(accident_on, on=on)
    assert (expiry.last_day, expiry.expired) == (last_day, expired)
    assert expiry.days_left == (0 if expired else (last_day - on).days)


def test_a_claim_before_the_accident_is_refused() -> None:
    with pytest.raises(ValueError, match="before the accident"):
        claim_expiry(date(2026, 3, 2), on=date(2026, 3, 1))
