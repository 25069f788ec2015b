"""rm.participants: one row per participant, the facts their own events state (projection
`participant_status`), and `standing`, their status as of a date, computed when read.

The rows store only what events say, so a rebuild at any time gives the same rows; anything
that depends on today (arrears, lapse, coverage) comes from `standing(row, today)`, which
hands the row's contribution facts to services/domain/coverage.py, the rules the write side
uses (services/membership.py).

Built for replay speed, because a rebuild replays every contribution share of every
participant (a sponsor's payment is one share per member). Two tables behind the view
`participants`:

- `participant_facts`: one row per participant, everything but the contributions. Per page,
  one SELECT of the rows the page touches with anything but a share, a fold of the page into
  them in Python (a row is a plain list, indexed by the constants below) and one set-based
  upsert. Array columns travel as text joined by a control character, because `unnest`
  would flatten arrays of arrays.
- `contribution_shares`: append-only, one row per ContributionPaid, written by one COPY per
  page. Rewriting a participant's row for each share cost twice as much in the database.

The view derives `contributions`, `paid_months` (net of reversals: a reversed reference is
kept on the facts row, as services.membership.facts_of keeps it), and `updated_at` /
`last_position` of the participant's last event. A share of a participant the log never
registered (nor named otherwise) is kept but shows no row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, ClassVar, Literal

import asyncpg
import msgspec

from events.catalog import (
    ContributionPaid,
    ContributionReversed,
    FunderChanged,
    KpjRecorded,
    ParticipantEnrolled,
    ParticipantLeft,
    ParticipantRegistered,
    ParticipantWaitlisted,
    PersonalDataErased,
)
from events.personal import ERASED, plan_for
from events.types import Event, RecordedEvent
from projections.projection import Projection
from services.domain.calendar import Month
from services.domain.coverage import (
    Cessation,
    CessationKind,
    ContributionFacts,
    ContributionHistory,
    MembershipPeriod,
    Payment,
    contribution_history,
)
from services.domain.policy import DEFAULT_POLICY, Policy
from services.domain.rates import contribution_due

FACTS = (
    "participant_id", "cohort_id", "nik_hash", "nik", "name", "birth_date", "sex", "phone",
    "kecamatan", "desa", "occupation", "declared_income", "priority", "status", "waitlist_seq",
    "enrolled_on", "left_on", "left_reason", "programmes", "funder", "funder_from", "kpj",
    "enrolments", "registered_at", "updated_at", "last_position", "reversed_references",
)  # fmt: skip
"""Columns of participant_facts; updated_at and last_position of its last event not a share."""
(
    ID, COHORT, NIK_HASH, NIK, NAME, BIRTH_DATE, SEX, PHONE, KECAMATAN, DESA, OCCUPATION, INCOME,
    PRIORITY, STATUS, WAITLIST_SEQ, ENROLLED_ON, LEFT_ON, LEFT_REASON, PROGRAMMES, FUNDER,
    FUNDER_FROM, KPJ, ENROLMENTS, REGISTERED_AT, UPDATED_AT, LAST_POSITION, REVERSED,
) = range(len(FACTS))  # fmt: skip
SHARES = ("participant_id", "position", "reference", "payer", "months", "amount", "paid_at",
          "recorded_at")  # fmt: skip

_plan = plan_for(ParticipantRegistered)
assert _plan is not None
PERSONAL_COLUMNS = tuple(FACTS.index(name) for name in _plan.personal)
"""The sealed fields of ParticipantRegistered: what an erasure overwrites with ERASED."""

SPONSOR = "sponsor"
"""Who pays for a cohort member until a FunderChanged says otherwise."""

Status = Literal["registered", "waitlisted", "enrolled", "left", "deceased"]
Row = list[Any]
Share = tuple[str, int, str, str, str, int, str, datetime]
"""A contribution_shares row, in the order of SHARES (months comma-joined: cheaper to COPY)."""


class Contribution(msgspec.Struct, frozen=True, kw_only=True):
    """One ContributionPaid share, as the `contributions` column shows it."""

    reference: str
    payer: str
    months: list[str]
    amount: int
    paid_at: datetime
    reversed: bool = False


_contributions = msgspec.json.Decoder(list[Contribution])
_encode = msgspec.json.Encoder().encode


# -- the fold: one small function per event type, on a row held as a list ---------------------


def _new_row(participant_id: str) -> Row:
    row: Row = [None] * len(FACTS)
    row[ID] = participant_id
    row[PROGRAMMES], row[ENROLMENTS], row[REVERSED] = [], [], []
    return row


def _registered(row: Row, e: ParticipantRegistered, recorded: RecordedEvent) -> None:
    row[COHORT], row[NIK_HASH], row[NIK], row[NAME] = e.cohort_id, e.nik_hash, e.nik, e.name
    row[BIRTH_DATE], row[SEX], row[PHONE] = e.birth_date, e.sex, e.phone
    row[KECAMATAN], row[DESA], row[OCCUPATION] = e.kecamatan, e.desa, e.occupation
    row[INCOME], row[PRIORITY] = e.declared_income, e.priority
    row[STATUS], row[REGISTERED_AT] = "registered", recorded.occurred_at
    row[FUNDER] = row[FUNDER] or SPONSOR


def _waitlisted(row: Row, e: ParticipantWaitlisted, recorded: RecordedEvent) -> None:
    row[COHORT], row[STATUS], row[WAITLIST_SEQ] = e.cohort_id, "waitlisted", recorded.position


def _enrolled(row: Row, e: ParticipantEnrolled, recorded: RecordedEvent) -> None:
    row[COHORT], row[STATUS], row[WAITLIST_SEQ] = e.cohort_id, "enrolled", None
    row[ENROLLED_ON], row[PROGRAMMES] = e.enrolled_on, list(e.programmes)
    row[ENROLMENTS] = [*row[ENROLMENTS], e.enrolled_on]
    row[LEFT_ON] = row[LEFT_REASON] = None


def _left(row: Row, e: ParticipantLeft, recorded: RecordedEvent) -> None:
    row[STATUS] = "deceased" if e.reason == "death" else "left"
    row[LEFT_ON], row[LEFT_REASON], row[WAITLIST_SEQ] = e.left_on, e.reason, None


def _kpj(row: Row, e: KpjRecorded, recorded: RecordedEvent) -> None:
    row[KPJ] = e.kpj


def _funder(row: Row, e: FunderChanged, recorded: RecordedEvent) -> None:
    row[FUNDER], row[FUNDER_FROM] = e.funder, e.from_month


def _reversed(row: Row, e: ContributionReversed, recorded: RecordedEvent) -> None:
    if e.reference not in row[REVERSED]:
        row[REVERSED] = [*row[REVERSED], e.reference]


def _erased(row: Row, e: PersonalDataErased, recorded: RecordedEvent) -> None:
    for column in PERSONAL_COLUMNS:
        row[column] = ERASED


_FOLD: dict[str, Callable[[Row, Any, RecordedEvent], None]] = {
    "ParticipantRegistered": _registered,
    "ParticipantWaitlisted": _waitlisted,
    "ParticipantEnrolled": _enrolled,
    "ParticipantLeft": _left,
    "KpjRecorded": _kpj,
    "FunderChanged": _funder,
    "ContributionReversed": _reversed,
    "PersonalDataErased": _erased,
}


def _subject(event: Event) -> str:
    """Whose row an event concerns (an erasure names its data subject, maybe no participant)."""
    if isinstance(event, PersonalDataErased):
        return event.subject_id
    return event.participant_id  # type: ignore[attr-defined]


def rows_to_read(events: Sequence[RecordedEvent]) -> set[str]:
    """The facts rows a page changes: those it names with anything but a share."""
    return {_subject(e.data) for e in events if e.type != "ContributionPaid"}


def fold(rows: dict[str, Row], events: Sequence[RecordedEvent]) -> tuple[set[str], list[Share]]:
    """Apply a page to the facts rows read for it (`rows_to_read`, by participant id) in
    place; returns the ids of the rows changed and the shares to append. An erasure of a data
    subject with no row (a witness, an heir) changes nothing; any other event makes the row
    it names."""
    changed: set[str] = set()
    shares: list[Share] = []
    for recorded in events:
        event = recorded.data
        if recorded.type == "ContributionPaid":
            shares.append((
                event.participant_id, recorded.position, event.reference, event.payer,
                ",".join(event.months), event.amount, _encode(event.paid_at)[1:-1].decode(),
                recorded.recorded_at,
            ))  # fmt: skip
            continue
        participant_id = _subject(event)
        row = rows.get(participant_id)
        if row is None:
            if recorded.type == "PersonalDataErased":
                continue
            row = rows[participant_id] = _new_row(participant_id)
        _FOLD[recorded.type](row, event, recorded)
        row[UPDATED_AT], row[LAST_POSITION] = recorded.recorded_at, recorded.position
        changed.add(participant_id)
    return changed, shares


# -- the projection ----------------------------------------------------------------------------

_SQL_TYPES = {
    "declared_income": "bigint", "priority": "boolean", "waitlist_seq": "bigint",
    "enrolled_on": "date", "left_on": "date", "programmes": "text[]", "enrolments": "date[]",
    "registered_at": "timestamptz", "updated_at": "timestamptz", "last_position": "bigint",
    "reversed_references": "text[]",
}  # fmt: skip
_ARRAYS = (PROGRAMMES, ENROLMENTS, REVERSED)
_SEPARATOR = "\x1f"
"""Joins an array column's values for the upsert (a reference may hold a comma)."""


