"""Claim SLA, accident report deadlines and claim expiry (domain.md "Accidents" and "Claims").

Pure and I/O-free: working days are those of a `calendar.BusinessCalendar` (by default
`calendar.DEFAULT_CALENDAR`: Monday to Friday except Indonesian national holidays), the
evaluation time comes in as `today` / `now`. Business dates are WIB dates; instants must be
timezone-aware. The numbers (7 and 3 working days, 1% a day, 2x24 hours, 5 years) are parameters
with the domain.md defaults below, so the caller passes those of the policy version in force.

- Claim SLA: the deadline is the Nth working day after the day the documents were complete (that
  day itself does not count). A claim paid on the deadline is on time. Working days late are the
  working days after the deadline up to and including the day of payment; for an unpaid claim, up
  to and including `today` (what the penalty would be if it were paid today). Each working day
  late adds 1% of the benefit owed, as its own benefit line. `breached` is true once the payment
  day (or today) is after the deadline, even on a weekend when no working day is late yet.
- Accident reports: Stage I is due 2x24 hours after the accident, Stage II 2x24 hours after the
  doctor's statement; a late report is accepted and flagged with the hours late (started hours
  count: 1 minute late is 1 hour late).
- Claim expiry: the right to claim lasts 5 years; the last day is the 5th anniversary of the
  accident (28 February for an accident on 29 February).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

import msgspec

from services.domain.benefits import BenefitKind, BenefitLine
from services.domain.calendar import (
    DEFAULT_CALENDAR,
    BusinessCalendar,
    add_months,
    require_aware,
)
from services.domain.money import TIMES, percent, percent_of, rupiah
from services.domain.policy import DEFAULT_POLICY

# The domain.md defaults, as the default policy holds them (services/domain/policy.py).
JKK_SLA_WORKING_DAYS = DEFAULT_POLICY.sla_working_days_jkk
JKM_SLA_WORKING_DAYS = DEFAULT_POLICY.sla_working_days_jkm
LATE_PENALTY_BASIS_POINTS_PER_DAY = DEFAULT_POLICY.late_penalty_basis_points_per_day
"""1% of the benefit per working day late (10,000 basis points = 100%)."""
CLAIM_EXPIRY_YEARS = 5

# --- claim SLA -----------------------------------------------------------------------------------


def late_penalty(
    benefit: int,
    working_days_late: int,
    *,
    basis_points_per_day: int = LATE_PENALTY_BASIS_POINTS_PER_DAY,
    rules_version: str = "",
) -> BenefitLine | None:
    """The late-payment penalty line: days late x 1% x the benefit (None when not late)."""
    if isinstance(benefit, bool) or not isinstance(benefit, int) or benefit < 0:
        raise ValueError(f"benefit must be an int rupiah amount >= 0, got {benefit!r}")
    if working_days_late < 0:
        raise ValueError(f"working days late must be >= 0, got {working_days_late}")
    if working_days_late == 0:
        return None
    amount = percent_of(benefit, basis_points_per_day * working_days_late)
    rate = percent(Decimal(basis_points_per_day) / 100)
    days = "working day" if working_days_late == 1 else "working days"
    return BenefitLine(
        kind=BenefitKind.LATE_PENALTY,
        amount=amount,
        formula=f"{working_days_late} {days} {TIMES} {rate} {TIMES} {rupiah(benefit)} "
        f"= {rupiah(amount)}",
        description=f"late payment: {working_days_late} {days} after the SLA deadline",
        rules_version=rules_version,
    )


class ClaimSla(msgspec.Struct, frozen=True, kw_only=True):
    documents_complete_on: date
    working_days: int
    deadline: date
    as_of: date
    paid_on: date | None
    working_days_left: int
    """Working days after `as_of` up to the deadline (0 on the deadline day, once paid, or late)."""
    working_days_late: int
    breached: bool
    penalty: BenefitLine | None


def claim_sla(
    *,
    documents_complete_on: date,
    working_days: int,
    benefit: int,
    today: date,
    paid_on: date | None = None,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
    basis_points_per_day: int = LATE_PENALTY_BASIS_POINTS_PER_DAY,
    rules_version: str = "",
) -> ClaimSla:
    """A claim's payment deadline, time left, lateness and penalty, as of `today`.

    `working_days`: JKK_SLA_WORKING_DAYS (7) or JKM_SLA_WORKING_DAYS (3), or the policy's.
    `benefit`: the benefit owed, on which the penalty is computed.
    `calendar`: whose working days count (`calendar.add_working_days` for the deadline,
    `calendar.working_days_between` for the days left and late).
    """
    if working_days < 0:
        raise ValueError(f"SLA working days must be >= 0, got {working_days}")
    if paid_on is not None and paid_on < documents_complete_on:
        raise ValueError(
            f"paid on {paid_on}, before the documents were complete ({documents_complete_on})"
        )
    if paid_on is not None and paid_on > today:
        paid_on = None  # not yet known on `today`
    deadline = calendar.add_working_days(documents_complete_on, working_days)
    end = paid_on if paid_on is not None else today
    # working_days_between is negative when its end is earlier: then nothing is late (or left).
    late = max(calendar.working_days_between(deadline, end), 0)
    left = 0 if paid_on is not None else max(calendar.working_days_between(today, deadline), 0)
    return ClaimSla(
        documents_complete_on=documents_complete_on,
        working_days=working_days,
        deadline=deadline,
        as_of=today,
        paid_on=paid_on,
        working_days_left=left,
        working_days_late=late,
        breached=end > deadline,
        penalty=late_penalty(
            benefit, late, basis_points_per_day=basis_points_per_day, rules_version=rules_version
        ),
    )


# --- accident reports ----------------------------------------------------------------------------


class ReportStage(StrEnum):
    STAGE_I = "stage_1"
    """Within 2x24 hours of the accident."""
    STAGE_II = "stage_2"
    """Within 2x24 hours of the doctor's statement of outcome; also the benefit application."""


