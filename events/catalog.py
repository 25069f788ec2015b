"""Every event type Jaga records, in one place: a reader learns the system from this file.

Personal fields are typed `Personal` (sealed per data subject, see events/personal.py); each
event type or nested struct holding them names its data subject's field in `__subject__`.
"""

from __future__ import annotations

from events.types import Event, EventRegistry

registry = EventRegistry()


# -- personal data -----------------------------------------------------------------------------


@registry.event()
class PersonalDataErased(Event, frozen=True):
    """A data subject's key was destroyed: their personal values read as "dihapus" from now on."""

    subject_id: str
    reason: str
