"""Small event types for the event store tests (the domain's own types come later)."""

from __future__ import annotations

from typing import ClassVar
from uuid import uuid4

import msgspec

from events.catalog import PersonalDataErased
from events.personal import Personal
from events.types import Event, EventRegistry

registry = EventRegistry([PersonalDataErased])


@registry.event()
class Noted(Event):
    text: str


@registry.event()
class Counted(Event):
    n: int


class Witness(msgspec.Struct, frozen=True):
    """Someone else's personal data inside a participant's event: sealed under their own key."""

    __subject__: ClassVar[str] = "person_id"
    person_id: str
    name: Personal
    phone: Personal | None = None


@registry.event()
class Enrolled(Event, frozen=True):
    __subject__: ClassVar[str] = "participant_id"
    participant_id: str
    nik: Personal
    name: Personal
    phone: Personal | None
    desa: str
    witnesses: list[Witness] = msgspec.field(default_factory=list)


def fresh(category: str = "participant") -> str:
    """A new stream id, so tests never see each other's events."""
    return f"{category}-{uuid4()}"
