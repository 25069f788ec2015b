"""A claim's SLA: the payment deadline in working days from complete documents, the time
left, the working days late and the 1%-a-day penalty (services/domain/sla.claim_sla), computed
from the claim's events and `today`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from services.domain import sla
from services.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar, business_date
from services.domain.policy import Policy

if TYPE_CHECKING:
    from services.claim_decider import ClaimState


def sla_of(
    state: ClaimState,
    *,
    today: date,
    policy: Policy,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
    paid_on: date | None = None,
) -> sla.ClaimSla | None:
    """The claim's SLA as of `today`; None until its documents are complete.

    The working days are those recorded when the documents were complete (the policy then);
    the penalty is on the approved benefit (0 before approval) at the policy's daily rate.
    """
    if state.documents_complete_at is None or state.filed is None:
        return None
    if paid_on is None and state.payment is not None:
        paid_on = business_date(state.payment.paid_at)
    days = policy.sla_working_days_jkk if state.kind == "JKK" else policy.sla_working_days_jkm
    return sla.claim_sla(
        documents_complete_on=business_date(state.documents_complete_at),
        working_days=state.sla_working_days or days,
        benefit=state.approval.total if state.approval is not None else 0,
        today=today, paid_on=paid_on, calendar=calendar,
        basis_points_per_day=policy.late_penalty_basis_points_per_day,
        rules_version=policy.version,
    )  # fmt: skip
