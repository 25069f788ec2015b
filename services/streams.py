"""Stream ids of the aggregates the write side keeps, in one place."""

from __future__ import annotations


def cohort_stream(cohort_id: str) -> str:
    return f"cohort-{cohort_id}"


def participant_stream(participant_id: str) -> str:
    return f"participant-{participant_id}"


def death_stream(participant_id: str) -> str:
    """Who claims a participant's death: one standing claim, JKK or JKM (services/claims.py)."""
    return f"death-{participant_id}"