def _sql_type(name: str) -> str:
    return _SQL_TYPES.get(name, "text")


def _column(name: str) -> str:
    if name == "participant_id":
        return 'participant_id text COLLATE "C" PRIMARY KEY'
    if _sql_type(name).endswith("[]"):
        return f"{name} {_sql_type(name)} NOT NULL DEFAULT '{{}}'"
    return f"{name} {_sql_type(name)}"


def _schema_sql(schema: str) -> str:
    shares = f"{schema}.contribution_shares"
    mine = "c.participant_id = f.participant_id"
    return f"""
CREATE TABLE {schema}.participant_facts (
    {", ".join(_column(name) for name in FACTS)}
);
CREATE INDEX ON {schema}.participant_facts (cohort_id);
CREATE INDEX ON {schema}.participant_facts (nik_hash);
CREATE INDEX ON {schema}.participant_facts (kpj);
CREATE TABLE {shares} (
    participant_id text COLLATE "C" NOT NULL,
    position bigint NOT NULL,
    reference text NOT NULL,
    payer text NOT NULL,
    months text NOT NULL,  -- YYYY-MM,YYYY-MM
    amount bigint NOT NULL,
    paid_at text NOT NULL,  -- ISO 8601 as the event has it
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (participant_id, position)
);
CREATE VIEW {schema}.participants AS
SELECT f.participant_id, f.cohort_id, f.nik_hash, f.nik, f.name, f.birth_date, f.sex, f.phone,
    f.kecamatan, f.desa, f.occupation, f.declared_income, f.priority, f.status, f.waitlist_seq,
    f.enrolled_on, f.left_on, f.left_reason, f.programmes, f.funder, f.funder_from, f.kpj,
    ARRAY(SELECT DISTINCT m FROM {shares} c, unnest(string_to_array(c.months, ',')) AS m
          WHERE {mine} AND c.reference <> ALL (f.reversed_references) ORDER BY 1
    ) AS paid_months,
    coalesce((SELECT jsonb_agg(jsonb_build_object(
                  'reference', c.reference, 'payer', c.payer,
                  'months', string_to_array(c.months, ','),
                  'amount', c.amount, 'paid_at', c.paid_at,
                  'reversed', c.reference = ANY (f.reversed_references)) ORDER BY c.position)
              FROM {shares} c WHERE {mine}), '[]') AS contributions,
    f.enrolments, f.registered_at,
    coalesce((SELECT c.recorded_at FROM {shares} c WHERE {mine} AND c.position > f.last_position
              ORDER BY c.position DESC LIMIT 1), f.updated_at) AS updated_at,
    greatest(f.last_position, (SELECT max(c.position) FROM {shares} c WHERE {mine}))
        AS last_position
FROM {schema}.participant_facts f;
"""


