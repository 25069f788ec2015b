"""Contributions, membership and coverage (services/domain/coverage.py).

Given a participant's contribution facts, when the history is folded as of a date, then the
months, periods, arrears, credit, refunds and coverage follow domain.md "Contributions".

Due dates are those of the real default calendar (`calendar.due_date`: the 15th, or the next
working day, Indonesian national holidays off); the worked examples are in months where that is
the 15th or the next weekday.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.domain.calendar import (
    DEFAULT_CALENDAR,
    JAKARTA,
    BusinessCalendar,
    Month,
    business_date,
    due_date,
    month_range,
)
from services.domain.coverage import (
    Cessation,
    CessationKind,
    ContributionFacts,
    ContributionHistory,
    CoverageReason,
    CoverageRules,
    EndReason,
    MonthStatus,
    Payment,
    contribution_history,
    enrolment_periods,
    is_covered,
    membership_months,
    paid_months,
    period_on,
)
from services.domain.rates import MIN_DECLARED_INCOME, Programme, contribution_due

JKK_JKM = 16_800  # JKK + JKM at the minimum declared income
SPONSOR = "APBD Kabupaten Kepahiang"
OCT, NOV, DEC = Month(2025, 10), Month(2025, 11), Month(2025, 12)
JAN, FEB, MAR, APR = Month(2026, 1), Month(2026, 2), Month(2026, 3), Month(2026, 4)


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock WIB on `day`, as a UTC instant."""
    wib = datetime(day.year, day.month, day.day, hour, tzinfo=timezone(timedelta(hours=7)))
    return wib.astimezone(UTC)


def pay(
    reference: str,
    months: tuple[Month, ...],
    on: date,
    amount: int | None = None,
    *,
    payer: str = SPONSOR,
    reversed: bool = False,
    hour: int = 10,
) -> Payment:
    return Payment(
        reference=reference,
        payer=payer,
        months=months,
        paid_at=at(on, hour),
        amount=JKK_JKM * len(months) if amount is None else amount,
        reversed=reversed,
    )


def history(
    *payments: Payment,
    today: date,
    start: Month = OCT,
    rejoins: tuple[Month, ...] = (),
    cessation: Cessation | None = None,
    leavings: tuple[Cessation, ...] = (),
    amount_due: Callable[[Month], int] | int = JKK_JKM,
    rules: CoverageRules | None = None,
) -> ContributionHistory:
    facts = ContributionFacts(
        start=start, payments=payments, rejoins=rejoins, cessation=cessation, leavings=leavings
    )
    extra = {"rules": rules} if rules is not None else {}
    return contribution_history(facts, today=today, amount_due=amount_due, **extra)


def statuses(h: ContributionHistory) -> dict[str, MonthStatus]:
    return {str(record.month): record.status for record in h.months}


def covered(h: ContributionHistory, day: date) -> bool:
    return is_covered(h, day).covered


# --- worked examples ----------------------------------------------------------------------------


def test_kepahiang_block_payment_on_time_covers_every_day_of_the_three_months() -> None:
    # Given the regency pays Oct-Dec 2025 for a worker on 1 October (Rp16,800 x 3),
    h = history(pay("SP2D-001", (OCT, NOV, DEC), date(2025, 10, 1)), today=date(2026, 1, 20))
    # then the three months are paid on time, January is in arrears,
    assert statuses(h) == {
        "2025-10": MonthStatus.PAID_ON_TIME,
        "2025-11": MonthStatus.PAID_ON_TIME,
        "2025-12": MonthStatus.PAID_ON_TIME,
        "2026-01": MonthStatus.IN_ARREARS,
    }
    assert (h.arrears_months, h.arrears_amount, h.credit_total) == (1, JKK_JKM, 0)
    # and every day from 1 October to 31 December is covered by that payment.
    for month in (OCT, NOV, DEC):
        for day in month.days():
            coverage = is_covered(h, day)
            assert coverage.covered, coverage
            assert coverage.reason is CoverageReason.PAID_ON_TIME
            assert coverage.payment_reference == "SP2D-001"
    assert not covered(h, date(2026, 1, 5))
    assert not covered(h, date(2025, 9, 30))
    # If nothing more is paid, months Jan-Apr unpaid end membership after due(Apr) = 15 Apr.
    assert h.lapses_on == date(2026, 4, 16)


@pytest.mark.parametrize(
    ("day", "is_cov", "reason"),
    [
        (date(2025, 10, 1), False, CoverageReason.PAID_AFTER_DAY),
        (date(2025, 10, 15), False, CoverageReason.PAID_AFTER_DAY),  # due date, still unpaid
        (date(2025, 10, 20), False, CoverageReason.PAID_AFTER_DAY),  # the day it was paid
        (date(2025, 10, 21), True, CoverageReason.PAID_BEFORE_DAY),
        (date(2025, 10, 31), True, CoverageReason.PAID_BEFORE_DAY),
        (date(2025, 11, 1), True, CoverageReason.PAID_ON_TIME),  # November paid ahead
    ],
)
def test_a_late_payment_keeps_membership_but_does_not_cover_the_unpaid_days(
    day: date, is_cov: bool, reason: CoverageReason
) -> None:
    # Given October (due 15 Oct) and November are paid on 20 October,
    h = history(pay("BNI-77", (OCT, NOV), date(2025, 10, 20)), today=date(2025, 11, 30))
    assert statuses(h)["2025-10"] is MonthStatus.PAID_LATE
    assert statuses(h)["2025-11"] is MonthStatus.PAID_ON_TIME
    # when asking about an accident on `day`, then:
    coverage = is_covered(h, day)
    assert (coverage.covered, coverage.reason) == (is_cov, reason), coverage.explanation


def test_the_late_payment_policy_can_cover_the_unpaid_days_when_set() -> None:
    rules = CoverageRules(version="test-lenient", late_payment_covers_unpaid_days=True)
    h = history(pay("BNI-77", (OCT,), date(2025, 10, 20)), today=date(2025, 11, 1), rules=rules)
    coverage = is_covered(h, date(2025, 10, 2))
    assert coverage.covered and coverage.reason is CoverageReason.LATE_PAYMENT_COVERS
    assert coverage.rules_version == "test-lenient"


def test_under_payment_fills_the_earliest_months_and_leaves_arrears() -> None:
    # Given Rp40,000 paid for Oct-Dec (Rp50,400 due),
    h = history(pay("TRX-1", (OCT, NOV, DEC), date(2025, 10, 1), 40_000), today=date(2025, 12, 20))
    # then October and November are paid, December is short by Rp10,400 and in arrears,
    december = h.month(DEC)
    assert december is not None
    assert (december.amount_paid, december.shortfall) == (6_400, 10_400)
    assert december.status is MonthStatus.IN_ARREARS
    assert (h.arrears_months, h.arrears_amount) == (1, 10_400)
    assert covered(h, date(2025, 11, 30))
    unpaid = is_covered(h, date(2025, 12, 1))
    assert unpaid.reason is CoverageReason.MONTH_UNPAID
    assert "Rp6.400 paid" in unpaid.explanation
    # and a top-up on 22 December completes it, late: covered from the next day.
    topped = history(
        pay("TRX-1", (OCT, NOV, DEC), date(2025, 10, 1), 40_000),
        pay("TRX-2", (DEC,), date(2025, 12, 22), 10_400),
        today=date(2025, 12, 31),
    )
    december = topped.month(DEC)
    assert december is not None
    assert (december.status, december.paid_by) == (MonthStatus.PAID_LATE, "TRX-2")
    assert [a.amount for a in december.allocations] == [6_400, 10_400]
    assert not covered(topped, date(2025, 12, 22))
    assert covered(topped, date(2025, 12, 23))