class ReportDeadline(msgspec.Struct, frozen=True, kw_only=True):
    stage: ReportStage
    starts_at: datetime
    """The accident (Stage I) or the doctor's statement (Stage II)."""
    deadline: datetime
    as_of: datetime
    reported_at: datetime | None
    late: bool
    """Reported after the deadline, or not reported and past it (a breach)."""
    late_by: timedelta
    hours_late: int
    """Started hours late (1 minute late counts as 1 hour)."""
    time_left: timedelta | None
    """Until the deadline, while not reported and not past it."""


def _report(
    stage: ReportStage,
    starts_at: datetime,
    now: datetime,
    reported_at: datetime | None,
    hours: int,
) -> ReportDeadline:
    require_aware(starts_at, "start")
    require_aware(now, "now")
    if reported_at is not None:
        require_aware(reported_at, "reported_at")
        if reported_at < starts_at:
            raise ValueError(
                f"{stage} report at {reported_at.isoformat()} is before its start "
                f"{starts_at.isoformat()}"
            )
        if reported_at > now:
            reported_at = None  # not yet known at `now`
    deadline = starts_at + timedelta(hours=hours)
    end = reported_at if reported_at is not None else now
    late_by = max(end - deadline, timedelta(0))
    hour = timedelta(hours=1)
    return ReportDeadline(
        stage=stage,
        starts_at=starts_at,
        deadline=deadline,
        as_of=now,
        reported_at=reported_at,
        late=late_by > timedelta(0),
        late_by=late_by,
        hours_late=-(-late_by // hour),
        time_left=deadline - now if reported_at is None and now <= deadline else None,
    )


def stage_one_report(
    accident_at: datetime,
    *,
    now: datetime,
    reported_at: datetime | None = None,
    hours: int = DEFAULT_POLICY.stage_one_report_hours,
) -> ReportDeadline:
    """The Stage I report deadline (2x24 hours after the accident) and its breach, as of `now`."""
    return _report(ReportStage.STAGE_I, accident_at, now, reported_at, hours)


def stage_two_report(
    doctor_statement_at: datetime,
    *,
    now: datetime,
    reported_at: datetime | None = None,
    hours: int = DEFAULT_POLICY.stage_two_report_hours,
) -> ReportDeadline:
    """The Stage II report deadline (2x24 hours after the doctor's statement), as of `now`."""
    return _report(ReportStage.STAGE_II, doctor_statement_at, now, reported_at, hours)


# --- claim expiry --------------------------------------------------------------------------------


class ClaimExpiry(msgspec.Struct, frozen=True, kw_only=True):
    accident_on: date
    last_day: date
    """The last day a claim can be filed: the 5th anniversary of the accident."""
    on: date
    expired: bool
    days_left: int


def claim_expiry(accident_on: date, *, on: date, years: int = CLAIM_EXPIRY_YEARS) -> ClaimExpiry:
    """Whether a claim filed on `on` for an accident on `accident_on` is still in time."""
    if on < accident_on:
        raise ValueError(f"claim date {on} is before the accident ({accident_on})")
    last_day = add_months(accident_on, 12 * years)  # 29 February: 28 February if none
    return ClaimExpiry(
        accident_on=accident_on,
        last_day=last_day,
        on=on,
        expired=on > last_day,
        days_left=max((last_day - on).days, 0),
    )
