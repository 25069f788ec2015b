"""rm.participants: one row per participant, the facts their own events state (projection
`participant_status`), and `standing`, their status as of a date, computed when read.

The waiting list is the one exception to "their own events": a waiting participant's place
(`waitlist_seq`) and the `priority` they wait with come from the cohort's WaitlistJoined,
the very facts the cohort decider promotes by (services/cohorts.next_in_line), so the list
shown is the order of promotion. The priority is the one registered with, except in a
re-join recorded while re-joins waited without it: the row then says what the cohort does.

The rows store only what events say, so a rebuild at any time gives the same rows; anything
that depends on today (arrears, lapse, coverage) comes from `standing(row, today)`, which
hands the row's contribution facts to services/domain/coverage.py, the rules the write side
uses (services/membership.py).

Built for replay speed, because a rebuild replays every contribution share of every
participant (a sponsor's payment is one share per member). Two tables behind the view
`participants`:

- `participant_facts`: one row per participant, everything but the contributions. A page
  is folded in Python into one `Change` per row (the columns its events set, the enrolments
  and reversed references they add), and the changes of one shape are written by one
  set-based INSERT .. ON CONFLICT DO UPDATE over `unnest`, which sets those columns and
  appends to those arrays: no row is read back (only whether an erased data subject has a
  row). A KPJ, a change of funder, touches three columns, not all of them. Every change
  of funder is kept (`funders`, in the order recorded), since a worker may change funder
  more than once and each month is paid by the funder in force for it
  (services/domain/funders.py); `funder` / `funder_from` are the latest change.
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
    WaitlistJoined,
)
from events.personal import ERASED, plan_for
from events.types import RecordedEvent
from projections.projection import Projection
from services.domain.calendar import Month
from services.domain.coverage import (
    Cessation,
    ContributionFacts,
    ContributionHistory,
    MembershipPeriod,
    Payment,
    contribution_history,
)
from services.domain.funders import FunderChange
from services.domain.policy import DEFAULT_POLICY, Policy
from services.domain.rates import contribution_due
from services.membership import cessation_of

FACTS = (
    "participant_id", "cohort_id", "nik_hash", "nik", "name", "birth_date", "sex", "phone",
    "kecamatan", "desa", "occupation", "declared_income", "priority", "status", "waitlist_seq",
    "enrolled_on", "left_on", "left_reason", "programmes", "funder", "funder_from", "kpj",
    "enrolments", "registered_at", "updated_at", "last_position", "reversed_references",
    "leavings", "funders",
)  # fmt: skip
"""Columns of participant_facts; updated_at and last_position of its last event not a share."""
(
    ID, COHORT, NIK_HASH, NIK, NAME, BIRTH_DATE, SEX, PHONE, KECAMATAN, DESA, OCCUPATION, INCOME,
    PRIORITY, STATUS, WAITLIST_SEQ, ENROLLED_ON, LEFT_ON, LEFT_REASON, PROGRAMMES, FUNDER,
    FUNDER_FROM, KPJ, ENROLMENTS, REGISTERED_AT, UPDATED_AT, LAST_POSITION, REVERSED, LEAVINGS,
    FUNDERS,
) = range(len(FACTS))  # fmt: skip
SHARES = ("participant_id", "position", "reference", "payer", "months", "amount", "paid_at",
          "recorded_at")  # fmt: skip

_plan = plan_for(ParticipantRegistered)
assert _plan is not None
PERSONAL_COLUMNS = tuple(FACTS.index(name) for name, _ in _plan.personal)
"""The sealed fields of ParticipantRegistered: what an erasure overwrites with ERASED."""

SPONSOR = "sponsor"
"""Who pays for a cohort member until a FunderChanged says otherwise."""

Status = Literal["registered", "waitlisted", "enrolled", "left", "deceased"]
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


# -- the fold: one small function per event type, into the page's change of each row ---------


class Change:
    """What a page does to one participant's facts row: the columns it sets (the last event
    that sets a column wins), the enrolments, reversed references, leavings and changes of
    funder it adds, and whether it makes the row when there is none (any event but an
    erasure does)."""

    __slots__ = ("columns", "creates", "enrolments", "funders", "leavings", "reversed")

    def __init__(self) -> None:
        self.columns: dict[int, Any] = {}
        self.enrolments: list[date] = []
        self.reversed: list[str] = []
        self.leavings: list[str] = []
        self.funders: list[str] = []
        self.creates = False

    def shape(self) -> Shape:
        """Changes of one shape are written by one statement."""
        return (
            tuple(sorted(self.columns)), bool(self.enrolments), bool(self.reversed),
            bool(self.leavings), bool(self.funders), self.creates,
        )  # fmt: skip


Shape = tuple[tuple[int, ...], bool, bool, bool, bool, bool]
"""The columns a change sets; whether it appends enrolments, reversed references, leavings,
changes of funder; whether it makes its row."""


def _registered(c: Change, e: ParticipantRegistered, recorded: RecordedEvent) -> None:
    c.columns.update({
        COHORT: e.cohort_id, NIK_HASH: e.nik_hash, NIK: e.nik, NAME: e.name,
        BIRTH_DATE: e.birth_date, SEX: e.sex, PHONE: e.phone, KECAMATAN: e.kecamatan,
        DESA: e.desa, OCCUPATION: e.occupation, INCOME: e.declared_income,
        PRIORITY: e.priority, STATUS: "registered", REGISTERED_AT: recorded.occurred_at,
        FUNDER: SPONSOR,
    })  # fmt: skip


def _waitlisted(c: Change, e: ParticipantWaitlisted, recorded: RecordedEvent) -> None:
    c.columns.update({COHORT: e.cohort_id, STATUS: "waitlisted"})


def _waitlist_joined(c: Change, e: WaitlistJoined, recorded: RecordedEvent) -> None:
    """The place and priority the cohort gave: appended with the ParticipantWaitlisted, after
    it, in the cohort's order (its position orders the list as the cohort stream does)."""
    c.columns.update({PRIORITY: e.priority, WAITLIST_SEQ: recorded.position})