@pytest.mark.parametrize(
    ("rules", "credit", "refund"),
    [(None, 9_600, 0), (CoverageRules(version="t", overpayment="refund"), 0, 9_600)],
)
def test_over_payment_is_held_as_credit_by_policy(
    rules: CoverageRules | None, credit: int, refund: int
) -> None:
    # Given Rp60,000 paid for Oct-Dec (Rp50,400 due),
    h = history(
        pay("TRX-9", (OCT, NOV, DEC), date(2025, 10, 1), 60_000),
        today=date(2025, 12, 1),
        rules=rules,
    )
    # then the months are paid and the Rp9,600 left is held (or refunded, by policy).
    assert all(r.status is MonthStatus.PAID_ON_TIME for r in h.months)
    assert (h.credit_total, h.refund_total) == (credit, refund)
    held = [*h.credits, *h.refunds]
    assert [(x.reference, x.payer, x.reason) for x in held] == [("TRX-9", SPONSOR, "over-payment")]


def test_a_month_paid_twice_leaves_the_second_payment_as_credit() -> None:
    h = history(
        pay("A", (OCT,), date(2025, 10, 1)),
        pay("B", (OCT,), date(2025, 10, 2), payer="worker"),
        today=date(2025, 10, 31),
    )
    assert h.month(OCT).paid_by == "A"  # type: ignore[union-attr]
    assert [(c.payer, c.amount, c.reason) for c in h.credits] == [
        ("worker", JKK_JKM, "2025-10: already paid")
    ]


def test_the_same_reference_recorded_twice_is_one_payment() -> None:
    same = pay("BRI-0042", (OCT, NOV), date(2025, 10, 1))
    h = history(same, same, today=date(2025, 11, 30))
    assert h.credit_total == 0
    assert [len(r.allocations) for r in h.months] == [1, 1]


def test_a_reversed_payment_counts_as_never_paid() -> None:
    # Given the block payment bounced (its reversal is recorded),
    h = history(
        pay("SP2D-001", (OCT, NOV, DEC), date(2025, 10, 1)),
        pay("SP2D-001", (OCT, NOV, DEC), date(2025, 10, 1), reversed=True),
        today=date(2025, 12, 20),
    )
    # then no month is paid and no day is covered.
    assert set(statuses(h).values()) == {MonthStatus.IN_ARREARS}
    assert h.arrears_months == 3 and h.arrears_amount == 3 * JKK_JKM
    assert not any(covered(h, day) for day in OCT.days())


def test_rates_come_from_the_table_in_force_for_each_month() -> None:
    # Given JHT is added from January 2026 (Rp36,800 a month),
    def amount_due(month: Month) -> int:
        return 36_800 if month >= JAN else JKK_JKM

    h = history(
        pay("X", (DEC, JAN), date(2025, 12, 1), 2 * JKK_JKM),
        today=date(2026, 1, 31),
        amount_due=amount_due,
    )
    # then paying December's rate for January leaves January short by Rp20,000.
    assert h.month(DEC).status is MonthStatus.PAID_ON_TIME  # type: ignore[union-attr]
    january = h.month(JAN)
    assert january is not None
    assert (january.amount_due, january.shortfall, january.status) == (
        36_800,
        20_000,
        MonthStatus.IN_ARREARS,
    )


# --- membership ---------------------------------------------------------------------------------

ONLY_OCTOBER = pay("OCT", (OCT,), date(2025, 10, 1))


@pytest.mark.parametrize(
    ("today", "arrears", "ended_on", "lapses_on"),
    [
        # Nov (due 17 Nov), Dec (15 Dec), Jan (15 Jan), Feb (16 Feb, 15th a Sunday) unpaid.
        (date(2025, 12, 20), 2, None, date(2026, 2, 17)),
        (date(2026, 2, 16), 3, None, date(2026, 2, 17)),  # Feb's due date: still a member
        (date(2026, 2, 17), 0, date(2026, 2, 17), None),  # four unpaid months: ended
    ],
)
def test_membership_ends_after_more_than_three_consecutive_unpaid_months(
    today: date, arrears: int, ended_on: date | None, lapses_on: date | None
) -> None:
    h = history(ONLY_OCTOBER, today=today)
    (period,) = h.periods
    assert h.arrears_months == arrears
    assert period.ended_on == ended_on and h.lapses_on == lapses_on
    if ended_on is not None:
        assert (period.end_month, period.end_reason) == (FEB, EndReason.LAPSED)
        assert statuses(h) == {
            "2025-10": MonthStatus.PAID_ON_TIME,
            "2025-11": MonthStatus.UNPAID,
            "2025-12": MonthStatus.UNPAID,
            "2026-01": MonthStatus.UNPAID,
            "2026-02": MonthStatus.UNPAID,
        }
        assert is_covered(h, date(2026, 3, 1)).reason is CoverageReason.NOT_A_MEMBER
        assert "ended on 2026-02-17 (lapsed)" in is_covered(h, date(2026, 3, 1)).explanation


def test_arrears_paid_within_three_months_keep_membership_but_not_the_past_days() -> None:
    # Given Nov-Jan are paid on 16 Feb (the last day November's arrears can be paid),
    h = history(
        ONLY_OCTOBER, pay("ARR", (NOV, DEC, JAN), date(2026, 2, 16)), today=date(2026, 3, 1)
    )
    # then membership goes on; the months are paid late, February is in arrears,
    assert h.periods[0].ended_on is None
    assert statuses(h)["2025-11"] is MonthStatus.PAID_LATE
    assert statuses(h)["2026-02"] is MonthStatus.IN_ARREARS
    # and an accident in November, while it was unpaid, is not covered.
    assert is_covered(h, date(2025, 11, 20)).reason is CoverageReason.PAID_AFTER_DAY
    assert not covered(h, date(2026, 2, 16)) and not covered(h, date(2026, 2, 17))


def test_arrears_paid_after_the_window_are_refused_and_held_as_credit() -> None:
    # Given only November's arrears are paid, on 17 Feb: after its window and the lapse,
    h = history(ONLY_OCTOBER, pay("LATE", (NOV,), date(2026, 2, 17)), today=date(2026, 3, 1))
    # then the membership has ended and the money is held as credit, saying why.
    assert h.periods[0].ended_on == date(2026, 2, 17)
    assert [(c.amount, c.reason) for c in h.credits] == [
        (JKK_JKM, "2025-11: membership ended on 2026-02-17 (lapsed)")
    ]


