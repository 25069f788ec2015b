"""Eligibility and benefit lines of a claim, decided from the participant's history.

Pure: the handler reads the participant's stream and contribution history *as known at* the
decision instant (so a decision never depends on anything recorded after it) and passes them
here. Eligibility (domain.md "Claims"): a member, covered on the accident (or death) date, the
claim filed within 5 years, the programme in the member's cover, and for JKK a work accident.
Benefit lines come from services/domain/benefits.py, each with its formula and rules version.
"""

from __future__ import annotations

from datetime import datetime

from events.catalog import Eligibility
from services.accidents import WORK_ACCIDENTS, AccidentKind, Outcome
from services.claim_decider import Assessment, ClaimState
from services.commands import DecideClaim
from services.domain import benefits
from services.domain.benefits import BenefitLine, BenefitRules, NotEligible
from services.domain.calendar import business_date
from services.domain.coverage import (
    ContributionHistory,
    CoverageReason,
    is_covered,
    membership_months,
    paid_months,
)
from services.domain.errors import ValidationFailed
from services.domain.policy import Policy
from services.domain.sla import claim_expiry
from services.participants import ParticipantState

_BEREAVED = (Outcome.DEATH.value, Outcome.TOTAL_PERMANENT_DISABILITY.value)


def eligibility(
    claim: ClaimState,
    person: ParticipantState,
    history: ContributionHistory | None,
    *,
    known_at: datetime,
    participant_version: int,
) -> Eligibility:
    """Every rule that refuses the claim, from the history known at `known_at`."""
    filed = claim.filed
    assert filed is not None
    day = filed.event_on
    filed_on = business_date(filed.filed_at)
    expiry = claim_expiry(day, on=max(filed_on, day))
    reasons: list[str] = []
    if history is None:
        covered = member = False
        why, rules_version = CoverageReason.NOT_A_MEMBER.value, ""
        explanation = f"never enrolled (as known at {known_at.isoformat()})"
    else:
        coverage = is_covered(history, day)
        covered, why = coverage.covered, coverage.reason.value
        member = coverage.reason is not CoverageReason.NOT_A_MEMBER
        explanation, rules_version = coverage.explanation, coverage.rules_version
    if not covered:
        reasons.append(f"not covered on {day}: {explanation}")
    if history is not None and filed.kind not in person.programmes:
        reasons.append(f"the membership covers {', '.join(person.programmes)}, not {filed.kind}")
    if expiry.expired:
        reasons.append(f"filed on {filed_on}, after the right to claim ended on {expiry.last_day}")
    if filed.kind == "JKK" and AccidentKind(filed.accident_kind or "") not in WORK_ACCIDENTS:
        reasons.append(f"not a work accident ({filed.accident_kind}): not at work, not on the "
                       "way between home and work, not an occupational disease")  # fmt: skip
    return Eligibility(
        known_at=known_at, participant_version=participant_version, event_on=day,
        member=member, covered=covered, coverage_reason=why, coverage_explanation=explanation,
        coverage_rules_version=rules_version,
        membership_months=membership_months(history, day) if history else 0,
        contribution_months=paid_months(history, day) if history else 0,
        programmes=list(person.programmes), wage=person.declared_income,
        claim_last_day=expiry.last_day, filed_on=filed_on, reasons=reasons,
    )  # fmt: skip


def assess(
    claim: ClaimState,
    command: DecideClaim,
    person: ParticipantState,
    history: ContributionHistory | None,
    *,
    known_at: datetime,
    participant_version: int,
    policy: Policy,
    rules: BenefitRules,
) -> Assessment:
    """Eligibility and, when eligible, the benefit lines with their formulas."""
    found = eligibility(claim, person, history, known_at=known_at,
                        participant_version=participant_version)  # fmt: skip
    if not found.eligible:
        return Assessment(eligibility=found, lines=(), not_granted=(),
                          benefit_rules_version=rules.version)  # fmt: skip
    minimum = policy.jkm_full_benefit_min_membership_months
    if rules.jkm_full_benefit_min_membership_months != minimum:
        raise ValueError(
            f"benefit rules {rules.version} and policy {policy.version} disagree on the JKM "
            "minimum membership months"
        )
    try:
        lines, not_granted = _lines(claim, command, found, rules)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed.one("benefits", str(exc)) from None
    return Assessment(eligibility=found, lines=tuple(lines), not_granted=tuple(not_granted),
                      benefit_rules_version=rules.version)  # fmt: skip


def _lines(
    claim: ClaimState, command: DecideClaim, found: Eligibility, rules: BenefitRules
) -> tuple[list[BenefitLine], list[str]]:
    filed = claim.filed
    assert filed is not None
    wage = found.wage
    lines: list[BenefitLine] = []
    not_granted: list[str] = []
    if filed.kind == "JKK":
        if command.medical_billed:
            lines.append(benefits.medical(command.medical_billed, rules=rules))
        trips = [benefits.Trip(benefits.TransportMode(t.mode), t.cost) for t in command.trips]
        lines += benefits.transport(trips, rules=rules)
        for period in command.stmb:
            lines += benefits.stmb(wage, incapacity_from=period.incapacity_from,
                                   period_from=period.period_from, period_to=period.period_to,
                                   rules=rules)  # fmt: skip
        match filed.outcome:
            case Outcome.PARTIAL_DISABILITY:
                assert filed.disability_percent is not None
                lines.append(
                    benefits.partial_disability(
                        wage, filed.disability_percent, impairment=filed.impairment, rules=rules
                    )
                )
            case Outcome.TOTAL_PERMANENT_DISABILITY:
                lines.append(benefits.total_disability(wage, rules=rules))
            case Outcome.DEATH:
                lines += benefits.jkk_death(wage, rules=rules)
    else:
        if command.medical_billed or command.trips or command.stmb:
            raise ValueError("a JKM claim has no medical, transport or STMB benefits")
        lines += benefits.jkm_death(membership_months=found.membership_months, rules=rules)
    if command.scholarships:
        if filed.outcome not in _BEREAVED:
            not_granted.append("scholarships: only after a death or total permanent disability")
        else:
            requests = [
                benefits.ScholarshipRequest(
                    child=s.child, birth_date=s.birth_date,
                    level=benefits.EducationLevel(s.level), year_of_level=s.year_of_level,
                    married=s.married, working=s.working,
                )
                for s in command.scholarships
            ]  # fmt: skip
            try:
                lines += benefits.scholarships(requests, on=business_date(found.known_at),
                                               contribution_months=found.contribution_months,
                                               rules=rules)  # fmt: skip
            except NotEligible as refused:
                not_granted.append(str(refused))
    return lines, not_granted