class ParticipantStatus(Projection):
    """rm.participants (see the read-model contract)."""

    name: ClassVar[str] = "participant_status"
    version: ClassVar[int] = 1
    consumes = (
        ParticipantRegistered, ParticipantWaitlisted, ParticipantEnrolled, ParticipantLeft,
        KpjRecorded, FunderChanged, ContributionPaid, ContributionReversed, PersonalDataErased,
    )  # fmt: skip
    tables = ("participants",)

    def schema_sql(self, schema: str) -> str:
        return _schema_sql(schema)

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        to_read = rows_to_read(events)
        rows = {}
        if to_read:
            found = await conn.fetch(
                f"SELECT {', '.join(FACTS)} FROM {schema}.participant_facts "
                "WHERE participant_id = ANY($1::text[])",
                list(to_read),
            )
            rows = {r[0]: list(r) for r in found}
        changed, shares = fold(rows, events)
        if changed:
            await conn.execute(_upsert(schema), *_columns([rows[i] for i in changed]))
        if shares:
            await conn.copy_records_to_table(
                "contribution_shares", schema_name=schema, columns=SHARES, records=shares
            )


def _columns(rows: list[Row]) -> list[list[Any]]:
    """Column-wise arrays for the upsert; array columns joined into text."""
    columns = [list(c) for c in zip(*rows, strict=True)]
    for index in _ARRAYS:
        columns[index] = [_SEPARATOR.join(map(str, v)) for v in columns[index]]
    return columns


