"""The SLA watch: claims near or past their payment deadline are flagged for their officer and
the supervisors, with the late penalty accrued so far (domain.md "Claims": show time left and
breaches).

Reads the claim board (rm.claims) for claims whose deadline runs, decides with the board's
own SLA reading (projections/claims.py `board_entry`, `sla_level`) which are near or
breached, and records each flag as a ClaimSlaFlagged event on the claim's stream. A flag is
recorded once per claim, level and deadline: the idempotency key says so, so runs that overlap
(or repeat a day, or read a board that lags) never flag twice. The flag decides nothing about
the claim, so it is appended whatever the stream's version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import msgspec

from events.catalog import ClaimSlaFlagged
from events.errors import IdempotencyKeyReused
from events.store import ANY, Context, EventStore
from projections.claims import SLA_RUNNING, BoardEntry, find_claims
from services.claim_decider import claim_stream
from services.domain.policy import DEFAULT_POLICY, Policy

ACTOR = "system:sla_watch"
SUPERVISORS = "role:supervisor"


class SlaWatchRun(msgspec.Struct, frozen=True, kw_only=True):
    """What one run found and did."""

    as_of: date
    checked: int
    """Claims whose deadline runs."""
    flagged: list[ClaimSlaFlagged]
    """Flags this run recorded."""
    already_flagged: int
    """Flags due that an earlier (or overlapping) run had recorded."""


def flag_key(flag: ClaimSlaFlagged) -> str:
    return f"sla:{flag.claim_id}:{flag.level}:{flag.deadline}"


def flags_due(entries: Sequence[BoardEntry]) -> list[ClaimSlaFlagged]:
    """The flags the board entries call for: near or breached, unless the board already shows
    that flag on the current deadline (pure)."""
    due = []
    for entry in entries:
        claim, sla = entry.claim, entry.sla
        if sla is None or entry.sla_status not in ("near", "breached"):
            continue
        if claim.state not in SLA_RUNNING or claim.sla_flag == entry.sla_status:
            continue
        due.append(
            ClaimSlaFlagged(
                claim_id=claim.claim_id, level=entry.sla_status, deadline=sla.deadline,
                working_days_left=sla.working_days_left,
                working_days_late=sla.working_days_late,
                accrued_penalty=entry.accrued_penalty, officer=claim.officer,
                notify=[*([claim.officer] if claim.officer else []), SUPERVISORS],
            )
        )  # fmt: skip
    return due


async def watch_sla(store: EventStore, today: date, policy: Policy = DEFAULT_POLICY) -> SlaWatchRun:
    """Flag the claims near or past their deadline on `today` (a Jakarta business date)."""
    entries = await find_claims(store.pool, today, policy=policy, state=SLA_RUNNING)
    running = [e for e in entries if e.sla is not None]
    flagged: list[ClaimSlaFlagged] = []
    already = 0
    for flag in flags_due(running):
        context = Context(actor=ACTOR)
        try:
            stream = claim_stream(flag.claim_id)
            key = flag_key(flag)
            result = await store.append(stream, [flag], ANY, context=context, idempotency_key=key)
        except IdempotencyKeyReused:  # flagged on an earlier day, with the figures of then
            already += 1
            continue
        (recorded,) = await store.read_stream(
            result.stream_id, from_version=result.stream_version, up_to=result.stream_version
        )
        if recorded.correlation_id == context.correlation_id:
            flagged.append(flag)
        else:  # an overlapping run recorded the same flag first
            already += 1
    return SlaWatchRun(as_of=today, checked=len(running), flagged=flagged, already_flagged=already)
