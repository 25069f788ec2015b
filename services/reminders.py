"""The premium reminder job: decide what is due today, put it in the outbox, deliver it once.

1. **Decide** (services/domain/reminders.py) from the read models: rm.participants with each
   participant's standing as of today (projections/participants.py) and rm.cohorts. The read
   models are taken as they are; a caller wanting the very latest payments runs the projectors
   first.
2. **Schedule**: each due reminder is a `ReminderScheduled` event in its own stream,
   `reminder-<reminder_id>`, appended expecting NO_STREAM. The id derives from (recipient,
   period, kind), so a second run, concurrent or a day later, finds the stream there and
   schedules nothing: the stream is the outbox entry and its creation the idempotency check.
   (An idempotency key would add nothing, and could never replay: the sealed recipient is
   encrypted with a fresh nonce, so the repeated request never hashes the same.)
3. **Deliver** everything scheduled and not yet delivered: what was just decided, and what
   rm.reminders still shows as scheduled (a run that crashed half-way, a failed attempt to be
   tried again). Per reminder: a Postgres session advisory lock (taken with
   pg_try_advisory_lock on one pooled connection that never opens a transaction, since an open
   transaction would hold back every reader of the log), then the stream is read again, and
   a reminder already sent or given up is left alone; otherwise it is sent with its id as the
   provider's idempotency key and `ReminderSent` or `ReminderFailed` is appended at the version
   read. A reminder goes out only while it is due: one scheduled earlier that today's facts
   no longer call for (paid meanwhile, its window closed) is given up instead of sent late.

Two runs at once therefore send each reminder once: one holds its lock, the other skips it,
or finds it sent. A crash after the provider took a message and before `ReminderSent` was
recorded sends it again on the next run, with the same idempotency key, so a provider that
honours keys (the file sink does) still delivers it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar
from uuid import uuid4

import asyncpg
import msgspec

from events.catalog import ReminderFailed, ReminderScheduled, ReminderSent
from events.errors import WrongExpectedVersion
from events.personal import ERASED
from events.store import NO_STREAM, Context, EventStore
from events.types import RecordedEvent
from projections.participants import funder_changes, standing
from services.channels import Channel, DeliveryFailed, Routes, configured_routes
from services.config import Settings
from services.domain.policy import DEFAULT_POLICY, Policy
from services.domain.reminders import Cohort, DueReminder, Member, due_reminders

log = logging.getLogger("jaga.reminders")

ACTOR = "system:reminders"
SCHEDULING_CONCURRENCY = 16
DELIVERY_CONCURRENCY = 8
"""Deliveries under way at once; each needs a pool connection for its reads and appends."""

A = TypeVar("A")
T = TypeVar("T")


class ReminderRun(msgspec.Struct, frozen=True, kw_only=True):
    """What one run did."""

    due: int  # reminders due today
    scheduled: int  # put in the outbox by this run
    sent: int
    failed: int  # delivery attempts that failed, or given up (no longer due, recipient erased)
    skipped: int  # found sent, given up, or being delivered by another run
    unreachable: int  # due, but no address to send to (phone erased, no sponsor e-mail)


class _Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


def reminder_stream(reminder_id: str) -> str:
    return f"reminder-{reminder_id}"


async def send_due_reminders(
    store: EventStore,
    settings: Settings,
    today: date,
    channel: Channel | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> ReminderRun:
    """Schedule the reminders due `today` (a Jakarta date) and deliver every undelivered one,
    through `channel` when given, else through the channels the settings name."""
    if channel is not None:
        return await _run(store, settings, today, Routes.only(channel), policy)
    async with configured_routes(settings) as routes:
        return await _run(store, settings, today, routes, policy)


async def _run(
    store: EventStore, settings: Settings, today: date, routes: Routes, policy: Policy
) -> ReminderRun:
    members, phones = await _members(store.pool, today)
    due = due_reminders(today, members, await _cohorts(store.pool), policy)
    outbox: list[tuple[DueReminder, str]] = []
    for reminder in due:
        if reminder.participant_id is None:
            address = settings.sponsor_email
        else:
            address = phones.get(reminder.participant_id)
        if address and address != ERASED:
            outbox.append((reminder, address))
    context = Context(actor=ACTOR, correlation_id=uuid4())
    scheduled = await _schedule(store, outbox, routes, policy, context)

    rows = await store.pool.fetch(
        """SELECT reminder_id, state = 'scheduled' AS pending FROM rm.reminders
           WHERE state = 'scheduled' OR reminder_id = ANY($1::text[])""",
        [reminder.reminder_id for reminder, _ in outbox],
    )
    done = {r["reminder_id"] for r in rows if not r["pending"]}
    pending = [r["reminder_id"] for r in rows if r["pending"]]
    reachable = [r.reminder_id for r, _ in outbox]
    candidates = list(dict.fromkeys([*(i for i in reachable if i not in done), *pending]))
    due_ids = {r.reminder_id for r in due}
    async with _advisory_locks(store.pool) as locks:

        async def deliver(reminder_id: str) -> _Outcome:
            still_due = reminder_id in due_ids
            return await _deliver(
                store, locks, reminder_id, still_due, routes, today, policy, context
            )

        outcomes = await _each(DELIVERY_CONCURRENCY, candidates, deliver)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    run = ReminderRun(
        due=len(due),
        scheduled=scheduled,
        sent=outcomes.count(_Outcome.SENT),
        failed=outcomes.count(_Outcome.FAILED),
        skipped=outcomes.count(_Outcome.SKIPPED) + len(done),
        unreachable=len(due) - len(outbox),
    )
    log.info("reminders for %s: %s", today, run)
    for error in errors:
        log.error("a reminder could not be delivered", exc_info=error)
    if errors:  # every other reminder was still delivered; a retried run takes these again
        raise errors[0]
    return run


# -- reading the read models -------------------------------------------------------------------


async def _members(pool: asyncpg.Pool, today: date) -> tuple[list[Member], dict[str, str]]:
    """Enrolled participants as members with their standing today, and their phone numbers."""
    rows = await pool.fetch(
        """SELECT participant_id, cohort_id, status, enrolments, contributions, left_on,
                  leavings, declared_income, programmes, funders, phone
           FROM rm.participants WHERE status = 'enrolled'"""
    )
    members: list[Member] = []
    phones: dict[str, str] = {}
    for record in rows:
        row = dict(record)
        found = standing(row, today)
        if found.history is None:
            continue
        members.append(
            Member.of(
                row["participant_id"],
                row["cohort_id"],
                found.status_as_of,
                found.history,
                funders=funder_changes(row),
                declared_income=row["declared_income"],
                programmes=tuple(row["programmes"]),
            )
        )
        phones[row["participant_id"]] = row["phone"]
    return members, phones


async def _cohorts(pool: asyncpg.Pool) -> list[Cohort]:
    rows = await pool.fetch(
        """SELECT cohort_id, name, sponsor, budget_year, coverage_start, coverage_end
           FROM rm.cohorts"""
    )
    return [Cohort(**dict(r)) for r in rows]


# -- the outbox --------------------------------------------------------------------------------


async def _schedule(
    store: EventStore,
    outbox: list[tuple[DueReminder, str]],
    routes: Routes,
    policy: Policy,
    context: Context,
) -> int:
    """Append a ReminderScheduled for each reminder not yet in the log; returns how many."""
    existing = await store.existing_streams([reminder_stream(r.reminder_id) for r, _ in outbox])

    async def schedule(entry: tuple[DueReminder, str]) -> bool:
        reminder, address = entry
        channel = routes.worker if reminder.participant_id else routes.sponsor
        event = ReminderScheduled(
            reminder_id=reminder.reminder_id,
            kind=reminder.kind.value,
            period=str(reminder.period),
            participant_id=reminder.participant_id,
            cohort_id=reminder.cohort_id,
            recipient_id=reminder.recipient_id,
            channel=channel.name,
            recipient=address,
            message=reminder.message,
            amount=reminder.amount,
            due_on=reminder.due_on,
            policy_version=policy.version,
        )
        stream = reminder_stream(reminder.reminder_id)
        try:
            await store.append(stream, [event], NO_STREAM, context=context)
        except WrongExpectedVersion:
            return False  # another run scheduled it first
        return True

    new = [e for e in outbox if reminder_stream(e[0].reminder_id) not in existing]
    scheduled = 0
    for result in await _each(SCHEDULING_CONCURRENCY, new, schedule):
        if isinstance(result, BaseException):
            raise result
        scheduled += result
    return scheduled


class _Locks:
    """Session advisory locks on one pooled connection that never opens a transaction; its
    statements take turns (a connection runs one at a time)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._turn = asyncio.Lock()

    @asynccontextmanager
    async def hold(self, reminder_id: str) -> AsyncIterator[bool]:
        """Whether this run holds the reminder's lock (False: another run does)."""
        key = f"reminder:{reminder_id}"
        async with self._turn:
            held = await self._conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key
            )
        try:
            yield held
        finally:
            if held:
                async with self._turn:
                    await self._conn.fetchval(
                        "SELECT pg_advisory_unlock(hashtextextended($1, 0))", key
                    )


