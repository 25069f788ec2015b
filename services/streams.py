"""Stream ids of the aggregates the write side keeps, in one place."""

from __future__ import annotations


def cohort_stream(cohort_id: str) -> str:
    return f"cohort-{cohort_id}"


def participant_stream(participant_id: str) -> str:
    return f"participant-{participant_id}"