def test_a_month_whose_arrears_window_closed_stays_unpaid_without_ending_membership() -> None:
    # Given November was never paid but every other month was, on time,
    months = (OCT, DEC, JAN, FEB, MAR)
    payments = [pay(str(m), (m,), m.first_day) for m in months]
    payments.append(pay("NOV-LATE", (NOV,), date(2026, 3, 2)))  # after due(Feb) = 16 Feb
    h = history(*payments, today=date(2026, 3, 20))
    # then November can no longer be paid (credit), and membership continues.
    assert h.periods[0].ended_on is None
    assert statuses(h)["2025-11"] is MonthStatus.UNPAID
    assert h.arrears_months == 0
    assert [c.reason for c in h.credits] == ["2025-11: arrears window closed on 2026-02-16"]


def test_rejoining_starts_a_new_membership_from_zero() -> None:
    # Given membership lapsed on 17 Feb 2026 and the worker re-joins from April, paying April,
    h = history(
        ONLY_OCTOBER,
        pay("MANDIRI-1", (APR,), date(2026, 4, 1), payer="worker"),
        rejoins=(APR,),
        today=date(2026, 4, 20),
    )
    first, second = h.periods
    assert (first.ended_on, second.number, second.starts_on) == (
        date(2026, 2, 17),
        2,
        date(2026, 4, 1),
    )
    # then March is outside any membership, April is covered in the new period,
    assert is_covered(h, date(2026, 3, 10)).reason is CoverageReason.NOT_A_MEMBER
    assert is_covered(h, date(2026, 4, 10)).period == 2
    # and waiting periods count from April, not October.
    assert membership_months(h, date(2026, 4, 20)) == 0
    assert paid_months(h, date(2026, 4, 20)) == 1
    assert period_on(h, date(2025, 12, 1)) == first


def test_rejoining_while_still_a_member_has_no_effect() -> None:
    h = history(
        pay("A", (OCT, NOV, DEC), date(2025, 10, 1)), rejoins=(DEC,), today=date(2025, 12, 31)
    )
    assert len(h.periods) == 1 and h.ineffective_rejoins == (DEC,)


def test_money_paid_ahead_for_months_after_a_lapse_is_held_as_credit() -> None:
    # Given Oct and Mar-Apr paid on 1 Oct, nothing for Nov-Feb: membership lapses on 17 Feb,
    h = history(ONLY_OCTOBER, pay("AHEAD", (MAR, APR), date(2025, 10, 1)), today=date(2026, 4, 20))
    assert h.periods[0].end_month == FEB
    # then the money for March and April is held as credit, not coverage.
    assert h.credit_total == 2 * JKK_JKM
    assert not covered(h, date(2026, 3, 20))


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (CessationKind.DEATH, EndReason.DEATH),
        (CessationKind.TOTAL_DISABILITY, EndReason.TOTAL_DISABILITY),
    ],
)
def test_months_paid_after_a_death_or_total_disability_are_refunded_to_the_payer(
    kind: CessationKind, reason: EndReason
) -> None:
    # Given the regency paid Oct-Mar, and the worker died (or was totally disabled) on 10 Dec,
    h = history(
        pay("SP2D-6", (OCT, NOV, DEC, JAN, FEB, MAR), date(2025, 10, 1)),
        cessation=Cessation(kind=kind, on=date(2025, 12, 10)),
        today=date(2026, 1, 5),
    )
    # then membership ended on 11 Dec, the day itself was covered,
    (period,) = h.periods
    assert (period.end_month, period.ended_on, period.end_reason) == (
        DEC,
        date(2025, 12, 11),
        reason,
    )
    assert covered(h, date(2025, 12, 10)) and not covered(h, date(2025, 12, 11))
    # and Jan-Mar (Rp50,400) go back to the regency.
    assert [(r.payer, str(r.month), r.amount) for r in h.refunds] == [
        (SPONSOR, "2026-01", JKK_JKM),
        (SPONSOR, "2026-02", JKK_JKM),
        (SPONSOR, "2026-03", JKK_JKM),
    ]
    assert h.refund_total == 50_400 and h.lapses_on is None
    assert [str(r.month) for r in h.months] == ["2025-10", "2025-11", "2025-12"]


def left(on: date, kind: CessationKind = CessationKind.WITHDRAWAL) -> Cessation:
    return Cessation(kind=kind, on=on)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (CessationKind.WITHDRAWAL, EndReason.WITHDRAWAL),
        (CessationKind.MOVED_AWAY, EndReason.MOVED_AWAY),
        (CessationKind.FORMAL_EMPLOYEE, EndReason.FORMAL_EMPLOYEE),
    ],
)
def test_leaving_ends_the_membership_and_no_later_month_is_due(
    kind: CessationKind, reason: EndReason
) -> None:
    # Given Oct-Nov paid on time, and nothing after,
    paid = pay("SP2D-2", (OCT, NOV), date(2025, 10, 1))
    staying = history(paid, today=date(2026, 1, 20))
    assert (staying.arrears_months, staying.arrears_amount) == (2, 2 * JKK_JKM)  # Dec, Jan
    # when the worker left on 20 November,
    h = history(paid, leavings=(left(date(2025, 11, 20), kind),), today=date(2026, 1, 20))
    # then the membership ended on 21 November, November its last month,
    (period,) = h.periods
    assert (period.end_month, period.ended_on, period.end_reason) == (
        NOV,
        date(2025, 11, 21),
        reason,
    )
    assert [str(r.month) for r in h.months] == ["2025-10", "2025-11"]
    assert h.current_period is None and h.leavings == (left(date(2025, 11, 20), kind),)
    # no month after it is due: no arrears, no lapse ahead,
    assert (h.arrears_months, h.arrears_amount, h.lapses_on) == (0, 0, None)
    assert (h.credits, h.refunds) == ((), ())
    # and the worker is covered up to the day they left, not after.
    assert covered(h, date(2025, 10, 1)) and covered(h, date(2025, 11, 20))
    after = is_covered(h, date(2025, 11, 21))
    assert not after.covered and after.reason is CoverageReason.NOT_A_MEMBER
    assert f"ended on 2025-11-21 ({reason})" in after.explanation
    assert not covered(h, date(2026, 1, 10))


def test_arrears_owed_when_the_worker_left_are_no_longer_owed() -> None:
    # Given only October paid, November in arrears since 18 November,
    h_before = history(ONLY_OCTOBER, today=date(2025, 12, 5))
    assert h_before.arrears_months == 1
    # when the worker moved away on 5 December,
    moved = (left(date(2025, 12, 5), CessationKind.MOVED_AWAY),)
    on_the_day = history(ONLY_OCTOBER, leavings=moved, today=date(2025, 12, 5))
    h = history(ONLY_OCTOBER, leavings=moved, today=date(2025, 12, 20))
    # then on the day itself they are still a member (and November still payable),
    assert period_on(on_the_day, date(2025, 12, 5)) is not None
    assert on_the_day.arrears_months == 1
    # but from the next day nothing is owed: November and December are unpaid, not arrears,
    assert statuses(h) == {
        "2025-10": MonthStatus.PAID_ON_TIME,
        "2025-11": MonthStatus.UNPAID,
        "2025-12": MonthStatus.UNPAID,
    }
    assert (h.arrears_months, h.arrears_amount, h.lapses_on) == (0, 0, None)
    # and the unpaid November was never covered.
    assert is_covered(h, date(2025, 11, 20)).reason is CoverageReason.MONTH_UNPAID


