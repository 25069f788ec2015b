"""The claim board (rm.claims): one row per claim, what its officers work from.

The row holds only what the claim's events say, so a rebuild gives the same rows at any time;
the payment deadline is part of that (the business calendar applied to the day the documents
were complete). What depends on today (days open, working days left, lateness, the penalty
accrued so far) is computed when read, by `board_entry`, with the SLA rules of
services/domain/sla.py that the write side pays by.

A claim returned for documents or reopened has no complete documents again until it is
submitted anew, which starts a new deadline: its row drops the old one (and any SLA flag on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import ClassVar

import asyncpg
import msgspec

from events.catalog import (
    ClaimApprovalProposed,
    ClaimApproved,
    ClaimAssigned,
    ClaimDocumentReceived,
    ClaimDocumentsIncomplete,
    ClaimFiled,
    ClaimPaid,
    ClaimRejected,
    ClaimReopened,
    ClaimReturned,
    ClaimSlaFlagged,
    ClaimSubmitted,
    ClaimVerificationStarted,
)
from events.types import RecordedEvent
from projections.projection import Projection
from services.domain import sla
from services.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar, business_date
from services.domain.policy import DEFAULT_POLICY, Policy

SLA_RUNNING = ("submitted", "under_verification", "awaiting_second_approval", "approved")
"""Claim states (services/claim_decider.py) with complete documents and the benefit unpaid:
the payment deadline runs."""

SLA_STATUSES = ("ok", "near", "breached")


class ClaimRow(msgspec.Struct, kw_only=True):
    """A row of rm.claims (the read-model contract), field for column."""

    claim_id: str
    kind: str
    participant_id: str
    accident_id: str | None
    event_on: date
    filed_at: datetime
    state: str
    officer: str | None = None
    required_documents: list[str]
    received_documents: list[str] = []
    missing_documents: list[str]
    documents_complete_at: datetime | None = None
    sla_working_days: int | None = None
    sla_deadline: date | None = None
    proposed_by: str | None = None
    approved_by: str | None = None
    total: int | None = None
    """The approved benefit."""
    paid_amount: int | None = None
    """Everything paid so far, late penalties included."""
    paid_at: datetime | None = None
    working_days_late: int | None = None
    """Of the last payment."""
    penalty: int | None = None
    """Late penalties paid so far."""
    rejection_reasons: list[str] = []
    sla_flag: str | None = None
    """The latest SLA watch flag on the current deadline: near or breached."""
    closed_at: datetime | None = None
    """When it was paid or rejected; none while open (again)."""
    updated_at: datetime
    last_position: int


_COLUMNS = ClaimRow.__struct_fields__

_TABLE = """
CREATE TABLE {schema}.claims (
    claim_id              text PRIMARY KEY,
    kind                  text NOT NULL,
    participant_id        text NOT NULL,
    accident_id           text,
    event_on              date NOT NULL,
    filed_at              timestamptz NOT NULL,
    state                 text NOT NULL,
    officer               text,
    required_documents    text[] NOT NULL,
    received_documents    text[] NOT NULL,
    missing_documents     text[] NOT NULL,
    documents_complete_at timestamptz,
    sla_working_days      integer,
    sla_deadline          date,
    proposed_by           text,
    approved_by           text,
    total                 bigint,
    paid_amount           bigint,
    paid_at               timestamptz,
    working_days_late     integer,
    penalty               bigint,
    rejection_reasons     text[] NOT NULL,
    sla_flag              text CHECK (sla_flag IN ('near', 'breached')),
    closed_at             timestamptz,
    updated_at            timestamptz NOT NULL,
    last_position         bigint NOT NULL
);
CREATE INDEX ON {schema}.claims (state, sla_deadline);
CREATE INDEX ON {schema}.claims (officer, state);
CREATE INDEX ON {schema}.claims (participant_id);
"""


def sla_deadline(
    documents_complete_at: datetime,
    working_days: int,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> date:
    """The payment deadline: the Nth working day after the (Jakarta) day the documents were
    complete, as services/domain/sla.claim_sla counts it."""
    return calendar.add_working_days(business_date(documents_complete_at), working_days)


def _back_to_documents(row: ClaimRow, **changes: object) -> ClaimRow:
    """Returned or reopened: no complete documents, so no deadline, flag or pending proposal."""
    return msgspec.structs.replace(
        row, documents_complete_at=None, sla_working_days=None, sla_deadline=None,
        sla_flag=None, proposed_by=None, **changes,
    )  # fmt: skip


def evolve(row: ClaimRow | None, recorded: RecordedEvent) -> ClaimRow:
    """The row after one claim event (pure: the projection folds each page with it)."""
    e = recorded.data
    if isinstance(e, ClaimFiled):
        return ClaimRow(
            claim_id=e.claim_id, kind=e.kind, participant_id=e.participant_id,
            accident_id=e.accident_id, event_on=e.event_on, filed_at=e.filed_at,
            state="reported", required_documents=list(e.required_documents),
            missing_documents=list(e.required_documents), updated_at=recorded.recorded_at,
            last_position=recorded.position,
        )  # fmt: skip
    if row is None:
        raise ValueError(f"{recorded.type} at position {recorded.position}: claim not filed")
    replace = msgspec.structs.replace
    match e:
        case ClaimAssigned():
            row = replace(row, officer=e.officer)
        case ClaimDocumentReceived():
            if e.document not in row.received_documents:
                row = replace(row, received_documents=[*row.received_documents, e.document])
        case ClaimDocumentsIncomplete():
            row = replace(row, state="documents_incomplete")
        case ClaimSubmitted():
            row = replace(
                row, state="submitted", documents_complete_at=e.documents_complete_at,
                sla_working_days=e.sla_working_days,
                sla_deadline=sla_deadline(e.documents_complete_at, e.sla_working_days),
                sla_flag=None,
            )  # fmt: skip
        case ClaimVerificationStarted():
            row = replace(row, state="under_verification")
        case ClaimReturned():
            received = [d for d in row.received_documents if d not in e.missing]
            required = row.required_documents + [
                d for d in e.missing if d not in row.required_documents
            ]
            row = _back_to_documents(row, state="returned", received_documents=received,
                                    required_documents=required)  # fmt: skip
        case ClaimApprovalProposed():
            row = replace(row, state="awaiting_second_approval", proposed_by=e.officer)
        case ClaimApproved():
            row = replace(row, state="approved", approved_by=e.officer,
                          proposed_by=e.first_officer, total=e.total)  # fmt: skip
        case ClaimRejected():
            row = replace(row, state="rejected", rejection_reasons=list(e.reasons),
                          closed_at=e.decided_at)  # fmt: skip
        case ClaimPaid():
            row = replace(
                row, state="paid", paid_amount=(row.paid_amount or 0) + e.amount,
                paid_at=e.paid_at, working_days_late=e.working_days_late,
                penalty=(row.penalty or 0) + (e.penalty.amount if e.penalty else 0),
                closed_at=e.paid_at,
            )  # fmt: skip
        case ClaimReopened():
            row = _back_to_documents(row, state="reopened", closed_at=None)
        case ClaimSlaFlagged():
            if e.deadline == row.sla_deadline:  # a flag on a deadline since replaced is moot
                row = replace(row, sla_flag=e.level)
    missing = [d for d in row.required_documents if d not in row.received_documents]
    return replace(row, missing_documents=missing, updated_at=recorded.recorded_at,
                   last_position=recorded.position)  # fmt: skip


class ClaimBoard(Projection):
    name: ClassVar[str] = "claim_board"
    version: ClassVar[int] = 1
    consumes = (
        ClaimFiled, ClaimAssigned, ClaimDocumentReceived, ClaimDocumentsIncomplete,
        ClaimSubmitted, ClaimVerificationStarted, ClaimReturned, ClaimApprovalProposed,
        ClaimApproved, ClaimRejected, ClaimPaid, ClaimReopened, ClaimSlaFlagged,
    )  # fmt: skip
    tables = ("claims",)

    def schema_sql(self, schema: str) -> str:
        return _TABLE.format(schema=schema)

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        """Read the page's claims once, fold the page over them, write them back at once."""
        ids = list({e.data.claim_id for e in events})
        found = await conn.fetch(
            f"SELECT * FROM {schema}.claims WHERE claim_id = ANY($1::text[])", ids
        )
        rows: dict[str, ClaimRow] = {r["claim_id"]: ClaimRow(**dict(r)) for r in found}
        for e in events:
            rows[e.data.claim_id] = evolve(rows.get(e.data.claim_id), e)
        placeholders = ", ".join(f"${n}" for n in range(1, len(_COLUMNS) + 1))
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
        await conn.executemany(
            f"""INSERT INTO {schema}.claims ({", ".join(_COLUMNS)}) VALUES ({placeholders})
                ON CONFLICT (claim_id) DO UPDATE SET {updates}""",
            [msgspec.structs.astuple(row) for row in rows.values()],
        )