def _enrolled(c: Change, e: ParticipantEnrolled, recorded: RecordedEvent) -> None:
    c.columns.update({
        COHORT: e.cohort_id, STATUS: "enrolled", WAITLIST_SEQ: None, ENROLLED_ON: e.enrolled_on,
        PROGRAMMES: e.programmes, LEFT_ON: None, LEFT_REASON: None,
    })  # fmt: skip
    c.enrolments.append(e.enrolled_on)


def _left(c: Change, e: ParticipantLeft, recorded: RecordedEvent) -> None:
    c.columns.update({
        STATUS: "deceased" if e.reason == "death" else "left", LEFT_ON: e.left_on,
        LEFT_REASON: e.reason, WAITLIST_SEQ: None,
    })  # fmt: skip
    c.leavings.append(leaving_text(e.left_on, e.reason, e.enrolled_on))


def leaving_text(left_on: date, reason: str, enrolled_on: date | None = None) -> str:
    """A `leavings` entry: every leaving is kept (a re-join clears left_on and left_reason,
    but the membership that leaving ended stays ended), with the first day of the membership
    it left when the event says it ("2026-12-01 withdrawal 2027-01-01": a leaving before
    that day cancelled the membership)."""
    text = f"{left_on.isoformat()} {reason}"
    return text if enrolled_on is None else f"{text} {enrolled_on.isoformat()}"


def _kpj(c: Change, e: KpjRecorded, recorded: RecordedEvent) -> None:
    c.columns[KPJ] = e.kpj


def _funder(c: Change, e: FunderChanged, recorded: RecordedEvent) -> None:
    """The latest change in `funder` / `funder_from`; every change in `funders`."""
    c.columns[FUNDER], c.columns[FUNDER_FROM] = e.funder, e.from_month
    c.funders.append(str(FunderChange(Month.parse(e.from_month), e.funder)))


def _reversed(c: Change, e: ContributionReversed, recorded: RecordedEvent) -> None:
    c.reversed.append(e.reference)


def _erased(c: Change, e: PersonalDataErased, recorded: RecordedEvent) -> None:
    c.columns.update(dict.fromkeys(PERSONAL_COLUMNS, ERASED))