def test_months_paid_ahead_beyond_leaving_are_refunded_to_whoever_paid_them() -> None:
    # Given the regency paid Oct-Mar in one block on 1 October, the worker became a formal
    # employee on 10 December and then paid January themself (by mistake) on 20 December,
    h = history(
        pay("SP2D-6", (OCT, NOV, DEC, JAN, FEB, MAR), date(2025, 10, 1)),
        pay("TELLER-1", (JAN,), date(2025, 12, 20), payer="worker"),
        leavings=(left(date(2025, 12, 10), CessationKind.FORMAL_EMPLOYEE),),
        today=date(2026, 4, 1),
    )
    # then December, the month they left in, stays paid and covered up to 10 December,
    assert statuses(h)["2025-12"] is MonthStatus.PAID_ON_TIME
    assert covered(h, date(2025, 12, 10)) and not covered(h, date(2025, 12, 11))
    # and Jan-Mar go back to the regency, January also to the worker, month by month,
    assert [(r.reference, r.payer, str(r.month), r.amount) for r in h.refunds] == [
        ("TELLER-1", "worker", "2026-01", JKK_JKM),
        ("SP2D-6", SPONSOR, "2026-01", JKK_JKM),
        ("SP2D-6", SPONSOR, "2026-02", JKK_JKM),
        ("SP2D-6", SPONSOR, "2026-03", JKK_JKM),
    ]
    assert (
        h.refunds[-1].reason
        == "paid for 2026-03, after the participant's formal_employee on 2025-12-10"
    )
    # nothing is held as credit, and every rupiah is accounted for.
    assert h.credits == () and h.refund_total == 4 * JKK_JKM
    assert sum(r.amount_paid for r in h.months) + h.refund_total == 7 * JKK_JKM


def test_rejoining_after_leaving_starts_a_new_membership_from_zero() -> None:
    # Given the regency paid Oct-Mar on 1 October, the worker withdrew on 20 November,
    # re-joined in February (taking a slot again), and withdrew again on 10 March,
    h = history(
        pay("SP2D-6", (OCT, NOV, DEC, JAN, FEB, MAR), date(2025, 10, 1)),
        leavings=(left(date(2026, 3, 10)), left(date(2025, 11, 20))),  # in any order
        rejoins=(FEB,),
        today=date(2026, 4, 20),
    )
    # then there are two memberships, each ended by its withdrawal,
    first, second = h.periods
    assert (first.end_month, first.ended_on, first.end_reason) == (
        NOV,
        date(2025, 11, 21),
        EndReason.WITHDRAWAL,
    )
    assert (second.number, second.start_month, second.end_month, second.ended_on) == (
        2,
        FEB,
        MAR,
        date(2026, 3, 11),
    )
    assert h.ineffective_rejoins == ()
    # the months between them are refunded, those of the second membership stay paid,
    assert [str(r.month) for r in h.refunds] == ["2025-12", "2026-01"]
    assert [str(r.month) for r in h.months] == ["2025-10", "2025-11", "2026-02", "2026-03"]
    # December and January are not covered, February is, and waiting periods restart.
    assert is_covered(h, date(2025, 12, 20)).reason is CoverageReason.NOT_A_MEMBER
    assert is_covered(h, date(2026, 2, 20)).period == 2
    assert membership_months(h, date(2026, 2, 20)) == 0
    assert not covered(h, date(2026, 3, 11))
    assert (h.arrears_months, h.lapses_on) == (0, None)


def test_rejoining_after_leaving_then_paying_goes_on_as_a_member() -> None:
    # Given the worker withdrew on 20 November and re-joined in January, paying January,
    h = history(
        ONLY_OCTOBER,
        pay("MANDIRI-1", (JAN,), date(2026, 1, 5), payer="worker"),
        leavings=(left(date(2025, 11, 20)),),
        rejoins=(JAN,),
        today=date(2026, 3, 20),
    )
    # then the new membership runs: February and March are in arrears, from January on only.
    assert h.current_period is not None and h.current_period.start_month == JAN
    assert h.arrears_months == 2 and h.lapses_on == date(2026, 5, 16)  # Feb-May unpaid
    assert statuses(h)["2025-11"] is MonthStatus.UNPAID


def test_leaving_after_the_membership_lapsed_changes_nothing() -> None:
    # Given only October paid, the membership lapsed on 17 February, March-April paid ahead,
    paid = (ONLY_OCTOBER, pay("AHEAD", (MAR, APR), date(2025, 10, 1)))
    lapsed = history(*paid, today=date(2026, 4, 20))
    # when the worker withdraws on 5 March,
    h = history(*paid, leavings=(left(date(2026, 3, 5)),), today=date(2026, 4, 20))
    # then the membership still ended on 17 February by the lapse, the money is still credit.
    assert h.periods == lapsed.periods and h.periods[0].end_reason is EndReason.LAPSED
    assert h.credits == lapsed.credits and h.refunds == ()


def test_a_leaving_is_not_a_cessation_and_a_death_not_a_leaving() -> None:
    with pytest.raises(ValueError, match="death or total disability"):
        history(cessation=left(date(2025, 11, 1)), today=date(2025, 12, 1))


MAY, JUN = Month(2026, 5), Month(2026, 6)


def held(facts: ContributionFacts) -> list[tuple[str, str | None]]:
    """`enrolment_periods` as (first month, last month or None while running)."""
    return [
        (str(p.start_month), None if p.end_month is None else str(p.end_month))
        for p in enrolment_periods(facts)
    ]


def test_slot_months_end_with_a_leaving_and_start_again_with_a_re_join() -> None:
    # Given a member from January who withdrew on 20 March and re-joined in June,
    facts = ContributionFacts(start=JAN, leavings=(left(date(2026, 3, 20)),), rejoins=(JUN,))
    # then they hold a slot January to March and again from June, not in April and May,
    assert held(facts) == [("2026-01", "2026-03"), ("2026-06", None)]
    first, second = enrolment_periods(facts)
    assert not any(p.has_month(m) for p in (first, second) for m in (APR, MAY))
    # as the months they are a member in by the coverage rules, all months paid.
    h = history(
        *(pay(f"M{m}", (m,), date(2025, 12, 1)) for m in month_range(JAN, JUN)),
        start=JAN, leavings=facts.leavings, rejoins=facts.rejoins, today=date(2026, 6, 20),
    )  # fmt: skip
    assert [(p.start_month, p.end_month) for p in h.periods] == [
        (first.start_month, first.end_month), (second.start_month, second.end_month)
    ]  # fmt: skip


