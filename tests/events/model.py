"""Small event types for the event store tests (the domain's own types come later)."""

from __future__ import annotations

from uuid import uuid4

from events.types import Event, EventRegistry

registry = EventRegistry()


@registry.event()
class Noted(Event):
    text: str


@registry.event()
class Counted(Event):
    n: int


def fresh(category: str = "participant") -> str:
    """A new stream id, so tests never see each other's events."""
    return f"{category}-{uuid4()}"