_FOLD: dict[str, Callable[[Change, Any, RecordedEvent], None]] = {
    "ParticipantRegistered": _registered,
    "ParticipantWaitlisted": _waitlisted,
    "WaitlistJoined": _waitlist_joined,
    "ParticipantEnrolled": _enrolled,
    "ParticipantLeft": _left,
    "KpjRecorded": _kpj,
    "FunderChanged": _funder,
    "ContributionReversed": _reversed,
    "PersonalDataErased": _erased,
}


_COHORT_EVENTS = frozenset({"WaitlistJoined"})
"""Events of the cohort's stream about a participant: they do not make the row's
`updated_at` / `last_position` (those of the participant's own last event)."""


def erased_subjects(events: Sequence[RecordedEvent]) -> set[str]:
    """The data subjects a page erases: an erasure changes only a row that exists."""
    return {e.data.subject_id for e in events if e.type == "PersonalDataErased"}


def fold(
    events: Sequence[RecordedEvent], existing: set[str]
) -> tuple[dict[str, Change], list[Share]]:
    """A page as the change of each facts row it touches and the shares it appends.
    `existing`: which of the page's `erased_subjects` have a row (a witness or an heir has
    none, and their erasure changes nothing)."""
    changes: dict[str, Change] = {}
    shares: list[Share] = []
    for recorded in events:
        event = recorded.data
        kind = recorded.type
        if kind == "ContributionPaid":
            shares.append((
                event.participant_id, recorded.position, event.reference, event.payer,
                ",".join(event.months), event.amount, _encode(event.paid_at)[1:-1].decode(),
                recorded.recorded_at,
            ))  # fmt: skip
            continue
        if kind == "PersonalDataErased":
            participant_id = event.subject_id
            change = changes.get(participant_id)
            if participant_id not in existing and (change is None or not change.creates):
                continue
        else:
            participant_id = event.participant_id
            change = changes.get(participant_id)
        if change is None:
            change = changes[participant_id] = Change()
        change.creates = change.creates or kind != "PersonalDataErased"
        _FOLD[kind](change, event, recorded)
        if kind not in _COHORT_EVENTS:  # the participant's own last event
            change.columns[UPDATED_AT] = recorded.recorded_at
            change.columns[LAST_POSITION] = recorded.position
    return changes, shares


# -- the projection ----------------------------------------------------------------------------

_SQL_TYPES = {
    "declared_income": "bigint", "priority": "boolean", "waitlist_seq": "bigint",
    "enrolled_on": "date", "left_on": "date", "programmes": "text[]", "enrolments": "date[]",
    "registered_at": "timestamptz", "updated_at": "timestamptz", "last_position": "bigint",
    "reversed_references": "text[]", "leavings": "text[]", "funders": "text[]",
}  # fmt: skip
_SEPARATOR = "\x1f"
"""Joins an array's values into one text for `unnest` (which would flatten arrays of arrays);
a reference may hold a comma."""


def _sql_type(name: str) -> str:
    return _SQL_TYPES.get(name, "text")


_IDS = ("participant_id", "cohort_id", "nik_hash", "kpj")
"""Identifiers: indexed, compared byte by byte (no collation to consult in every look-up)."""


def _column(name: str) -> str:
    if name == "participant_id":
        return 'participant_id text COLLATE "C" PRIMARY KEY'
    if name in _IDS:
        return f'{name} text COLLATE "C"'
    if _sql_type(name).endswith("[]"):
        return f"{name} {_sql_type(name)} NOT NULL DEFAULT '{{}}'"
    return f"{name} {_sql_type(name)}"


def _schema_sql(schema: str) -> str:
    shares = f"{schema}.contribution_shares"
    mine = "c.participant_id = f.participant_id"
    return f"""
CREATE TABLE {schema}.participant_facts (
    {", ".join(_column(name) for name in FACTS)}
) WITH (fillfactor = 80);  -- room for a changed row on its page: no index work unless needed
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
    recorded_at timestamptz NOT NULL
);
-- a participant's shares are found by equality only; a hash index costs a third less to
-- keep up than a B-tree under a rebuild's appends in random participant order
CREATE INDEX ON {shares} USING hash (participant_id);
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
    f.enrolments, f.leavings, f.funders, f.registered_at,
    coalesce((SELECT c.recorded_at FROM {shares} c WHERE {mine} AND c.position > f.last_position
              ORDER BY c.position DESC LIMIT 1), f.updated_at) AS updated_at,
    greatest(f.last_position, (SELECT max(c.position) FROM {shares} c WHERE {mine}))
        AS last_position
FROM {schema}.participant_facts f;
"""