def _upsert(schema: str) -> str:
    params = ", ".join(
        f"${n}::{'text' if n - 1 in _ARRAYS else _sql_type(name)}[]"
        for n, name in enumerate(FACTS, 1)
    )
    values = ", ".join(
        f"string_to_array({name}, E'\\x1f')::{_sql_type(name)}" if i in _ARRAYS else name
        for i, name in enumerate(FACTS)
    )
    updates = ", ".join(f"{name} = excluded.{name}" for name in FACTS[1:])
    return f"""INSERT INTO {schema}.participant_facts ({", ".join(FACTS)})
        SELECT {values} FROM unnest({params}) AS t({", ".join(FACTS)})
        ON CONFLICT (participant_id) DO UPDATE SET {updates}"""


# -- read time ---------------------------------------------------------------------------------

StatusAsOf = Literal[
    "registered", "waitlisted", "active", "in_arrears", "membership_ended", "left", "deceased"
]


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    """A participant's status as of a date, from their row and the coverage rules."""

    participant_id: str
    as_of: date
    status_as_of: StatusAsOf
    waitlist_position: int | None
    arrears_months: int
    arrears_amount: int
    lapses_on: date | None
    periods: tuple[MembershipPeriod, ...]
    """The membership (coverage) periods; `is_covered(history, day)` for a given day."""
    history: ContributionHistory | None
    """The whole contribution history as of the date (None: never enrolled)."""


def contributions_of(row: Mapping[str, Any]) -> list[Contribution]:
    """The `contributions` column, whether the driver gave it as text or decoded it."""
    value = row["contributions"]
    if isinstance(value, str | bytes):
        return _contributions.decode(value)
    return msgspec.convert(value, list[Contribution])


def contribution_facts(
    row: Mapping[str, Any],
) -> tuple[ContributionFacts, Callable[[Month], int]] | None:
    """The row's contribution facts and what each month costs the participant, as
    services.membership.facts_of finds them in the events; None before any enrolment."""
    enrolments: list[date] = list(row["enrolments"] or ())
    if not enrolments:
        return None
    payments = tuple(
        Payment(
            reference=s.reference,
            payer=s.payer,
            months=tuple(Month.parse(m) for m in s.months),
            paid_at=s.paid_at,
            amount=s.amount,
            reversed=s.reversed,
        )
        for s in contributions_of(row)
    )
    cessation = (
        Cessation(kind=CessationKind.DEATH, on=row["left_on"])
        if row["status"] == "deceased"
        else None
    )
    facts = ContributionFacts(
        start=Month.of(enrolments[0]),
        payments=payments,
        rejoins=tuple(Month.of(d) for d in enrolments[1:]),
        cessation=cessation,
    )
    return facts, monthly_due(row)