def test_a_lapse_keeps_the_slot_a_death_and_a_same_month_re_join_do_not_give_one() -> None:
    # Given a member from October who never paid: the coverage rules end the membership,
    assert history(start=OCT, today=date(2026, 4, 20)).periods[0].end_reason is EndReason.LAPSED
    # but the slot stays theirs (nothing but a leaving, a death or disability gives it back);
    assert held(ContributionFacts(start=OCT)) == [("2025-10", None)]
    # a death ends it for good, whatever re-join follows;
    died = Cessation(kind=CessationKind.DEATH, on=date(2025, 12, 3))
    assert held(ContributionFacts(start=OCT, cessation=died, rejoins=(FEB,))) == [
        ("2025-10", "2025-12")
    ]
    # a re-join in the month of the leaving starts nothing, as in contribution_history.
    same_month = ContributionFacts(start=OCT, leavings=(left(date(2025, 12, 3)),), rejoins=(DEC,))
    assert held(same_month) == [("2025-10", "2025-12")]
    assert history(start=OCT, leavings=same_month.leavings, rejoins=(DEC,),
                   today=date(2026, 1, 5)).ineffective_rejoins == (DEC,)  # fmt: skip
    with pytest.raises(ValueError, match="a leaving cannot be a death"):
        history(leavings=(left(date(2025, 11, 1), CessationKind.DEATH),), today=date(2025, 12, 1))


# --- leaving before the membership starts ----------------------------------------------------

NEW_YEAR = date(2026, 1, 1)
"""The first day of budget year 2026: where a promotion from the waiting list in December
starts a membership."""
PAID_AHEAD = pay("SP2D-2026", (JAN, FEB, MAR), date(2025, 12, 15))


def left_before(
    on: date, starts: date, kind: CessationKind = CessationKind.FORMAL_EMPLOYEE
) -> Cessation:
    """A leaving on `on` of the membership that starts on `starts` (the ParticipantLeft
    says which: its enrolled_on)."""
    return Cessation(kind=kind, on=on, enrolled_on=starts)


JOB = left_before(date(2025, 12, 20), NEW_YEAR)
"""A formal job from 20 December, before the 2026 membership started."""


def test_leaving_before_the_membership_starts_cancels_it() -> None:
    # Given a worker promoted in December into budget year 2026 (a membership from 1 January),
    # whose January-March the regency paid ahead on 15 December, and April on 5 January,
    april = pay("SP2D-APR", (APR,), date(2026, 1, 5))
    # (up to the day they leave, that membership is theirs, ahead of them and paid),
    before = history(PAID_AHEAD, start=JAN, leavings=(JOB,), today=date(2025, 12, 19))
    assert [(p.start_month, p.ended_on) for p in before.periods] == [(JAN, None)]
    assert (before.refunds, before.cancelled) == ((), ())
    # when they take a formal job on 20 December, before it started,
    h = history(PAID_AHEAD, april, start=JAN, leavings=(JOB,), today=date(2026, 4, 20))
    # then the membership never runs: no period, no month due, no arrears, no lapse ahead,
    assert h.periods == () and h.cancelled == (JOB,) and h.current_period is None
    assert h.months == () and (h.arrears_months, h.arrears_amount, h.lapses_on) == (0, 0, None)
    # no day of it is covered,
    for day in (NEW_YEAR, date(2026, 2, 20), date(2026, 4, 16)):
        found = is_covered(h, day)
        assert not found.covered and found.reason is CoverageReason.NOT_A_MEMBER
        assert found.explanation == (
            "the membership from 2026-01-01 was cancelled before it started "
            "(formal_employee on 2025-12-20)"
        )
    # every month paid for it goes back to the regency, paid ahead or after the leaving,
    assert [(r.reference, r.payer, str(r.month), r.amount) for r in h.refunds] == [
        ("SP2D-2026", SPONSOR, "2026-01", JKK_JKM),
        ("SP2D-2026", SPONSOR, "2026-02", JKK_JKM),
        ("SP2D-2026", SPONSOR, "2026-03", JKK_JKM),
        ("SP2D-APR", SPONSOR, "2026-04", JKK_JKM),
    ]
    assert h.refunds[0].reason == (
        "paid for 2026-01, after the participant's formal_employee on 2025-12-20, "
        "before the membership from 2026-01-01 started"
    )
    assert h.credits == () and h.refund_total == 4 * JKK_JKM
    # and the slot is theirs for no month (the cohort's budget counts none).
    assert held(ContributionFacts(start=JAN, leavings=(JOB,))) == []


def test_a_leaving_the_day_before_a_mid_month_start_cancels_it_on_its_first_day_ends_it() -> None:
    # Given a cohort whose cover starts on 10 October, a worker enrolled before it, and
    # October paid by the regency on 1 October,
    starts = date(2025, 10, 10)
    paid = pay("SP2D-OCT", (OCT,), date(2025, 10, 1))
    # when they move away on 9 October, the day before it starts,
    gone = left_before(date(2025, 10, 9), starts, CessationKind.MOVED_AWAY)
    h = history(paid, leavings=(gone,), today=date(2025, 12, 1))
    # then October is not theirs, not even in part: nothing due, its money refunded;
    assert (h.periods, h.months, h.cancelled) == ((), (), (gone,))
    assert [(str(r.month), r.amount) for r in h.refunds] == [("2025-10", JKK_JKM)]
    # but moving away on the first day ends the membership as any leaving does.
    first_day = left_before(starts, starts, CessationKind.MOVED_AWAY)
    ended = history(paid, leavings=(first_day,), today=date(2025, 12, 1))
    (period,) = ended.periods
    assert (period.end_month, period.ended_on, ended.cancelled) == (OCT, date(2025, 10, 11), ())
    assert covered(ended, starts) and ended.refunds == ()


def test_after_leaving_before_the_start_a_re_join_starts_a_membership_from_zero() -> None:
    # Given the worker who took a formal job on 20 December, before their 2026 membership
    # started, re-joining in May and paying May themself,
    may = pay("MANDIRI-5", (MAY,), date(2026, 5, 4), payer="worker")
    h = history(
        PAID_AHEAD, may, start=JAN, rejoins=(MAY,), leavings=(JOB,), today=date(2026, 5, 20)
    )
    # then the re-join starts their only membership, in May, its months counted from zero,
    (period,) = h.periods
    assert (period.number, period.start_month, period.ended_on) == (1, MAY, None)
    assert h.current_period == period and h.ineffective_rejoins == ()
    assert membership_months(h, date(2026, 5, 20)) == 0
    assert covered(h, date(2026, 5, 20)) and not covered(h, date(2026, 2, 20))
    # what was paid for the cancelled membership is still refunded, and nothing is owed;
    assert [str(r.month) for r in h.refunds] == ["2026-01", "2026-02", "2026-03"]
    assert (h.arrears_months, h.credits) == (0, ())
    # the slot is theirs again from May.
    assert held(ContributionFacts(start=JAN, rejoins=(MAY,), leavings=(JOB,))) == [
        ("2026-05", None)
    ]


