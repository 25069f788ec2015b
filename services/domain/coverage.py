"""Contributions, membership periods and coverage, derived from a participant's payment history.

Pure and I/O-free: the facts come in as plain Structs (`ContributionFacts`), the due dates from a
`calendar.BusinessCalendar` (by default `calendar.DEFAULT_CALENDAR`: the 15th, or the next
working day), the rate table as `amount_due(month) -> int`, and the evaluation date as `today`.
`contribution_history` folds the facts into a `ContributionHistory`; `is_covered(history, day)`
answers "was the participant covered on day D?" with the reason.

Modelling choices (domain.md "Contributions" and "Coverage (policy)"):

- A month is a `calendar.Month(year, month)` Struct (ordered, hashable). Business dates are WIB
  (Asia/Jakarta, UTC+7); payment instants must be timezone-aware and are read as their WIB date
  (`calendar.business_date`). A payment recorded on the due date is on time.
- Payments are deduplicated by `reference` (the first occurrence wins; a reference is reversed
  when any occurrence is). Reversed payments count as never paid. Payments whose WIB date is after
  `today`, and a death or disability after `today`, are not yet known and are ignored.
- Money is applied in payment order (WIB date, instant, reference). Within a payment it goes to
  the named months in calendar order, each taking what it still owes; a month that cannot take
  money is skipped (not a member then, membership ended, or its arrears window closed). What is
  left is held as credit (policy `overpayment="hold_as_credit"`; or listed as a refund). An
  under-payment therefore fills the earliest named months and leaves the last one short.
- A month is paid at the instant of the payment that completes it. Arrears are payable up to and
  including the due date of the month `arrears_limit_months` later (3: month M until due(M+3)).
- Membership ends (lapses) when, at the end of due(K), months K-3..K of the current period are all
  unpaid: it ended on due(K) + 1 day, its last month is K. A death or total permanent disability on
  day X ends it on X + 1 day (last month: X's month); contributions applied to months after X's
  month are refunded to whoever paid them.
- Leaving the programme on day X (withdrawal, moving away, becoming a formal employee: the
  `leavings`) ends a running membership the same way: on X + 1 day, last month X's month. Day X
  is still covered if its month was paid; X's month is the last one due (unpaid, it is no longer
  in arrears: nothing is owed for a membership that has ended), no later month is due. Money
  applied to a month after X's month that no later membership takes (paid in advance before
  leaving, or paid after it) is refunded to whoever paid it, as after a death (a `Refund` naming
  the month). Unlike a death, leaving can be followed by a re-join. A leaving after the
  membership already lapsed changes nothing.
- An enrolment can start in the future (registered before the cohort's coverage start, or
  promoted from the waiting list into the next budget year). Leaving (or a death) dated before
  the membership it ends has started (`Cessation.enrolled_on`, that enrolment's first day)
  cancels that membership: it makes no period (`ContributionHistory.cancelled` lists it), no
  month of it is due or covered, and money applied to its months that no other membership
  takes is refunded to whoever paid it, as after leaving. It ends no other membership; a later
  re-join starts a new one as usual. A leaving that does not say which membership it ends is
  read by its date alone.
- Re-joining is a fact (`rejoins`: the first month of each new membership). It starts a new period,
  with month counts (waiting periods) from zero, when the previous period has lapsed or was left
  by the first day of that month; otherwise it has no effect and is listed in
  `ineffective_rejoins`. Money paid for months in no period after a lapse is held as credit.
- Coverage (policy): a day is covered when it lies in a membership period and its month's
  contribution was complete by the due date, or on a date before that day. A late payment does not
  cover the days while the month was unpaid, nor the day it was paid.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Literal

import msgspec

from services.domain.calendar import (
    DEFAULT_CALENDAR,
    BusinessCalendar,
    Month,
    business_date,
)
from services.domain.money import rupiah

# --- facts -------------------------------------------------------------------------------------


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    """A contribution payment: who paid how much for which months, and when it was paid."""

    reference: str
    payer: str
    months: tuple[Month, ...]
    paid_at: datetime
    amount: int
    reversed: bool = False


class CessationKind(StrEnum):
    """What ended a membership on a day. The leaving kinds are the reasons of ParticipantLeft
    (services/participants.py LEAVING_REASONS) other than death."""

    DEATH = "death"
    TOTAL_DISABILITY = "total_disability"
    WITHDRAWAL = "withdrawal"
    MOVED_AWAY = "moved_away"
    FORMAL_EMPLOYEE = "formal_employee"

    @property
    def final(self) -> bool:
        """Death or total disability ends membership for good; leaving (any other kind) frees
        the slot, and a re-join may start a new membership."""
        return self in (CessationKind.DEATH, CessationKind.TOTAL_DISABILITY)


class Cessation(msgspec.Struct, frozen=True, kw_only=True):
    """Membership ends on the day after `on`; months after `on`'s month are refunded.
    Death or total permanent disability (`ContributionFacts.cessation`), or leaving the
    programme (`ContributionFacts.leavings`)."""

    kind: CessationKind
    on: date
    enrolled_on: date | None = None
    """The first day of the membership it ends (that enrolment's `enrolled_on`), when known:
    dated before it, it cancels that membership (`before_start`)."""

    @property
    def before_start(self) -> bool:
        """Dated before the membership it ends started: that membership never runs."""
        return self.enrolled_on is not None and self.on < self.enrolled_on


class ContributionFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What is known about one participant's contributions."""

    start: Month
    payments: tuple[Payment, ...] = ()
    rejoins: tuple[Month, ...] = ()
    cessation: Cessation | None = None
    """Death or total disability (a final kind)."""
    leavings: tuple[Cessation, ...] = ()
    """Each time the participant left the programme (leaving kinds), in any order."""


class CoverageRules(msgspec.Struct, frozen=True, kw_only=True):
    """The policy readings behind this module, as one named, versioned setting."""

    version: str = "coverage/2025.1"
    arrears_limit_months: int = 3
    """Arrears payable for at most this many months; one more unpaid month ends the membership."""
    overpayment: Literal["hold_as_credit", "refund"] = "hold_as_credit"
    """Money a payment cannot apply: held as credit (default) or listed as a refund."""
    late_payment_covers_unpaid_days: bool = False
    """When true, a late payment also covers the days while its month was unpaid."""


DEFAULT_COVERAGE_RULES = CoverageRules()


# --- derived -----------------------------------------------------------------------------------


class EndReason(StrEnum):
    LAPSED = "lapsed"
    DEATH = "death"
    TOTAL_DISABILITY = "total_disability"
    WITHDRAWAL = "withdrawal"
    MOVED_AWAY = "moved_away"
    FORMAL_EMPLOYEE = "formal_employee"


class MembershipPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """One membership: from the first day of `start_month` to the day before `ended_on`."""

    number: int
    start_month: Month
    starts_on: date
    end_month: Month | None = None
    ended_on: date | None = None
    """The first day no longer a member (None: still a member)."""
    end_reason: EndReason | None = None

    def includes(self, day: date) -> bool:
        return self.starts_on <= day and (self.ended_on is None or day < self.ended_on)

    def has_month(self, month: Month) -> bool:
        return self.start_month <= month and (self.end_month is None or month <= self.end_month)


class MonthStatus(StrEnum):
    PAID_ON_TIME = "paid_on_time"
    PAID_LATE = "paid_late"
    NOT_YET_DUE = "not_yet_due"
    IN_ARREARS = "in_arrears"
    """Past its due date, not (fully) paid, still payable."""
    UNPAID = "unpaid"
    """Not (fully) paid and no longer payable: arrears window closed or membership ended."""


class Allocation(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    payer: str
    amount: int
    paid_at: datetime


class MonthRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One contribution month of a membership period, as of the history's `as_of` date."""

    month: Month
    period: int
    due_on: date
    amount_due: int
    amount_paid: int
    status: MonthStatus
    paid_on: date | None = None
    """WIB date of the payment that completed the month."""
    paid_at: datetime | None = None
    paid_by: str | None = None
    """Reference of the payment that completed the month."""
    allocations: tuple[Allocation, ...] = ()

    @property
    def shortfall(self) -> int:
        return self.amount_due - self.amount_paid


class Credit(msgspec.Struct, frozen=True, kw_only=True):
    """Money of a payment that no month took: held for the payer."""

    reference: str
    payer: str
    amount: int
    reason: str


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    """Money owed back to a payer: months after a death, a disability or leaving (or policy
    over-payment)."""

    reference: str
    payer: str
    amount: int
    reason: str
    month: Month | None = None


class ContributionHistory(msgspec.Struct, frozen=True, kw_only=True):
    as_of: date
    rules: CoverageRules
    periods: tuple[MembershipPeriod, ...]
    months: tuple[MonthRecord, ...]
    arrears_months: int
    arrears_amount: int
    credits: tuple[Credit, ...] = ()
    refunds: tuple[Refund, ...] = ()
    lapses_on: date | None = None
    """If nothing more is paid, the current membership ends on this day (None: not active)."""
    ineffective_rejoins: tuple[Month, ...] = ()
    cessation: Cessation | None = None
    leavings: tuple[Cessation, ...] = ()
    """The leavings known as of `as_of`, in date order."""
    cancelled: tuple[Cessation, ...] = ()
    """The leavings (or the death) known as of `as_of` that came before the membership they
    end started: each cancelled that membership, which is in no period."""

    @property
    def credit_total(self) -> int:
        return sum(credit.amount for credit in self.credits)

    @property
    def refund_total(self) -> int:
        return sum(refund.amount for refund in self.refunds)

    @property
    def current_period(self) -> MembershipPeriod | None:
        """The last period if it has not ended (None too when every membership was
        cancelled before it started)."""
        last = self.periods[-1] if self.periods else None
        return last if last is not None and last.ended_on is None else None

    def month(self, month: Month) -> MonthRecord | None:
        for record in self.months:
            if record.month == month:
                return record
        return None


class CoverageReason(StrEnum):
    PAID_ON_TIME = "paid_on_time"
    PAID_BEFORE_DAY = "paid_before_day"
    LATE_PAYMENT_COVERS = "late_payment_covers"
    NOT_A_MEMBER = "not_a_member"
    MONTH_UNPAID = "month_unpaid"
    PAID_AFTER_DAY = "paid_after_day"


class Coverage(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to "was the participant covered on `day`?", with the reason."""

    day: date
    covered: bool
    reason: CoverageReason
    explanation: str
    month: Month
    period: int | None = None
    payment_reference: str | None = None
    paid_on: date | None = None
    rules_version: str = ""


# --- the fold ----------------------------------------------------------------------------------


class _Period:
    __slots__ = ("cause", "end_month", "end_reason", "ended_on", "number", "start_month")

    def __init__(self, number: int, start_month: Month) -> None:
        self.number = number
        self.start_month = start_month
        self.end_month: Month | None = None
        self.ended_on: date | None = None
        self.end_reason: EndReason | None = None
        self.cause: Cessation | None = None
        """The death, disability or leaving that ended it (None: lapsed or running)."""

    def has_month(self, month: Month) -> bool:
        return self.start_month <= month and (self.end_month is None or month <= self.end_month)

    def end(self, month: Month, ended_on: date, reason: EndReason) -> None:
        self.end_month, self.ended_on, self.end_reason = month, ended_on, reason

    def cease(self, cause: Cessation) -> None:
        """Ended by `cause`: the day after it is the first day no longer a member."""
        self.end(Month.of(cause.on), cause.on + timedelta(days=1), EndReason(cause.kind.value))
        self.cause = cause

    def ends_before(self, month: Month) -> bool:
        """Whether a re-join in `month` starts a new membership after this one: it lapsed or
        was left (not ended by a death or disability) by the first day of `month`."""
        left = self.cause is not None and not self.cause.kind.final
        return (
            (self.end_reason is EndReason.LAPSED or left)
            and self.end_month is not None
            and month > self.end_month
            and self.ended_on is not None
            and self.ended_on <= month.first_day
        )

    def freeze(self) -> MembershipPeriod:
        return MembershipPeriod(
            number=self.number,
            start_month=self.start_month,
            starts_on=self.start_month.first_day,
            end_month=self.end_month,
            ended_on=self.ended_on,
            end_reason=self.end_reason,
        )


class _Fold:
    """Replays payments, due dates, re-joins, leavings and a cessation in date order."""

    def __init__(
        self,
        facts: ContributionFacts,
        today: date,
        calendar: BusinessCalendar,
        amount_due: Callable[[Month], int],
        rules: CoverageRules,
    ) -> None:
        if rules.arrears_limit_months < 0:
            raise ValueError(f"arrears_limit_months must be >= 0, got {rules.arrears_limit_months}")
        self.facts, self.today, self.rules = facts, today, rules
        self._calendar, self._amount_due = calendar, amount_due
        self._due_dates: dict[Month, date] = {}
        self._amounts: dict[Month, int] = {}
        if facts.cessation is not None and not facts.cessation.kind.final:
            raise ValueError(
                f"cessation must be a death or total disability, got {facts.cessation.kind} "
                "(leaving the programme is one of the leavings)"
            )
        for leaving in facts.leavings:
            if leaving.kind.final:
                raise ValueError(f"a leaving cannot be a {leaving.kind} (that is the cessation)")
        known = facts.cessation is not None and facts.cessation.on <= today
        self.cessation = facts.cessation if known else None
        self.leavings = sorted((c for c in facts.leavings if c.on <= today), key=lambda c: c.on)
        self.cease_month = Month.of(self.cessation.on) if self.cessation else None
        ends = [*self.leavings, *((self.cessation,) if self.cessation else ())]
        starts, self.cancelled = _starts_and_cancellations(facts, ends)
        self.periods = [_Period(1, starts[0])] if starts else []
        self.pending_rejoins = sorted(set(starts[1:]))
        self.ineffective: list[Month] = []
        self.paid: dict[Month, int] = {}
        self.allocations: dict[Month, list[Allocation]] = {}
        self.completed: dict[Month, tuple[date, datetime, str]] = {}
        self.refund_paid: dict[Month, int] = {}
        self.credits: list[Credit] = []
        self.refunds: list[Refund] = []

    # rates and calendar, each asked once per month
    def due_on(self, month: Month) -> date:
        found = self._due_dates.get(month)
        if found is None:
            if type(self._calendar) is BusinessCalendar:  # a pure function of its fields
                found = _due_date(self._calendar, month)
            else:  # a stand-in may answer differently: ask it
                found = self._calendar.due_date(month)
            self._due_dates[month] = found
        return found

    def due_amount(self, month: Month) -> int:
        if month not in self._amounts:
            amount = self._amount_due(month)
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValueError(f"amount due for {month} must be a positive int, got {amount!r}")
            self._amounts[month] = amount
        return self._amounts[month]

    def run(self) -> None:
        events: list[tuple[tuple[object, ...], Callable[[], None]]] = []
        for payment, day in _effective_payments(self.facts.payments, self.today):
            key = (day, 1, payment.paid_at, payment.reference)
            events.append((key, lambda p=payment, d=day: self.apply(p, d)))
        for rejoin in self.pending_rejoins:
            key = (rejoin.first_day, 0, rejoin.index)
            events.append((key, lambda r=rejoin: self.rejoin(r)))
        if self.cessation is not None:
            events.append(((self.cessation.on, 2), self.cease))
        for leaving in _replayed(self.leavings, self.cancelled):
            events.append(((leaving.on, 2), lambda c=leaving: self.leave(c)))
        first = self.periods[0].start_month if self.periods else None  # none: nothing lapses
        for month in _months(first, Month.of(self.today)) if first is not None else ():
            due_on = self.due_on(month)
            if due_on < self.today:
                events.append(((due_on, 3, month.index), lambda k=month: self.check(k)))
        events.sort(key=lambda event: event[0])
        for _, handle in events:
            handle()
        for rejoin in list(self.pending_rejoins):  # starting after today, as known today
            self.rejoin(rejoin)
        self.release_months_outside_periods()

    def period_of(self, month: Month) -> _Period | None:
        for period in self.periods:
            if period.has_month(month):
                return period
        return None

    def not_payable(self, month: Month, day: date) -> str | Cessation | None:
        """Why `month` cannot take money paid on `day` (None: it can; a cessation: refund the
        money, the month is after it, or in a membership cancelled before it started)."""
        if self.cease_month is not None and month > self.cease_month:
            assert self.cessation is not None
            return self.cessation
        if not self.periods:
            return self.cause_before(month) or f"{month}: not a member (no membership started)"
        if month < self.periods[0].start_month:
            first = self.periods[0].start_month
            return self.cause_before(month) or f"{month} is before membership started ({first})"
        period = self.period_of(month)
        if period is not None:
            if period.ended_on is not None and day >= period.ended_on:
                return f"{month}: membership ended on {period.ended_on} ({period.end_reason})"
            closes = self.due_on(_shift(month, self.rules.arrears_limit_months))
            if day > closes:
                return f"{month}: arrears window closed on {closes}"
            return None
        last = self.periods[-1]
        if last.end_month is not None and month > last.end_month:
            upcoming = next((r for r in self.pending_rejoins if r > last.end_month), None)
            if upcoming is not None and upcoming <= month:
                return None  # paid ahead for the membership that re-joining will start
            return self.cause_before(month) or (
                f"{month}: not a member (membership ended on {last.ended_on})"
            )
        return self.cause_before(month) or f"{month}: not a member (between memberships)"

    def cause_before(self, month: Month) -> Cessation | None:
        """What ended the last membership before `month` (a month in none), if a death, a
        disability or leaving did; None after a lapse or before any membership. A membership
        cancelled before it started ends before its first month, after the one before it."""
        ends = [(p.end_month, 0, p.cause) for p in self.periods
                if p.end_month is not None and p.end_month < month]  # fmt: skip
        for cancelled in self.cancelled:
            first = _first_month(cancelled)
            if first <= month:
                ends.append((_shift(first, -1), 1, cancelled))
        return max(ends, key=lambda end: end[:2])[2] if ends else None

    def apply(self, payment: Payment, day: date) -> None:
        remaining = payment.amount
        skipped: list[str] = []
        months = payment.months
        for month in months if len(months) == 1 else sorted(set(months)):
            if remaining == 0:
                break
            why = self.not_payable(month, day)
            if isinstance(why, Cessation):
                owed = self.due_amount(month) - self.refund_paid.get(month, 0)
                take = min(remaining, owed)
                if take > 0:
                    remaining -= take
                    self.refund(payment.reference, payment.payer, take, month, why)
                continue
            if why is not None:
                skipped.append(why)
                continue
            owed = self.due_amount(month) - self.paid.get(month, 0)
            if owed == 0:
                skipped.append(f"{month}: already paid")
                continue
            take = min(remaining, owed)
            remaining -= take
            self.paid[month] = self.paid.get(month, 0) + take
            self.allocations.setdefault(month, []).append(
                Allocation(
                    reference=payment.reference,
                    payer=payment.payer,
                    amount=take,
                    paid_at=payment.paid_at,
                )
            )
            if take == owed:
                self.completed[month] = (day, payment.paid_at, payment.reference)
        if remaining > 0:
            reason = "; ".join(skipped) if skipped else "over-payment"
            self.hold(payment.reference, payment.payer, remaining, reason)

    def refund(
        self, reference: str, payer: str, amount: int, month: Month, cause: Cessation
    ) -> None:
        """Money for `month`, after `cause` ended the membership (or cancelled it before it
        started), goes back to its payer."""
        self.refund_paid[month] = self.refund_paid.get(month, 0) + amount
        reason = f"paid for {month}, after the participant's {cause.kind} on {cause.on}"
        if cause.before_start:
            reason += f", before the membership from {cause.enrolled_on} started"
        self.refunds.append(
            Refund(reference=reference, payer=payer, amount=amount, month=month, reason=reason)
        )

    def hold(self, reference: str, payer: str, amount: int, reason: str) -> None:
        if self.rules.overpayment == "refund":
            self.refunds.append(
                Refund(reference=reference, payer=payer, amount=amount, reason=reason)
            )
        else:
            self.credits.append(
                Credit(reference=reference, payer=payer, amount=amount, reason=reason)
            )

    def check(self, month: Month) -> None:
        """End of due(`month`): more than `arrears_limit_months` unpaid months end membership."""
        period = self.periods[-1]  # `run` checks no month when there is no period
        if period.ended_on is not None:
            return
        if period.start_month.months_until(month) < self.rules.arrears_limit_months:
            return
        completed = self.completed
        index = month.index
        for back in range(self.rules.arrears_limit_months + 1):
            if _month_at(index - back) in completed:
                return
        period.end(month, self.due_on(month) + timedelta(days=1), EndReason.LAPSED)

    def rejoin(self, month: Month) -> None:
        self.pending_rejoins.remove(month)
        last = self.periods[-1]
        if last.ends_before(month):
            self.periods.append(_Period(last.number + 1, month))
        else:
            self.ineffective.append(month)

    def cease(self) -> None:
        assert self.cessation is not None
        if self.periods and self.periods[-1].ended_on is None:
            self.periods[-1].cease(self.cessation)

    def leave(self, leaving: Cessation) -> None:
        """Leaving ends a running membership; one that has already ended stays as it was."""
        if self.periods and self.periods[-1].ended_on is None:
            self.periods[-1].cease(leaving)

    def release_months_outside_periods(self) -> None:
        """Money applied ahead to months that ended up in no membership is refunded when the
        membership before them was left, else (a lapse) held as credit."""
        for month in sorted(self.allocations):
            if self.period_of(month) is not None:
                continue
            last_end = max(
                (p.ended_on for p in self.periods if p.ended_on and p.end_month < month),
                default=None,
            )
            cause = self.cause_before(month)
            for allocation in self.allocations.pop(month):
                if cause is not None:
                    self.refund(allocation.reference, allocation.payer, allocation.amount,
                                month, cause)  # fmt: skip
                    continue
                self.hold(
                    allocation.reference,
                    allocation.payer,
                    allocation.amount,
                    f"paid ahead for {month}, but membership ended on {last_end}",
                )
            self.paid.pop(month, None)
            self.completed.pop(month, None)

    def records(self) -> list[MonthRecord]:
        records = []
        for period in self.periods:
            last = period.end_month
            if last is None:
                applied = [m for m in self.allocations if period.has_month(m)]
                last = max([Month.of(self.today), *applied])
            records.extend(
                self.record(month, period) for month in _months(period.start_month, last)
            )
        return records

    def record(self, month: Month, period: _Period) -> MonthRecord:
        due_on = self.due_on(month)
        completed = self.completed.get(month)
        if completed is not None:
            paid_on = completed[0]
            status = MonthStatus.PAID_ON_TIME if paid_on <= due_on else MonthStatus.PAID_LATE
        elif period.ended_on is not None and period.ended_on <= self.today:
            status = MonthStatus.UNPAID
        elif self.today <= due_on:
            status = MonthStatus.NOT_YET_DUE
        elif self.today <= self.due_on(_shift(month, self.rules.arrears_limit_months)):
            status = MonthStatus.IN_ARREARS
        else:
            status = MonthStatus.UNPAID
        return MonthRecord(
            month=month,
            period=period.number,
            due_on=due_on,
            amount_due=self.due_amount(month),
            amount_paid=self.paid.get(month, 0),
            status=status,
            paid_on=completed[0] if completed else None,
            paid_at=completed[1] if completed else None,
            paid_by=completed[2] if completed else None,
            allocations=tuple(self.allocations.get(month, ())),
        )

    def lapses_on(self) -> date | None:
        """If nothing more is paid: the day the current membership would end."""
        if not self.periods or self.periods[-1].ended_on is not None:
            return None
        period = self.periods[-1]
        window = self.rules.arrears_limit_months
        completed = self.completed
        month = _month_at(Month.of(self.today).index)
        if self.due_on(month) < self.today:
            month = _shift(month, 1)  # the checks up to yesterday's due dates are done
        month = max(month, _shift(period.start_month, window))
        latest = max([m for m in completed if period.has_month(m)], default=month)
        # A run of unpaid months starts after the last paid month at the latest.
        while any(_month_at(month.index - back) in completed for back in range(window + 1)):
            if latest.months_until(month) > window:
                raise AssertionError(f"{month} is a run of unpaid months after {latest}")
            month = _shift(month, 1)
        return self.due_on(month) + timedelta(days=1)


def _effective_payments(payments: tuple[Payment, ...], today: date) -> list[tuple[Payment, date]]:
    """Validated, one per reference (the first wins; reversed if any copy is), known by today;
    each with its business date."""
    first: dict[str, tuple[Payment, date]] = {}
    reversed_refs: set[str] = set()
    for payment in payments:
        if isinstance(payment.amount, bool) or not isinstance(payment.amount, int):
            raise TypeError(f"payment {payment.reference}: amount must be an int rupiah amount")
        if payment.amount <= 0:
            raise ValueError(
                f"payment {payment.reference}: amount must be positive, got {payment.amount}"
            )
        if not payment.months:
            raise ValueError(f"payment {payment.reference} names no months")
        day = business_date(payment.paid_at)  # refuses naive instants
        if payment.reference not in first:
            first[payment.reference] = (payment, day)
        if payment.reversed:
            reversed_refs.add(payment.reference)
    return [
        (payment, day)
        for reference, (payment, day) in first.items()
        if reference not in reversed_refs and day <= today
    ]


# --- pure helpers of small domains, worked out once per process --------------------------------


@lru_cache(maxsize=4096)
def _month_at(index: int) -> Month:
    """`Month.from_index`, each month made once (a Month is immutable)."""
    return Month.from_index(index)


def _shift(month: Month, months: int) -> Month:
    """`month + months`."""
    return _month_at(month.index + months)


@lru_cache(maxsize=1024)
def _months(first: Month, last: Month) -> tuple[Month, ...]:
    """`tuple(month_range(first, last))`."""
    return tuple(_month_at(index) for index in range(first.index, last.index + 1))


@lru_cache(maxsize=4096)
def _due_date(calendar: BusinessCalendar, month: Month) -> date:
    """A `BusinessCalendar`'s due date of a month: a pure function of the calendar's fields
    and the month (the holidays package's tables are fixed for the process)."""
    return calendar.due_date(month)


def contribution_history(
    facts: ContributionFacts,
    *,
    today: date,
    amount_due: Callable[[Month], int] | int,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
    rules: CoverageRules = DEFAULT_COVERAGE_RULES,
) -> ContributionHistory:
    """Fold a participant's contribution facts into months, periods, arrears, credit and refunds.

    `amount_due(month)` is what the rate table in force asks for that month (or one fixed
    amount); `calendar.due_date(month)` the month's due date (the 15th, or the next working day).
    """
    due = amount_due if callable(amount_due) else (lambda _month: amount_due)
    fold = _Fold(facts, today, calendar, due, rules)
    fold.run()
    records = fold.records()
    in_arrears = [r for r in records if r.status is MonthStatus.IN_ARREARS]
    return ContributionHistory(
        as_of=today,
        rules=rules,
        periods=tuple(period.freeze() for period in fold.periods),
        months=tuple(records),
        arrears_months=len(in_arrears),
        arrears_amount=sum(r.shortfall for r in in_arrears),
        credits=tuple(fold.credits),
        refunds=tuple(fold.refunds),
        lapses_on=None if fold.cessation else fold.lapses_on(),
        ineffective_rejoins=tuple(fold.ineffective),
        cessation=fold.cessation,
        leavings=tuple(fold.leavings),
        cancelled=tuple(fold.cancelled),
    )


def _starts_and_cancellations(
    facts: ContributionFacts, ends: list[Cessation]
) -> tuple[list[Month], list[Cessation]]:
    """The first months of the enrolments that make a membership (the first one, then the
    re-joins, in the facts' order), and the `ends` that cancelled one: an end dated before
    the membership it ends started takes that enrolment out. (One naming an enrolment the
    facts do not hold cancels nothing, and is replayed by its date.)"""
    starts = [facts.start, *facts.rejoins]
    cancelled: list[Cessation] = []
    for end in sorted(ends, key=lambda c: c.on):
        if end.before_start and _first_month(end) in starts:
            starts.remove(_first_month(end))
            cancelled.append(end)
    return starts, cancelled


def _first_month(cancelled: Cessation) -> Month:
    """The first month of the membership a cessation ends (it names its enrolment)."""
    assert cancelled.enrolled_on is not None
    return Month.of(cancelled.enrolled_on)


def _replayed(leavings: list[Cessation], cancelled: list[Cessation]) -> list[Cessation]:
    """The leavings that end a membership in date order: all but those that cancelled one
    before it started (they end no other)."""
    return [c for c in leavings if not any(c is gone for gone in cancelled)]


def enrolment_periods(facts: ContributionFacts) -> tuple[MembershipPeriod, ...]:
    """The memberships that enrolments, leavings and a death or disability make, payments
    aside: the months a member holds their cohort's slot. Leaving on day X ends a running
    membership (X's month is its last); a re-join starts a new one under the rule
    `contribution_history` applies; leaving before a membership started cancels it (it holds
    no month). A lapse is not a leaving: the lapsed member keeps their slot, so a membership
    that unpaid months would end runs on here. Every fact counts, whatever its date (there is
    no `today`)."""
    leavings = sorted(facts.leavings, key=lambda c: c.on)
    starts, cancelled = _starts_and_cancellations(
        facts, [*leavings, *((facts.cessation,) if facts.cessation else ())]
    )
    if not starts:
        return ()
    periods = [_Period(1, starts[0])]
    ends = (*((facts.cessation,) if facts.cessation else ()), *_replayed(leavings, cancelled))
    steps: list[tuple[tuple[date, int], Month | Cessation]] = [
        *(((month.first_day, 0), month) for month in sorted(set(starts[1:]))),
        *(((end.on, 2), end) for end in ends),
    ]  # the order `contribution_history` replays them in
    for _, step in sorted(steps, key=lambda s: s[0]):
        last = periods[-1]
        if isinstance(step, Month):
            if last.ends_before(step):
                periods.append(_Period(last.number + 1, step))
        elif last.ended_on is None:
            last.cease(step)
    return tuple(period.freeze() for period in periods)


# --- questions ---------------------------------------------------------------------------------


def period_on(history: ContributionHistory, day: date) -> MembershipPeriod | None:
    """The membership period that includes `day`, if any."""
    starts = [period.starts_on for period in history.periods]
    index = bisect.bisect_right(starts, day) - 1
    if index < 0:
        return None
    period = history.periods[index]
    return period if period.includes(day) else None


def membership_months(history: ContributionHistory, day: date) -> int:
    """Whole months of the membership that includes `day` (0 when not a member then).

    Waiting periods count from the start of the current period: re-joining starts from zero.
    """
    period = period_on(history, day)
    if period is None:
        return 0
    start = period.starts_on
    months = Month.of(start).months_until(Month.of(day))
    return months - (1 if day.day < start.day else 0)


def paid_months(history: ContributionHistory, day: date) -> int:
    """Months up to `day`'s month, of the membership that includes `day`, paid by `day`."""
    period = period_on(history, day)
    if period is None:
        return 0
    return sum(
        1
        for record in history.months
        if record.period == period.number
        and record.month <= Month.of(day)
        and record.paid_on is not None
        and record.paid_on <= day
    )


def is_covered(history: ContributionHistory, day: date) -> Coverage:
    """Was the participant covered on `day`? Says which payment covers it, or why not."""
    month = Month.of(day)
    base = {"day": day, "month": month, "rules_version": history.rules.version}
    period = period_on(history, day)
    if period is None:
        return Coverage(
            covered=False,
            reason=CoverageReason.NOT_A_MEMBER,
            explanation=_not_a_member(history, day),
            **base,
        )
    base["period"] = period.number
    record = history.month(month)
    if record is None or record.paid_on is None:
        paid = record.amount_paid if record else 0
        due = f" ({rupiah(record.amount_due)} due {record.due_on})" if record else ""
        part = f"; {rupiah(paid)} paid" if paid else ""
        return Coverage(
            covered=False,
            reason=CoverageReason.MONTH_UNPAID,
            explanation=f"the contribution for {month}{due} is not paid as of "
            f"{history.as_of}{part}",
            **base,
        )
    base["payment_reference"] = record.paid_by
    base["paid_on"] = record.paid_on
    paid = f"{month} paid on {record.paid_on} by payment {record.paid_by}"
    if record.paid_on <= record.due_on:
        return Coverage(
            covered=True,
            reason=CoverageReason.PAID_ON_TIME,
            explanation=f"{paid}, by its due date {record.due_on}",
            **base,
        )
    if record.paid_on < day:
        return Coverage(
            covered=True,
            reason=CoverageReason.PAID_BEFORE_DAY,
            explanation=f"{paid} (late, due {record.due_on}), before {day}",
            **base,
        )
    if history.rules.late_payment_covers_unpaid_days:
        return Coverage(
            covered=True,
            reason=CoverageReason.LATE_PAYMENT_COVERS,
            explanation=f"{paid} (late, due {record.due_on}); rules {history.rules.version} "
            "let a late payment cover the days while the month was unpaid",
            **base,
        )
    return Coverage(
        covered=False,
        reason=CoverageReason.PAID_AFTER_DAY,
        explanation=f"{paid}: late (due {record.due_on}) and not before {day}; a late payment "
        "does not cover days while the month was unpaid",
        **base,
    )


def _not_a_member(history: ContributionHistory, day: date) -> str:
    """Why `day` is in no membership: before the first, after one ended, or in one that a
    leaving cancelled before it started (the latest of these by `day`)."""
    ended = [(p.ended_on, p) for p in history.periods if p.ended_on and p.ended_on <= day]
    cancelled = [
        (first, c) for c in history.cancelled if (first := _first_month(c).first_day) <= day
    ]
    gone = max(cancelled, key=lambda found: found[0], default=None)
    if gone is not None and (not ended or gone[0] >= ended[-1][0]):
        return (
            f"the membership from {gone[1].enrolled_on} was cancelled before it started "
            f"({gone[1].kind} on {gone[1].on})"
        )
    if ended:
        last = ended[-1][1]
        return f"membership {last.number} ended on {last.ended_on} ({last.end_reason})"
    if history.periods:
        return f"membership starts on {history.periods[0].starts_on}"
    return "never a member: " + ", ".join(
        f"the membership from {c.enrolled_on} was cancelled before it started ({c.kind} on "
        f"{c.on})" for c in history.cancelled
    )  # fmt: skip
