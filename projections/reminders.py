"""rm.reminders: one row per reminder, where it stands (projection `reminders`).

The reminder job finds here the reminders scheduled earlier and not yet delivered (a run that
crashed half-way, a channel that failed and will be tried again); officers see what was sent.
No personal data: the recipient's address stays sealed in the log.

state: 'scheduled' (to deliver, also after a failed attempt that will be retried), 'sent', or
'failed' (given up). Each event type is one statement per run of consecutive events of that
type in the page, so the page's order is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any, ClassVar

import asyncpg

from events.catalog import ReminderFailed, ReminderScheduled, ReminderSent
from events.types import RecordedEvent
from projections.projection import Projection


class Reminders(Projection):
    name: ClassVar[str] = "reminders"
    version: ClassVar[int] = 1
    consumes = (ReminderScheduled, ReminderSent, ReminderFailed)
    tables = ("reminders",)

    def schema_sql(self, schema: str) -> str:
        return f"""
CREATE TABLE {schema}.reminders (
    reminder_id text PRIMARY KEY,
    kind text NOT NULL,
    period text NOT NULL,
    participant_id text,
    cohort_id text,
    channel text NOT NULL,
    state text NOT NULL,
    attempts int NOT NULL DEFAULT 0,
    last_error text,
    amount bigint,
    due_on date NOT NULL,
    scheduled_at timestamptz NOT NULL,
    sent_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ON {schema}.reminders (reminder_id) WHERE state = 'scheduled';
CREATE INDEX ON {schema}.reminders (participant_id);
CREATE INDEX ON {schema}.reminders (cohort_id);
"""

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        for event_type, run in groupby(events, key=lambda e: e.type):
            sql, args = _STATEMENTS[event_type]
            await conn.executemany(sql.format(schema=schema), [args(e) for e in run])


def _scheduled(e: RecordedEvent[ReminderScheduled]) -> tuple[Any, ...]:
    d = e.data
    return (d.reminder_id, d.kind, d.period, d.participant_id, d.cohort_id, d.channel,
            d.amount, d.due_on, e.occurred_at, e.recorded_at)  # fmt: skip


def _sent(e: RecordedEvent[ReminderSent]) -> tuple[Any, ...]:
    d = e.data
    return (d.reminder_id, d.channel, d.attempt, e.occurred_at, e.recorded_at)


def _failed(e: RecordedEvent[ReminderFailed]) -> tuple[Any, ...]:
    d = e.data
    return (d.reminder_id, d.attempt, d.error, d.will_retry, e.recorded_at)


_STATEMENTS = {
    "ReminderScheduled": (
        """INSERT INTO {schema}.reminders (reminder_id, kind, period, participant_id, cohort_id,
               channel, state, amount, due_on, scheduled_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $8, $9, $10)""",
        _scheduled,
    ),
    "ReminderSent": (
        """UPDATE {schema}.reminders SET state = 'sent', channel = $2, attempts = $3,
               sent_at = $4, updated_at = $5
           WHERE reminder_id = $1""",
        _sent,
    ),
    "ReminderFailed": (
        """UPDATE {schema}.reminders SET attempts = $2, last_error = $3,
               state = CASE WHEN $4 THEN 'scheduled' ELSE 'failed' END, updated_at = $5
           WHERE reminder_id = $1""",
        _failed,
    ),
}