class ParticipantStatus(Projection):
    """rm.participants (see the read-model contract)."""

    name: ClassVar[str] = "participant_status"
    version: ClassVar[int] = 6
    # 2: shares behind a hash index, identifiers in "C"; 3: `leavings`, every ParticipantLeft
    # (a leaving ends the membership, services/membership.facts_of); 4: `waitlist_seq` and
    # `priority` from the cohort's WaitlistJoined (the order the cohort promotes in); 5: a
    # `leavings` entry names the first day of the membership left (a leaving before it
    # cancels that membership); 6: `funders`, every change of funder (each month is paid by
    # the funder in force for it, not by the latest)
    consumes = (
        ParticipantRegistered, ParticipantWaitlisted, WaitlistJoined, ParticipantEnrolled,
        ParticipantLeft, KpjRecorded, FunderChanged, ContributionPaid, ContributionReversed,
        PersonalDataErased,
    )  # fmt: skip
    tables = ("participants",)

    def schema_sql(self, schema: str) -> str:
        return _schema_sql(schema)

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        erased = erased_subjects(events)
        existing: set[str] = set()
        if erased:
            found = await conn.fetch(
                f"SELECT participant_id FROM {schema}.participant_facts "
                "WHERE participant_id = ANY($1::text[])",
                list(erased),
            )
            existing = {r[0] for r in found}
        changes, shares = fold(events, existing)
        by_shape: dict[Shape, list[tuple[str, Change]]] = {}
        for participant_id, change in changes.items():
            by_shape.setdefault(change.shape(), []).append((participant_id, change))
        for shape, rows in by_shape.items():
            await conn.execute(_write(schema, *shape), *_arguments(shape, rows))
        if shares:
            await conn.copy_records_to_table(
                "contribution_shares", schema_name=schema, columns=SHARES, records=shares
            )


def _arguments(shape: Shape, rows: list[tuple[str, Change]]) -> list[list[Any]]:
    """Column-wise arrays of one shape's changes, arrays joined into text."""
    columns, enrolments, reversed_, leavings, funders, _ = shape
    arguments: list[list[Any]] = [[participant_id for participant_id, _ in rows]]
    for index in columns:
        values = [change.columns[index] for _, change in rows]
        if index == PROGRAMMES:
            values = [_SEPARATOR.join(v) for v in values]
        arguments.append(values)
    if enrolments:
        arguments.append([_SEPARATOR.join(map(str, c.enrolments)) for _, c in rows])
    if reversed_:
        arguments.append([_SEPARATOR.join(c.reversed) for _, c in rows])
    if leavings:
        arguments.append([_SEPARATOR.join(c.leavings) for _, c in rows])
    if funders:
        arguments.append([_SEPARATOR.join(c.funders) for _, c in rows])
    return arguments


@lru_cache(maxsize=256)
def _write(
    schema: str,
    columns: tuple[int, ...],
    enrolments: bool,
    reversed_: bool,
    leavings: bool,
    funders: bool,
    creates: bool,
) -> str:
    """The statement writing changes of one shape: the columns set, the arrays appended to.
    A change that makes its row inserts it (the columns it does not set take their
    defaults); an erasure alone only updates a row."""
    names = ["participant_id", *(FACTS[i] for i in columns)]
    appended = [name for name, on in (("enrolments", enrolments),
                                      ("reversed_references", reversed_),
                                      ("leavings", leavings),
                                      ("funders", funders)) if on]  # fmt: skip
    given = names + appended
    kinds = ["text" if n in ("programmes", *appended) else _sql_type(n) for n in given]
    params = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(kinds, 1))
    values = ", ".join(
        f"string_to_array({n}, E'\\x1f')::{_sql_type(n)}" if kind != _sql_type(n) else n
        for n, kind in zip(given, kinds, strict=True)
    )
    source = f"SELECT {values} FROM unnest({params}) AS u({', '.join(given)})"
    if not creates:
        return f"""UPDATE {schema}.participant_facts f SET {_sets(names, appended, "t")}
            FROM ({source}) AS t WHERE f.participant_id = t.participant_id"""
    return f"""INSERT INTO {schema}.participant_facts AS f ({", ".join(given)}) {source}
        ON CONFLICT (participant_id) DO UPDATE SET {_sets(names, appended, "excluded")}"""


