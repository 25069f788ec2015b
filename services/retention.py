"""The retention rule for personal data (policy: years after membership ended).

A participant's personal data is due for erasure once their last membership ended more than
`policy.personal_data_retention_years` ago: they left (death, withdrawal, moved away, formal
job) or their membership lapsed for unpaid contributions. Subjects already erased are not
listed. The list is computed from the log (a nightly job at most); the erasure itself stays a
deliberate, recorded act of an administrator (`jaga personal-data erase`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import msgspec

from events.catalog import (
    ContributionPaid,
    ContributionReversed,
    ParticipantEnrolled,
    ParticipantLeft,
    ParticipantRegistered,
)
from events.store import EventStore
from events.types import Event
from services.domain.calendar import add_months
from services.domain.coverage import contribution_history
from services.domain.policy import Policy
from services.membership import facts_of

_TYPES = [
    t.__name__
    for t in (ParticipantRegistered, ParticipantEnrolled, ParticipantLeft, ContributionPaid,
              ContributionReversed)
]  # fmt: skip


class DueForErasure(msgspec.Struct, frozen=True):
    subject_id: str
    membership_ended: date
    keep_until: date


async def due_for_erasure(store: EventStore, policy: Policy, today: date) -> list[DueForErasure]:
    events: dict[str, list[Event]] = defaultdict(list)
    checkpoint = 0
    while True:
        page = await store.read_all(checkpoint, batch_size=5000, types=_TYPES)
        for recorded in page.events:
            participant_id = getattr(recorded.data, "participant_id", None)
            if participant_id is not None:
                events[participant_id].append(recorded.data)
        if page.checkpoint == checkpoint:
            break
        checkpoint = page.checkpoint
    erased = {
        r[0]
        for r in await store.pool.fetch(
            "SELECT subject_id FROM subject_keys WHERE erased_at IS NOT NULL"
        )
    }
    due = []
    for participant_id, history_events in events.items():
        if participant_id in erased:
            continue
        ended = membership_ended(history_events, today)
        if ended is None:
            continue
        keep_until = add_months(ended, 12 * policy.personal_data_retention_years)
        if keep_until <= today:
            due.append(DueForErasure(participant_id, ended, keep_until))
    return sorted(due, key=lambda d: (d.membership_ended, d.subject_id))


def membership_ended(events: list[Event], today: date) -> date | None:
    """When the participant's last membership ended (they left, or it lapsed for unpaid
    contributions), or None while it goes on or never started."""
    last_left: ParticipantLeft | None = None
    for event in events:
        if isinstance(event, ParticipantEnrolled):
            last_left = None  # a later enrolment starts a new membership
        elif isinstance(event, ParticipantLeft):
            last_left = event
    if last_left is not None:
        return last_left.left_on
    found = facts_of(events)
    if found is None:
        return None
    facts, amount_due = found
    history = contribution_history(facts, today=today, amount_due=amount_due)
    return history.periods[-1].ended_on if history.periods else None