def test_leaving_before_a_re_join_starts_cancels_that_membership_only() -> None:
    # Given a member from October who withdrew on 20 November, re-joined the full cohort and
    # was promoted into 2026 (from 1 January), the regency having paid Oct-Mar on 1 October,
    paid = pay("SP2D-6", (OCT, NOV, DEC, JAN, FEB, MAR), date(2025, 10, 1))
    withdrew = left(date(2025, 11, 20))
    moved = left_before(date(2025, 12, 15), NEW_YEAR, CessationKind.MOVED_AWAY)
    # when they move away on 15 December, before the new membership started,
    h = history(paid, rejoins=(JAN,), leavings=(withdrew, moved), today=date(2026, 4, 20))
    # then the first membership stays as the withdrawal ended it, the second never runs,
    (period,) = h.periods
    assert (period.end_month, period.end_reason) == (NOV, EndReason.WITHDRAWAL)
    assert h.cancelled == (moved,) and h.current_period is None
    assert held(ContributionFacts(start=OCT, rejoins=(JAN,), leavings=(withdrew, moved))) == [
        ("2025-10", "2025-11")
    ]
    # December goes back after the withdrawal, January to March as the cancelled membership's,
    assert [(str(r.month), r.reason.split(", ")[1]) for r in h.refunds] == [
        ("2025-12", "after the participant's withdrawal on 2025-11-20"),
        ("2026-01", "after the participant's moved_away on 2025-12-15"),
        ("2026-02", "after the participant's moved_away on 2025-12-15"),
        ("2026-03", "after the participant's moved_away on 2025-12-15"),
    ]
    assert not covered(h, date(2026, 1, 20)) and h.arrears_months == 0
    # A leaving that does not say which membership it left (recorded before leavings said
    # it) is read by its date alone: after the withdrawal it ends nothing, the re-join runs.
    undated = Cessation(kind=CessationKind.MOVED_AWAY, on=date(2025, 12, 15))
    old = history(paid, rejoins=(JAN,), leavings=(withdrew, undated), today=date(2026, 4, 20))
    assert [(p.start_month, p.end_month) for p in old.periods] == [(OCT, NOV), (JAN, None)]
    assert old.cancelled == ()


def test_a_death_before_the_membership_starts_cancels_it_too() -> None:
    # Given a worker enrolled into 2026 whose January-March were paid ahead, who died on
    # 28 December, before it started,
    died = Cessation(kind=CessationKind.DEATH, on=date(2025, 12, 28), enrolled_on=NEW_YEAR)
    h = history(PAID_AHEAD, start=JAN, cessation=died, today=date(2026, 2, 1))
    # then they were never a member (no JKM claim is covered) and the months are refunded.
    assert (h.periods, h.cancelled, h.cessation) == ((), (died,), died)
    assert not covered(h, date(2025, 12, 28)) and h.refund_total == 3 * JKK_JKM


@pytest.mark.parametrize(
    ("day", "months"),
    [
        (date(2025, 10, 1), 0),
        (date(2025, 12, 20), 2),  # under 3 months: JKM pays only the funeral benefit
        (date(2026, 1, 1), 3),
        (date(2026, 9, 30), 11),
    ],
)
def test_membership_months_for_waiting_periods(day: date, months: int) -> None:
    paid = pay("Y", tuple(OCT + i for i in range(12)), date(2025, 10, 1))
    h = history(paid, today=date(2026, 9, 30))
    assert membership_months(h, day) == months
    assert paid_months(h, day) == months + 1  # the month of `day` is paid too


def test_payments_after_today_are_not_yet_known() -> None:
    h = history(pay("FUTURE", (OCT,), date(2025, 10, 10)), today=date(2025, 10, 9))
    assert h.month(OCT).status is MonthStatus.NOT_YET_DUE  # type: ignore[union-attr]
    assert not covered(h, date(2025, 10, 5))


def test_months_before_membership_cannot_be_paid() -> None:
    h = history(pay("EARLY", (Month(2025, 9), OCT), date(2025, 9, 1)), today=date(2025, 10, 31))
    assert [c.reason for c in h.credits] == ["2025-09 is before membership started (2025-10)"]
    assert h.month(OCT).status is MonthStatus.PAID_ON_TIME  # type: ignore[union-attr]


def test_due_dates_come_from_the_calendar_passed() -> None:
    # 15 Feb 2026 is a Sunday. By default the due date is Mon 16 Feb (joint leave for Imlek is a
    # working day); with joint leave off it is Wed 18 Feb (16 joint leave, 17 Imlek).
    paid = pay("FEB", (OCT, NOV, DEC, JAN, FEB), date(2025, 10, 1))
    facts = ContributionFacts(start=OCT, payments=(paid,))
    default = contribution_history(facts, today=date(2026, 2, 28), amount_due=JKK_JKM)
    joint_leave_off = contribution_history(
        facts,
        today=date(2026, 2, 28),
        amount_due=JKK_JKM,
        calendar=BusinessCalendar(joint_leave_off=True),
    )
    assert default.month(FEB).due_on == date(2026, 2, 16)  # type: ignore[union-attr]
    assert joint_leave_off.month(FEB).due_on == date(2026, 2, 18)  # type: ignore[union-attr]