# -- reading: what depends on today ------------------------------------------------------------


class BoardEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A claim as an officer sees it on `as_of`."""

    claim: ClaimRow
    as_of: date
    days_open: int
    """Calendar days from filing to closing, or to `as_of` while open."""
    sla: sla.ClaimSla | None
    """Deadline, working days left or late, breach and penalty (None while the deadline does
    not run: documents incomplete, or rejected)."""
    sla_status: str | None
    """ok, near (the deadline is within the policy's warning days) or breached."""
    accrued_penalty: int
    """The late penalty owed were the benefit paid on `as_of` (or the one paid, once paid)."""


def sla_level(claim_sla: sla.ClaimSla, policy: Policy) -> str | None:
    """near, breached, or None: what the SLA watch flags and the board highlights."""
    if claim_sla.breached:
        return "breached"
    if claim_sla.paid_on is None and claim_sla.working_days_left <= (
        policy.sla_warning_working_days
    ):
        return "near"
    return None


def board_entry(
    row: ClaimRow,
    today: date,
    policy: Policy = DEFAULT_POLICY,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> BoardEntry:
    """The claim's days open and SLA as of `today` (services/domain/sla.claim_sla: the rules
    the payment is made by; the penalty on the approved benefit, 0 before approval)."""
    filed_on = business_date(row.filed_at)
    end = business_date(row.closed_at) if row.closed_at is not None else today
    claim_sla = None
    if row.documents_complete_at is not None and row.state != "rejected":
        assert row.sla_working_days is not None
        claim_sla = sla.claim_sla(
            documents_complete_on=business_date(row.documents_complete_at),
            working_days=row.sla_working_days, benefit=row.total or 0, today=today,
            paid_on=business_date(row.paid_at) if row.state == "paid" and row.paid_at else None,
            calendar=calendar, basis_points_per_day=policy.late_penalty_basis_points_per_day,
            rules_version=policy.version,
        )  # fmt: skip
    status = None
    if claim_sla is not None:
        status = sla_level(claim_sla, policy) or "ok"
    return BoardEntry(
        claim=row, as_of=today, days_open=max((min(end, today) - filed_on).days, 0),
        sla=claim_sla, sla_status=status,
        accrued_penalty=claim_sla.penalty.amount if claim_sla and claim_sla.penalty else 0,
    )  # fmt: skip


async def find_claims(
    db: asyncpg.Pool | asyncpg.Connection,
    today: date,
    *,
    policy: Policy = DEFAULT_POLICY,
    state: str | Sequence[str] | None = None,
    officer: str | None = None,
    sla_status: str | None = None,
    kecamatan: str | None = None,
) -> list[BoardEntry]:
    """Board entries as of `today`, by claim state(s), officer, SLA status (ok, near,
    breached: as of `today`) and the participant's kecamatan code (from rm.participants);
    soonest deadline first."""
    if sla_status is not None and sla_status not in SLA_STATUSES:
        raise ValueError(f"SLA status {sla_status!r}: one of {', '.join(SLA_STATUSES)}")
    states = [state] if isinstance(state, str) else list(state) if state is not None else None
    join = "JOIN rm.participants p USING (participant_id)" if kecamatan is not None else ""
    rows = await db.fetch(
        f"""SELECT c.* FROM rm.claims c {join}
            WHERE ($1::text[] IS NULL OR c.state = ANY($1::text[]))
              AND ($2::text IS NULL OR c.officer = $2)
              AND ($3::boolean OR (c.documents_complete_at IS NOT NULL
                                   AND c.state <> 'rejected'))
              {"AND p.kecamatan = $4" if kecamatan is not None else ""}
            ORDER BY c.sla_deadline NULLS LAST, c.filed_at, c.claim_id""",
        states,
        officer,
        sla_status is None,
        *([kecamatan] if kecamatan is not None else []),
    )
    entries = [board_entry(ClaimRow(**dict(r)), today, policy) for r in rows]
    if sla_status is None:
        return entries
    return [e for e in entries if e.sla_status == sla_status]
