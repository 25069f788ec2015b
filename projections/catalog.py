"""Every read model Jaga keeps, in one list (the runner, the workers and the CLI use it)."""

from __future__ import annotations

from projections.claims import ClaimBoard
from projections.cohorts import CohortDashboard
from projections.participants import ParticipantStatus
from projections.payments import Payments
from projections.projection import Projection
from projections.reminders import Reminders
from projections.timeline import AuditTimeline


def all_projections() -> list[Projection]:
    return [
        ParticipantStatus(), CohortDashboard(), Payments(), ClaimBoard(), AuditTimeline(),
        Reminders(),
    ]  # fmt: skip
