"""Policy settings: our readings of rules the public sources leave open.

domain.md marks these **(policy)**: each is a named setting with a default here, never a
constant buried in a decider. A `Policy` is versioned as a whole; every event decided under
a policy records `policy.version`, so a later change of policy never rewrites how an old
decision was reached. Change a default only together with a new version string.
"""

from __future__ import annotations

import enum

import msgspec

from services.domain.money import percent_of


class OverpaymentHandling(enum.StrEnum):
    """What happens to money paid beyond the amount due."""

    HOLD_AS_CREDIT = "hold_as_credit"  # kept for the payer's next months
    REFUND = "refund"  # returned to the payer


class CoverageRule(enum.StrEnum):
    """When a day counts as covered by contributions."""

    # A day is covered when its month was paid by the month's due date, or before that day.
    # A late payment keeps the membership but does not cover days before it was paid.
    PAID_BY_DUE_DATE_OR_BEFORE_DAY = "paid_by_due_date_or_before_day"


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """One version of every policy setting, with the defaults we start from."""

    version: str

    overpayment: OverpaymentHandling = OverpaymentHandling.HOLD_AS_CREDIT
    coverage_rule: CoverageRule = CoverageRule.PAID_BY_DUE_DATE_OR_BEFORE_DAY

    jkm_full_benefit_min_membership_months: int = 3
    """JKM death with fewer months of membership than this pays only the funeral benefit."""

    waiting_list_priority_first: bool = True
    """A registration flagged priority (e.g. extreme-poverty household) goes ahead of the
    others on a waiting list; among equals, order of arrival."""

    arrears_limit_months: int = 3
    """Arrears can be paid for at most this many months; more consecutive unpaid months
    end the membership."""

    personal_data_retention_years: int = 5
    """How long personal data is kept after membership ends. Five years because a JKK claim
    can be made until 5 years after the accident, and an accident can happen on the last
    day of membership: the claim must still find the person's data."""

    stage_one_report_hours: int = 48
    """Stage I accident report due within 2x24 hours of the accident."""

    stage_two_report_hours: int = 48
    """Stage II report due within 2x24 hours of the doctor's statement."""

    sla_working_days_jkk: int = 7
    """JKK benefit to be paid within this many working days of complete documents."""

    sla_working_days_jkm: int = 3
    """JKM benefit to be paid within this many working days of complete documents."""

    late_penalty_basis_points_per_day: int = 100
    """Each day past the SLA deadline adds this share of the benefit (100 = 1%), simple
    (not compounded)."""

    four_eyes_threshold: int = 50_000_000
    """Approvals of more than this many rupiah need a second officer (and an NPWP)."""

    sla_warning_working_days: int = 2
    """The SLA watch warns a claim's officer and the supervisors once its payment deadline is
    this many working days away or fewer, so there is still time to pay it on time."""

    self_pay_reminder_days: int = 5
    """A self-paying worker is reminded this many days before a month's due date (the 15th,
    or the next working day), so there is time to get to a payment point."""

    sponsor_block_months: int = 3
    """Sponsors pay in blocks of this many months, counted from the cohort's coverage start
    (Kepahiang paid its first three months at once); a reminder goes before each block."""

    sponsor_block_reminder_days: int = 14
    """The sponsor is reminded this many days before a block of months falls due: a regency
    transfer needs its paperwork (SP2D) done in advance."""

    budget_period_end_reminder_days: int = 30
    """The sponsor is reminded this many days before a cohort's budget period (coverage) ends,
    in time to extend it or tell the workers to continue on their own."""

    membership_ending_reminder_days: int = 7
    """The last notice goes this many days before a membership in arrears ends."""

    reminder_delivery_attempts: int = 3
    """Runs of the reminder job that try to deliver a reminder before it is given up as
    failed (each run's channel may retry within its own attempt)."""

    def __post_init__(self) -> None:
        if not self.version.strip():
            raise ValueError("a policy needs a version")
        for name in (
            "jkm_full_benefit_min_membership_months",
            "arrears_limit_months",
            "personal_data_retention_years",
            "stage_one_report_hours",
            "stage_two_report_hours",
            "sla_working_days_jkk",
            "sla_working_days_jkm",
            "late_penalty_basis_points_per_day",
            "four_eyes_threshold",
            "sla_warning_working_days",
            "self_pay_reminder_days",
            "sponsor_block_reminder_days",
            "budget_period_end_reminder_days",
            "membership_ending_reminder_days",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"policy {self.version}: {name} must be >= 0")
        for name in ("sponsor_block_months", "reminder_delivery_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"policy {self.version}: {name} must be >= 1")

    def needs_four_eyes(self, amount: int) -> bool:
        """Whether approving `amount` rupiah needs a second officer (strictly above)."""
        return amount > self.four_eyes_threshold

    def late_penalty(self, benefit: int, days_late: int) -> int:
        """The penalty owed on `benefit` paid `days_late` days after the SLA deadline: the
        daily rate times the days, on the benefit, rounded half up to the rupiah. The caller
        counts the days (domain.md says only "each day late")."""
        if days_late <= 0:
            return 0
        return percent_of(benefit, self.late_penalty_basis_points_per_day * days_late)


DEFAULT_POLICY = Policy(version="2025.1")
"""The defaults of domain.md, the policy Jaga starts with."""
