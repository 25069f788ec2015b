"""Membership and coverage of one participant, derived from their own events.

"Was participant P covered on date D?" is answered from P's stream alone: the enrolment, each
share of a payment, reversals, and leaving (a death, or leaving for any other reason: either
ends the membership, see services/domain/coverage.py). Read "as known at" an earlier instant,
it shows what Jaga knew then (only events recorded by that instant count).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from events.catalog import (
    ContributionPaid,
    ContributionReversed,
    ParticipantEnrolled,
    ParticipantLeft,
    ParticipantRegistered,
)
from events.store import EventStore
from events.types import Event
from services.domain.calendar import Month
from services.domain.coverage import (
    Cessation,
    CessationKind,
    ContributionFacts,
    ContributionHistory,
    Coverage,
    Payment,
    contribution_history,
    is_covered,
)
from services.domain.errors import NotFound
from services.domain.rates import contribution_due
from services.streams import participant_stream


def cessation_of(reason: str, left_on: date, enrolled_on: date | None = None) -> Cessation:
    """What a ParticipantLeft ends: a death ends membership for good; any other reason
    (withdrawal, moving away, becoming a formal employee) is leaving, which frees the slot:
    no month after `left_on`'s is due, and a re-join starts a new membership. `enrolled_on`:
    the first day of the membership left, when the event says it (dated before it, the
    leaving cancels that membership)."""
    return Cessation(kind=CessationKind(reason), on=left_on, enrolled_on=enrolled_on)


def facts_of(events: list[Event]) -> tuple[ContributionFacts, Callable[[Month], int]] | None:
    """The contribution facts in a participant's events, and what each month costs them;
    None before they were ever enrolled."""
    income, programmes = 0, ("JKK", "JKM")
    enrolments: list[Month] = []
    shares: list[ContributionPaid] = []
    reversed_refs: set[str] = set()
    cessation: Cessation | None = None
    leavings: list[Cessation] = []
    for event in events:
        match event:
            case ParticipantRegistered():
                income = event.declared_income
            case ParticipantEnrolled():
                enrolments.append(Month.of(event.enrolled_on))
                programmes = tuple(event.programmes)
            case ContributionPaid():
                shares.append(event)
            case ContributionReversed():
                reversed_refs.add(event.reference)
            case ParticipantLeft():
                left = cessation_of(event.reason, event.left_on, event.enrolled_on)
                if left.kind.final:
                    cessation = left
                else:
                    leavings.append(left)
    if not enrolments:
        return None
    payments = tuple(
        Payment(
            reference=s.reference,
            payer=s.payer,
            months=tuple(Month.parse(m) for m in s.months),
            paid_at=s.paid_at,
            amount=s.amount,
            reversed=s.reference in reversed_refs,
        )
        for s in shares
    )
    facts = ContributionFacts(
        start=enrolments[0], payments=payments, rejoins=tuple(enrolments[1:]),
        cessation=cessation, leavings=tuple(leavings),
    )  # fmt: skip
    return facts, lambda month: contribution_due(income, programmes, month).total


def history_of(events: list[Event], today: date) -> ContributionHistory | None:
    """Months, membership periods, arrears and credit from a participant's events as of
    `today` (None: never enrolled)."""
    found = facts_of(events)
    if found is None:
        return None
    facts, amount_due = found
    return contribution_history(facts, today=today, amount_due=amount_due)


async def history(
    store: EventStore, participant_id: str, *, today: date, as_known_at: datetime | None = None
) -> ContributionHistory | None:
    """`history_of` the participant's stream, as known at an instant if given."""
    recorded = await store.read_stream(participant_stream(participant_id), as_known_at=as_known_at)
    if not recorded:
        raise NotFound("participant", participant_id)
    return history_of([r.data for r in recorded], today)


async def coverage_on(
    store: EventStore,
    participant_id: str,
    day: date,
    *,
    today: date,
    as_known_at: datetime | None = None,
) -> Coverage | None:
    """Was the participant covered on `day`, with the reason; None if never enrolled."""
    found = await history(store, participant_id, today=today, as_known_at=as_known_at)
    return None if found is None else is_covered(found, day)