def monthly_due(row: Mapping[str, Any]) -> Callable[[Month], int]:
    """What a month costs the participant: their declared income and the programmes of
    their (latest) membership, through the rate table in force for the month."""
    income, programmes = row["declared_income"], tuple(row["programmes"] or ("JKK", "JKM"))
    return lambda month: _due(income, programmes, month)


@lru_cache(maxsize=4096)
def _due(income: int, programmes: tuple[str, ...], month: Month) -> int:
    """Most members share an income and their cohort's programmes: work each month out once."""
    return contribution_due(income, programmes, month).total


def contribution_history_of(row: Mapping[str, Any], today: date) -> ContributionHistory | None:
    found = contribution_facts(row)
    if found is None:
        return None
    facts, amount_due = found
    return contribution_history(facts, today=today, amount_due=amount_due)


def standing(row: Mapping[str, Any], today: date) -> Standing:
    """Status as of `today`: on the waiting list (at `waitlist_position` when the row was
    read with it, see `participant_rows`), active, in arrears, membership ended (more unpaid
    months than arrears may cover), left or deceased. Someone who left owes nothing more."""
    history = contribution_history_of(row, today)
    status: Status = row["status"]
    arrears_months = history.arrears_months if history else 0
    arrears_amount = history.arrears_amount if history else 0
    lapses_on = history.lapses_on if history else None
    as_of: StatusAsOf
    if status == "enrolled":
        if history is not None and history.current_period is None:
            as_of = "membership_ended"
        else:
            as_of = "in_arrears" if arrears_months else "active"
    else:
        as_of = status
        if status != "deceased":
            arrears_months, arrears_amount, lapses_on = 0, 0, None
    position = row.get("waitlist_position") if status == "waitlisted" else None
    return Standing(
        participant_id=row["participant_id"],
        as_of=today,
        status_as_of=as_of,
        waitlist_position=position,
        arrears_months=arrears_months,
        arrears_amount=arrears_amount,
        lapses_on=lapses_on,
        periods=history.periods if history else (),
        history=history,
    )


_AHEAD = """(o.priority AND $2) > (p.priority AND $2)
    OR ((o.priority AND $2) = (p.priority AND $2) AND o.waitlist_seq < p.waitlist_seq)"""


async def participant_rows(
    conn: asyncpg.Connection | asyncpg.Pool,
    participant_ids: Sequence[str],
    policy: Policy = DEFAULT_POLICY,
) -> list[dict[str, Any]]:
    """rm.participants rows, each with its `waitlist_position` (1 = next in line; None when
    not waitlisted): priority first when the policy says so, then order of arrival."""
    rows = await conn.fetch(
        f"""SELECT p.*, CASE WHEN p.status = 'waitlisted' THEN 1 + (
                SELECT count(*) FROM rm.participants o
                WHERE o.cohort_id = p.cohort_id AND o.status = 'waitlisted' AND ({_AHEAD}))
            END AS waitlist_position
            FROM rm.participants p WHERE p.participant_id = ANY($1::text[])""",
        list(participant_ids),
        policy.waiting_list_priority_first,
    )
    return [dict(r) for r in rows]


async def waitlist(
    conn: asyncpg.Connection | asyncpg.Pool, cohort_id: str, policy: Policy = DEFAULT_POLICY
) -> list[tuple[int, str]]:
    """A cohort's waiting list in order: (position, participant id), position 1 first."""
    rows = await conn.fetch(
        """SELECT row_number() OVER w, participant_id FROM rm.participants
           WHERE cohort_id = $1 AND status = 'waitlisted'
           WINDOW w AS (ORDER BY (priority AND $2) DESC, waitlist_seq)
           ORDER BY 1""",
        cohort_id,
        policy.waiting_list_priority_first,
    )
    return [(r[0], r[1]) for r in rows]
