"""Policy settings: the defaults of domain.md, versioned, and the small rules on them."""

from __future__ import annotations

import msgspec
import pytest

from services.domain.policy import (
    DEFAULT_POLICY,
    CoverageRule,
    OverpaymentHandling,
    Policy,
)


def test_defaults_are_those_of_domain_md() -> None:
    p = DEFAULT_POLICY
    assert p.version
    assert p.overpayment is OverpaymentHandling.HOLD_AS_CREDIT
    assert p.coverage_rule is CoverageRule.PAID_BY_DUE_DATE_OR_BEFORE_DAY
    assert p.jkm_full_benefit_min_membership_months == 3
    assert p.waiting_list_priority_first is True
    assert p.arrears_limit_months == 3
    assert p.personal_data_retention_years == 5
    assert (p.stage_one_report_hours, p.stage_two_report_hours) == (48, 48)
    assert (p.sla_working_days_jkk, p.sla_working_days_jkm) == (7, 3)
    assert p.late_penalty_basis_points_per_day == 100
    assert p.four_eyes_threshold == 50_000_000


def test_four_eyes_only_above_rp50_juta() -> None:
    assert not DEFAULT_POLICY.needs_four_eyes(50_000_000)
    assert DEFAULT_POLICY.needs_four_eyes(50_000_001)


def test_late_penalty_is_one_percent_per_day_rounded_half_up() -> None:
    assert DEFAULT_POLICY.late_penalty(42_000_000, 0) == 0
    assert DEFAULT_POLICY.late_penalty(42_000_000, -2) == 0
    assert DEFAULT_POLICY.late_penalty(42_000_000, 1) == 420_000
    assert DEFAULT_POLICY.late_penalty(42_000_000, 3) == 1_260_000
    assert DEFAULT_POLICY.late_penalty(150, 1) == 2  # 1.50 rounds up
    assert DEFAULT_POLICY.late_penalty(149, 1) == 1  # 1.49 rounds down


def test_a_new_version_changes_only_what_it_names() -> None:
    stricter = msgspec.structs.replace(
        DEFAULT_POLICY, version="2026.1", overpayment=OverpaymentHandling.REFUND
    )
    assert stricter.overpayment is OverpaymentHandling.REFUND
    assert stricter.arrears_limit_months == DEFAULT_POLICY.arrears_limit_months


def test_a_policy_round_trips_through_json() -> None:
    data = msgspec.json.encode(DEFAULT_POLICY)
    assert b'"overpayment":"hold_as_credit"' in data
    assert msgspec.json.decode(data, type=Policy) == DEFAULT_POLICY


def test_a_policy_needs_a_version_and_non_negative_numbers() -> None:
    with pytest.raises(ValueError, match="version"):
        Policy(version=" ")
    with pytest.raises(ValueError, match="arrears_limit_months"):
        Policy(version="x", arrears_limit_months=-1)
    with pytest.raises(TypeError):
        Policy()  # type: ignore[call-arg]
