"""Premium reminders over HTTP: what was scheduled, sent or given up (rm.reminders).

No personal data: the recipient's address stays sealed in the log; a reminder names the
participant (or, for a sponsor, the cohort) by id. A user scoped to kecamatan sees the
reminders of participants living there, and the sponsors' reminders, which are the regency's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from services.access import Permission
from services.api.auth import BEARER, AuthRequest, requires
from services.api.common import (
    CohortFilter,
    Cursor,
    Limit,
    MinPosition,
    Page,
    ParticipantFilter,
    await_read_models,
    cursor_instant,
    decode_cursor,
    encode_cursor,
    scope_of,
)
from services.domain.reminders import Kind
from services.resources import db_pool


class ReminderView(msgspec.Struct, frozen=True, kw_only=True):
    """One reminder and where it stands: scheduled (also after a failed attempt that will be
    tried again), sent, or failed (given up)."""

    reminder_id: str
    kind: str
    period: str
    """The month it is about (YYYY-MM)."""
    participant_id: str | None
    cohort_id: str | None
    channel: str
    state: str
    attempts: int
    last_error: str | None
    amount: int | None
    due_on: date
    scheduled_at: datetime
    sent_at: datetime | None
    updated_at: datetime


class ReminderPage(Page, frozen=True):
    items: list[ReminderView]


_COLUMNS = ", ".join(f"r.{name}" for name in ReminderView.__struct_fields__)


class RemindersController(Controller):
    path = "/reminders"
    tags = ["reminders"]  # noqa: RUF012 - Litestar reads it as a class attribute
    security = BEARER

    @get(
        guards=[requires(Permission.REMINDERS_READ)], summary="Premium reminders, newest first",
        description="Filter by participant, cohort, kind and state.",
    )  # fmt: skip
    async def list_reminders(
        self,
        request: AuthRequest,
        participant_id: ParticipantFilter = None,
        cohort_id: CohortFilter = None,
        kind: Annotated[Kind | None, QueryParameter(description="What it reminds of.")] = None,
        reminder_state: Annotated[
            Literal["scheduled", "sent", "failed"] | None,
            QueryParameter(name="state", description="Where the reminder stands."),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ReminderPage:
        pool = db_pool(request.app.state)
        await await_read_models(pool, ["reminders", "participant_status"], min_position)
        after = decode_cursor(cursor, width=2, kinds=(str, str))
        after_at = cursor_instant(after[0]) if after else None
        rows = await pool.fetch(
            f"""SELECT {_COLUMNS} FROM rm.reminders r
                WHERE ($1::text IS NULL OR r.participant_id = $1)
                  AND ($2::text IS NULL OR r.cohort_id = $2)
                  AND ($3::text IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.state = $4)
                  AND ($5::text[] IS NULL OR r.participant_id IS NULL OR EXISTS (
                       SELECT 1 FROM rm.participants p
                       WHERE p.participant_id = r.participant_id COLLATE "C"
                         AND p.kecamatan = ANY($5::text[])))
                  AND ($6::timestamptz IS NULL OR (r.scheduled_at, r.reminder_id) < ($6, $7::text))
                ORDER BY r.scheduled_at DESC, r.reminder_id DESC LIMIT $8""",
            participant_id, cohort_id, kind.value if kind else None, reminder_state,
            scope_of(request.user), after_at, str(after[1]) if after else None, limit + 1,
        )  # fmt: skip
        items = [ReminderView(**dict(r)) for r in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        next_cursor = (
            encode_cursor([last.scheduled_at.isoformat(), last.reminder_id]) if last else None
        )
        return ReminderPage(items, next_cursor)