@asynccontextmanager
async def _advisory_locks(pool: asyncpg.Pool) -> AsyncIterator[_Locks]:
    # Released with the connection even if an unlock is cut short (the pool's reset runs
    # pg_advisory_unlock_all).
    async with pool.acquire() as conn:
        yield _Locks(conn)


async def _deliver(
    store: EventStore,
    locks: _Locks,
    reminder_id: str,
    still_due: bool,
    routes: Routes,
    today: date,
    policy: Policy,
    context: Context,
) -> _Outcome:
    stream = reminder_stream(reminder_id)
    async with locks.hold(reminder_id) as held:
        if not held:
            return _Outcome.SKIPPED  # another run is delivering it
        recorded = await store.read_stream(stream)
        if not recorded:
            raise LookupError(f"reminder {reminder_id} is not in the log ({stream})")
        first: RecordedEvent[ReminderScheduled] = recorded[0]
        scheduled = first.data
        events = [r.data for r in recorded[1:]]
        failures = [e for e in events if isinstance(e, ReminderFailed)]
        if any(isinstance(e, ReminderSent) for e in events) or any(
            not f.will_retry for f in failures
        ):
            return _Outcome.SKIPPED
        attempt = len(failures) + 1
        caused = msgspec.structs.replace(context, causation_id=first.event_id)

        async def failed(error: str, will_retry: bool = False) -> _Outcome:
            log.warning("reminder %s, attempt %s: %s", reminder_id, attempt, error)
            event = ReminderFailed(
                reminder_id=reminder_id,
                participant_id=scheduled.participant_id,
                cohort_id=scheduled.cohort_id,
                attempt=attempt,
                error=error,
                will_retry=will_retry,
            )
            await store.append(stream, [event], recorded[-1].stream_version, context=caused)
            return _Outcome.FAILED

        if not still_due:  # paid meanwhile, or its window has closed: too late to send it
            return await failed(f"not sent: no longer due on {today}")
        if scheduled.recipient == ERASED:
            return await failed("not sent: the recipient's personal data was erased")
        channel = routes.worker if scheduled.participant_id else routes.sponsor
        try:
            reference = await channel.send(scheduled.recipient, scheduled.message, reminder_id)
        except DeliveryFailed as exc:
            return await failed(str(exc), attempt < policy.reminder_delivery_attempts)
        sent = ReminderSent(
            reminder_id=reminder_id,
            participant_id=scheduled.participant_id,
            cohort_id=scheduled.cohort_id,
            channel=channel.name,
            provider_reference=reference,
            attempt=attempt,
        )
        await store.append(stream, [sent], recorded[-1].stream_version, context=caused)
        return _Outcome.SENT


async def _each(
    limit: int, items: Iterable[A], job: Callable[[A], Awaitable[T]]
) -> list[T | BaseException]:
    """`job` on each item, at most `limit` at a time: each result, or the exception it raised,
    so that one failure does not stop the others."""
    gate = asyncio.Semaphore(limit)

    async def one(item: A) -> T:
        async with gate:
            return await job(item)

    results: list[Any] = await asyncio.gather(*map(one, items), return_exceptions=True)
    return results