def test_a_payment_recorded_late_evening_wib_counts_on_its_wib_date() -> None:
    # 23:30 WIB on 15 Oct is 16:30 UTC on 15 Oct: on time. 00:30 WIB on 16 Oct is 15 Oct UTC.
    on_time = history(pay("N", (OCT,), date(2025, 10, 15), hour=23), today=date(2025, 10, 31))
    late = history(pay("L", (OCT,), date(2025, 10, 16), hour=0), today=date(2025, 10, 31))
    assert on_time.month(OCT).status is MonthStatus.PAID_ON_TIME  # type: ignore[union-attr]
    assert late.month(OCT).status is MonthStatus.PAID_LATE  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("payment", "error", "match"),
    [
        (pay("Z", (OCT,), date(2025, 10, 1), 0), ValueError, "Z: amount must be positive"),
        (pay("E", (), date(2025, 10, 1), 100), ValueError, "E names no months"),
        (
            Payment(
                reference="N",
                payer="p",
                months=(OCT,),
                paid_at=datetime(2025, 10, 1),
                amount=JKK_JKM,
            ),
            ValueError,
            "has no time zone",
        ),
    ],
)
def test_malformed_payments_are_refused_naming_the_payment(
    payment: Payment, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        history(payment, today=date(2025, 10, 31))


# --- the real calendar and rate table -----------------------------------------------------------


def kepahiang_block_payment(today: date) -> ContributionHistory:
    """Membership from October 2025 at the minimum income with JKK + JKM; the regency pays
    October-December 2025 in one block on 10 October 2025. Due dates from `calendar.due_date`
    (the default calendar), amounts from `rates.contribution_due`: no stand-ins."""

    def amount_due(month: Month) -> int:
        return contribution_due(MIN_DECLARED_INCOME, [Programme.JKK, Programme.JKM], month).total

    block = Payment(
        reference="APBD-2025-10",
        payer=SPONSOR,
        months=(OCT, NOV, DEC),
        paid_at=datetime(2025, 10, 10, 10, tzinfo=JAKARTA),
        amount=3 * 16_800,
    )
    facts = ContributionFacts(start=OCT, payments=(block,))
    return contribution_history(
        facts, today=today, amount_due=amount_due, calendar=DEFAULT_CALENDAR
    )


def test_worked_example_with_the_real_calendar_and_rate_table() -> None:
    h = kepahiang_block_payment(today=date(2026, 2, 20))
    paid = date(2025, 10, 10)
    assert [
        (str(r.month), r.due_on, r.amount_due, r.amount_paid, r.status, r.paid_on) for r in h.months
    ] == [
        ("2025-10", date(2025, 10, 15), 16_800, 16_800, MonthStatus.PAID_ON_TIME, paid),
        # 15 November 2025 is a Saturday: due on Monday 17 November.
        ("2025-11", date(2025, 11, 17), 16_800, 16_800, MonthStatus.PAID_ON_TIME, paid),
        ("2025-12", date(2025, 12, 15), 16_800, 16_800, MonthStatus.PAID_ON_TIME, paid),
        ("2026-01", date(2026, 1, 15), 16_800, 0, MonthStatus.IN_ARREARS, None),
        # 15 February 2026 is a Sunday: due on Monday 16 February (joint leave, a working day).
        ("2026-02", date(2026, 2, 16), 16_800, 0, MonthStatus.IN_ARREARS, None),
    ]
    assert [r.month for r in h.months] == list(month_range(OCT, FEB))
    assert all(r.due_on == due_date(r.month) for r in h.months)
    assert (h.arrears_months, h.arrears_amount, h.credit_total) == (2, 33_600, 0)

    coverage = {day: is_covered(h, day) for day in h.months[0].month.days()}
    # Paid by its due date, October is covered from its first day, before the payment too.
    assert all(c.covered and c.reason is CoverageReason.PAID_ON_TIME for c in coverage.values())
    assert is_covered(h, date(2025, 10, 1)).payment_reference == "APBD-2025-10"
    assert is_covered(h, date(2025, 12, 31)).covered
    assert not is_covered(h, date(2025, 9, 30)).covered  # before membership
    assert is_covered(h, date(2025, 9, 30)).reason is CoverageReason.NOT_A_MEMBER
    january = is_covered(h, date(2026, 1, 1))
    assert (january.covered, january.reason) == (False, CoverageReason.MONTH_UNPAID)

    # January to April unpaid: membership ends the day after due(April 2026) = Wed 15 April.
    assert h.lapses_on == date(2026, 4, 16)
    assert h.current_period is not None


def test_worked_example_lapses_on_the_day_it_said() -> None:
    before = kepahiang_block_payment(today=date(2026, 4, 15))
    assert before.lapses_on == date(2026, 4, 16) and before.current_period is not None
    assert before.month(APR).status is MonthStatus.NOT_YET_DUE  # type: ignore[union-attr]

    after = kepahiang_block_payment(today=date(2026, 4, 16))
    [period] = after.periods
    assert (period.end_month, period.ended_on, period.end_reason) == (
        APR,
        date(2026, 4, 16),
        EndReason.LAPSED,
    )
    assert after.lapses_on is None and after.current_period is None
    assert {r.status for r in after.months if r.month >= JAN} == {MonthStatus.UNPAID}
    assert is_covered(after, date(2026, 4, 15)).reason is CoverageReason.MONTH_UNPAID
    assert is_covered(after, date(2026, 4, 16)).reason is CoverageReason.NOT_A_MEMBER
    assert is_covered(after, date(2025, 11, 20)).covered  # paid months stay covered


# --- properties ---------------------------------------------------------------------------------

START = Month(2025, 1)
HORIZON = 30  # months of history generated


def _amount(draw: st.DrawFn, months: int) -> int:
    adjust = draw(st.sampled_from([0, 0, 0, 0, -JKK_JKM, -5_000, 5_000, JKK_JKM]))
    return max(1, JKK_JKM * months + adjust)


@st.composite
def payments(draw: st.DrawFn, reference: str) -> Payment:
    """A payment for 1-6 consecutive months, at any time in the horizon."""
    first = START + draw(st.integers(-2, HORIZON))
    length = draw(st.integers(1, 6))
    paid_on = START.first_day + timedelta(days=draw(st.integers(-40, HORIZON * 31)))
    return Payment(
        reference=reference,
        payer=draw(st.sampled_from([SPONSOR, "worker"])),
        months=tuple(first + i for i in range(length)),
        paid_at=at(paid_on, draw(st.integers(0, 23))),
        amount=_amount(draw, length),
        reversed=draw(st.integers(0, 7)) == 0,
    )


@st.composite
def schedule(draw: st.DrawFn) -> list[Payment]:
    """Blocks of months in order, paid around their due dates, with gaps now and then."""
    drawn: list[Payment] = []
    month = START + draw(st.sampled_from([0, 0, 1, 4]))
    while month < START + HORIZON and len(drawn) < 12:
        length = draw(st.sampled_from([1, 1, 3, 6, 12]))
        paid_on = due_date(month) + timedelta(days=draw(st.integers(-45, 40)))
        drawn.append(
            Payment(
                reference=f"S{len(drawn)}",
                payer=draw(st.sampled_from([SPONSOR, "worker"])),
                months=tuple(month + i for i in range(length)),
                paid_at=at(paid_on, draw(st.integers(0, 23))),
                amount=_amount(draw, length),
                reversed=draw(st.integers(0, 9)) == 0,
            )
        )
        month += length + draw(st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5]))
    return drawn


@st.composite
def facts(draw: st.DrawFn) -> tuple[ContributionFacts, date]:
    drawn = draw(schedule()) if draw(st.integers(0, 3)) else []
    drawn += [draw(payments(f"P{i}")) for i in range(draw(st.integers(0, 4)))]
    cessation = None
    if draw(st.integers(0, 4)) == 0:
        on = START.first_day + timedelta(days=draw(st.integers(0, HORIZON * 31)))
        cessation = Cessation(kind=draw(st.sampled_from(FINAL)), on=on)
    leavings = tuple(
        Cessation(
            kind=draw(st.sampled_from(LEAVING)),
            on=START.first_day + timedelta(days=draw(st.integers(0, HORIZON * 31))),
        )
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2])))
    )
    today = START.first_day + timedelta(days=draw(st.integers(0, HORIZON * 31)))
    found = ContributionFacts(
        start=START, payments=tuple(drawn), cessation=cessation, leavings=leavings
    )
    return found, today


FINAL = [kind for kind in CessationKind if kind.final]
LEAVING = [kind for kind in CessationKind if not kind.final]


def rate(month: Month) -> int:
    return JKK_JKM if month.year < 2026 else 20_000


def fold(f: ContributionFacts, today: date) -> ContributionHistory:
    return contribution_history(f, today=today, amount_due=rate)


def days_to_check(today: date) -> list[date]:
    first = START.first_day - timedelta(days=5)
    return [first + timedelta(days=n) for n in range((today - first).days + 62)]