def _sets(names: list[str], appended: list[str], new: str) -> str:
    """Set the columns given, append to the arrays given (`new`: the incoming row)."""
    return ", ".join(
        [f"{n} = {new}.{n}" for n in names[1:]] + [f"{n} = f.{n} || {new}.{n}" for n in appended]
    )


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


def enrolment_facts(row: Mapping[str, Any]) -> ContributionFacts | None:
    """The row's enrolments, leavings and death as services.membership.facts_of finds them in
    the events, without the payments (the row need not hold `contributions`); None before any
    enrolment."""
    enrolments: list[date] = list(row["enrolments"] or ())
    if not enrolments:
        return None
    cessation: Cessation | None = None
    leavings: list[Cessation] = []
    for text in row["leavings"] or ():
        on, reason, *enrolled_on = text.split(" ")
        left = cessation_of(
            reason,
            date.fromisoformat(on),
            date.fromisoformat(enrolled_on[0]) if enrolled_on else None,
        )
        if left.kind.final:
            cessation = left
        else:
            leavings.append(left)
    return ContributionFacts(
        start=Month.of(enrolments[0]),
        rejoins=tuple(Month.of(d) for d in enrolments[1:]),
        cessation=cessation,
        leavings=tuple(leavings),
    )


def funder_changes(row: Mapping[str, Any]) -> tuple[FunderChange, ...]:
    """The row's changes of funder, in the order recorded (column `funders`), for
    services.domain.funders to say who funds a month."""
    return tuple(map(FunderChange.parse, row["funders"] or ()))


def contribution_facts(
    row: Mapping[str, Any],
) -> tuple[ContributionFacts, Callable[[Month], int]] | None:
    """The row's contribution facts and what each month costs the participant, as
    services.membership.facts_of finds them in the events; None before any enrolment."""
    facts = enrolment_facts(row)
    if facts is None:
        return None
    payments = tuple(
        Payment(
            reference=s.reference,
            payer=s.payer,
            months=tuple(map(_month, s.months)),
            paid_at=s.paid_at,
            amount=s.amount,
            reversed=s.reversed,
        )
        for s in contributions_of(row)
    )
    return msgspec.structs.replace(facts, payments=payments), monthly_due(row)


@lru_cache(maxsize=4096)
def _month(text: str) -> Month:
    """`Month.parse`, each month's text parsed once (a Month is immutable)."""
    return Month.parse(text)


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


_WITH_POSITION = f"""SELECT p.*, CASE WHEN p.status = 'waitlisted' THEN 1 + (
        SELECT count(*) FROM rm.participants o
        WHERE o.cohort_id = p.cohort_id AND o.status = 'waitlisted' AND ({_AHEAD}))
    END AS waitlist_position
    FROM rm.participants p WHERE p.participant_id"""


async def participant_rows(
    conn: asyncpg.Connection | asyncpg.Pool,
    participant_ids: Sequence[str],
    policy: Policy = DEFAULT_POLICY,
) -> list[dict[str, Any]]:
    """rm.participants rows, each with its `waitlist_position` (1 = next in line; None when
    not waitlisted): priority first when the policy says so, then order of arrival."""
    rows = await conn.fetch(
        _WITH_POSITION + " = ANY($1::text[])",
        list(participant_ids),
        policy.waiting_list_priority_first,
    )
    return [dict(r) for r in rows]


async def participant_row(
    conn: asyncpg.Connection | asyncpg.Pool,
    participant_id: str,
    policy: Policy = DEFAULT_POLICY,
) -> dict[str, Any] | None:
    """One participant's row as `participant_rows` gives it. Compared with `=`, so that the
    prepared statement runs on a generic plan: a list of ids is planned again on every run,
    which doubled the time of a lookup by id or NIK."""
    row = await conn.fetchrow(
        _WITH_POSITION + " = $1", participant_id, policy.waiting_list_priority_first
    )
    return None if row is None else dict(row)


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