def covered_days(h: ContributionHistory, days: list[date]) -> set[date]:
    return {day for day in days if is_covered(h, day).covered}


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(facts())
def test_coverage_never_includes_a_day_of_an_unpaid_month(case: tuple) -> None:
    f, today = case
    h = fold(f, today)
    for day in days_to_check(today):
        coverage = is_covered(h, day)
        if not coverage.covered:
            continue
        record = h.month(Month.of(day))
        assert record is not None and record.paid_on is not None, coverage
        assert record.amount_paid == record.amount_due
        assert record.status in (MonthStatus.PAID_ON_TIME, MonthStatus.PAID_LATE)
        assert record.paid_on <= record.due_on or record.paid_on < day
        assert period_on(h, day) is not None


@PROPERTY
@given(facts(), st.data())
def test_a_reversal_never_increases_coverage(case: tuple, data: st.DataObject) -> None:
    f, today = case
    live = [i for i, p in enumerate(f.payments) if not p.reversed]
    if not live:
        return
    i = data.draw(st.sampled_from(live))
    reversal = msgspec.structs.replace(f.payments[i], reversed=True)
    after = msgspec.structs.replace(f, payments=(*f.payments, reversal))
    days = days_to_check(today)
    assert covered_days(fold(after, today), days) <= covered_days(fold(f, today), days)


@PROPERTY
@given(facts(), payments("NEW"))
def test_adding_a_payment_never_removes_coverage(case: tuple, extra: Payment) -> None:
    f, today = case
    before = fold(f, today)
    more = msgspec.structs.replace(f, payments=(*f.payments, extra))
    after = fold(more, today)
    days = days_to_check(today)
    # Stronger than "of an earlier-paid month": no covered day at all is lost.
    assert covered_days(before, days) <= covered_days(after, days)
    for record in before.months:
        if record.paid_on is not None and record.period == 1:
            again = after.month(record.month)
            assert again is not None and again.paid_on is not None
            assert again.paid_on <= record.paid_on


@PROPERTY
@given(facts())
def test_membership_ends_only_after_more_than_three_consecutive_unpaid_months(
    case: tuple,
) -> None:
    f, today = case
    h = fold(f, today)
    paid_on = {r.month: r.paid_on for r in h.months}
    for period in h.periods:
        months = [r.month for r in h.months if r.period == period.number]
        checked_until = today - timedelta(days=1)
        if period.ended_on is not None:
            checked_until = min(checked_until, period.ended_on - timedelta(days=2))
        # Every check of four consecutive months while the membership was on found one paid.
        for k in months:
            if period.start_month.months_until(k) < 3 or due_date(k) > checked_until:
                continue
            window = [k + -back for back in range(4)]
            assert any(paid_on[m] is not None and paid_on[m] <= due_date(k) for m in window), k
        if period.end_reason is EndReason.LAPSED:
            k = period.end_month
            assert k is not None and period.start_month.months_until(k) >= 3
            assert period.ended_on == due_date(k) + timedelta(days=1) <= today
            assert all(paid_on[k + -back] is None for back in range(4))
        elif period.end_reason is not None:
            causes = [c for c in (f.cessation, *f.leavings) if c and c.kind == period.end_reason]
            assert any(period.ended_on == c.on + timedelta(1) for c in causes), period


@st.composite
def comings_and_goings(draw: st.DrawFn) -> tuple[ContributionFacts, date]:
    """`facts` with at least one leaving, and re-joins: leaving, coming back, leaving again;
    and now and then a leaving before the membership it left started (an enrolment into a
    later start: the cohort's coverage start, or the next budget year)."""
    f, today = draw(facts())
    on = START.first_day + timedelta(days=draw(st.integers(0, (today - START.first_day).days)))
    leavings = (*f.leavings, Cessation(kind=draw(st.sampled_from(LEAVING)), on=on))
    rejoins = tuple(START + draw(st.integers(1, HORIZON)) for _ in range(draw(st.integers(0, 3))))
    if draw(st.booleans()):
        month = draw(st.sampled_from([START, *rejoins]))
        starts = month.first_day + timedelta(days=draw(st.integers(0, 20)))
        early = starts - timedelta(days=draw(st.integers(1, 90)))
        kind = draw(st.sampled_from(LEAVING))
        leavings += (Cessation(kind=kind, on=early, enrolled_on=starts),)
    return msgspec.structs.replace(f, leavings=leavings, rejoins=rejoins), today


@PROPERTY
@given(comings_and_goings())
def test_after_leaving_nothing_is_owed_or_covered_until_a_new_membership(case: tuple) -> None:
    """Whatever the payments, leavings and re-joins: a membership that a leaving ended is not
    in arrears and covers no day after it, a re-join starts from zero, and every rupiah of
    the known payments is in a month, held as credit or refunded."""
    f, today = case
    h = fold(f, today)
    for cancelled in h.cancelled:  # a membership cancelled before it started has no month
        assert cancelled.before_start and cancelled.on <= today
        first = Month.of(cancelled.enrolled_on)  # type: ignore[arg-type]
        if not any(p.has_month(first) for p in h.periods):
            assert h.month(first) is None and not covered(h, first.first_day)
    for period in h.periods:
        if period.number > 1:
            assert membership_months(h, period.starts_on) == 0
        if period.end_reason in (None, EndReason.LAPSED):
            continue
        assert period.ended_on is not None
        records = [r for r in h.months if r.period == period.number]
        assert all(r.month <= period.end_month for r in records)  # type: ignore[operator]
        if period.ended_on <= today:
            assert all(r.status is not MonthStatus.IN_ARREARS for r in records)
        later = [p.starts_on for p in h.periods if p.number > period.number]
        for day in (period.ended_on, period.ended_on + timedelta(days=20)):
            if not later or day < later[0]:
                assert not covered(h, day), (period, day)
    first: dict[str, Payment] = {}
    for payment in f.payments:
        first.setdefault(payment.reference, payment)
    reversed_refs = {p.reference for p in f.payments if p.reversed}
    known = sum(
        p.amount
        for p in first.values()
        if p.reference not in reversed_refs and business_date(p.paid_at) <= today
    )
    assert sum(r.amount_paid for r in h.months) + h.credit_total + h.refund_total == known


@PROPERTY
@given(comings_and_goings())
def test_slot_months_are_the_membership_months_when_nothing_lapses(case: tuple) -> None:
    """With every month paid ahead (nothing can lapse), `enrolment_periods` makes the
    memberships `contribution_history` makes from the same enrolments, leavings and death.
    (Not a death dated before a re-join: the write side takes no re-join after a death, nor
    a death dated before the enrolment it ends.)"""
    f, _ = case
    if f.cessation is not None and any(r.first_day > f.cessation.on for r in f.rejoins):
        f = msgspec.structs.replace(f, cessation=None)
    today = (START + HORIZON + 2).first_day  # after every leaving, death and re-join drawn
    paid = tuple(
        Payment(reference=f"M{m}", payer=SPONSOR, months=(m,), amount=rate(m),
                paid_at=at(START.first_day - timedelta(days=60)))
        for m in month_range(START, Month.of(today))
    )  # fmt: skip
    h = fold(msgspec.structs.replace(f, payments=paid), today)
    assert all(p.end_reason is not EndReason.LAPSED for p in h.periods)
    assert enrolment_periods(f) == h.periods
