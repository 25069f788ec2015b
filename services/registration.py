"""Registration of workers into cohorts: the command handlers around the cohort and
participant deciders. I/O lives here; every rule lives in the deciders and services/domain.

One NIK is one participant: the participant id is derived from the keyed NIK hash, so a
second registration of the same NIK targets the same stream and is refused as a duplicate
naming the existing participant (the stream is expected not to exist). The cohort stream
guards the quota: a registration appends to the new participant's stream and to the cohort
stream at the cohort version it decided on, so concurrent registrations can never take more
slots than the quota; the loser of a race decides again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import msgspec

from events.catalog import (
    ParticipantEnrolled,
    ParticipantLeft,
    ParticipantRegistered,
    ParticipantWaitlisted,
    PromotedFromWaitlist,
    SlotTaken,
    WaitlistJoined,
)
from events.errors import WrongExpectedVersion
from events.personal import LookupHasher
from events.store import ANY, NO_STREAM, AppendResult, Context, EventStore, StreamAppend
from events.types import Event
from services import cohorts, participants
from services.commands import (
    ChangeFunder,
    CloseCohort,
    CreateCohort,
    LeaveCohort,
    OpenCohort,
    RecordKpj,
    RegisterWorker,
    Rejoin,
    RollOverCohort,
)
from services.decider import MAX_ATTEMPTS, Decider, StateCache, back_off
from services.domain.calendar import business_date
from services.domain.errors import DomainError, Duplicate, FieldError, NotFound, ValidationFailed
from services.domain.nik import check_identity, normalise_nik, parse_nik
from services.domain.policy import Policy
from services.domain.rates import MIN_DECLARED_INCOME
from services.domain.regions import Regions, normalise_code
from services.membership import history_of
from services.streams import cohort_stream, participant_stream

OCCUPATIONS = (
    "ojek", "becak", "kuli angkut", "buruh tani", "nelayan", "juru parkir",
    "pedagang kaki lima", "pemulung", "buruh harian lepas",
)  # fmt: skip
_PHONE = re.compile(r"(?:\+62|62|0)8[0-9]{7,11}")
CHUNK = 500
"""Registrations appended together: one round trip for many, still small enough to retry."""
_PARTICIPANT_NAMESPACE = uuid.UUID("6f1f7b52-6a1e-4c55-9a51-0a9d7f2b3c11")


class Registration(msgspec.Struct, frozen=True):
    participant_id: str
    status: str  # enrolled or waitlisted
    position: int  # of the last event appended


def participant_id_for(nik_hash: str) -> str:
    """Stable per NIK (through its keyed hash), so one NIK can only ever be one participant."""
    return str(uuid.uuid5(_PARTICIPANT_NAMESPACE, nik_hash))


def validate_registration(command: RegisterWorker, regions: Regions, today: date) -> str:
    """Every field error at once; returns the normalised NIK."""
    errors: list[FieldError] = []
    nik_text = normalise_nik(command.nik)
    try:
        nik = parse_nik(nik_text, today)
        if command.sex not in ("L", "P"):
            errors.append(FieldError("sex", "L (laki-laki) or P (perempuan)"))
        else:
            check_identity(nik, command.birth_date, command.sex)  # type: ignore[arg-type]
    except ValidationFailed as exc:
        errors += exc.errors
    try:
        regions.check(command.kecamatan, command.desa)
    except ValidationFailed as exc:
        errors += exc.errors
    if not command.name.strip():
        errors.append(FieldError("name", "must not be empty"))
    if not _PHONE.fullmatch(re.sub(r"[\s\-]", "", command.phone)):
        errors.append(FieldError("phone", "an Indonesian mobile number, e.g. 081234567890"))
    if command.occupation not in OCCUPATIONS:
        errors.append(FieldError("occupation", f"one of {', '.join(OCCUPATIONS)}"))
    if command.declared_income < MIN_DECLARED_INCOME:
        errors.append(
            FieldError("declared_income", f"at least Rp{MIN_DECLARED_INCOME:,}".replace(",", "."))
        )
    if errors:
        raise ValidationFailed(errors)
    return nik_text


class Registrar:
    """Handles cohort and registration commands against the event store."""

    def __init__(
        self,
        store: EventStore,
        lookup: LookupHasher,
        regions: Regions,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._regions = regions
        self._policy = policy
        self._clock = clock
        self._cohorts: StateCache[cohorts.CohortState] = StateCache(
            cohorts.admin_decider(policy)  # type: ignore[arg-type]
        )
        self._participants: StateCache[participants.ParticipantState] = StateCache(
            Decider(participants.ParticipantState(), participants.evolve, lambda c, s: [])
        )

    # -- cohorts -------------------------------------------------------------------------------

    async def cohort(self, cohort_id: str) -> cohorts.CohortState:
        state, _ = await self._cohorts.load(self._store, cohort_stream(cohort_id))
        return state

    async def participant(self, participant_id: str) -> participants.ParticipantState:
        state, _ = await self._participants.load(self._store, participant_stream(participant_id))
        if state.status == "none":
            raise NotFound("participant", participant_id)
        return state

    async def administer(
        self, command: CreateCohort | OpenCohort | CloseCohort | RollOverCohort, context: Context
    ) -> list[AppendResult]:
        def appends(state: cohorts.CohortState, version: int) -> list[StreamAppend]:
            events = cohorts.decide_admin(command, state, self._policy)
            return [
                StreamAppend(cohort_stream(command.cohort_id), events, version),
                *self._enrolments(events, command.cohort_id, state),
            ]

        return await self._change_cohort(command.cohort_id, appends, context)

    async def _change_cohort(
        self,
        cohort_id: str,
        appends: Callable[[cohorts.CohortState, int], list[StreamAppend]],
        context: Context,
    ) -> list[AppendResult]:
        """Decide against the cohort as it is now and append at its version; when another
        change came first, decide again (the cohort's stream guards its quota)."""
        stream = cohort_stream(cohort_id)
        async with self._cohorts.lock(stream):
            for attempt in range(MAX_ATTEMPTS):
                state, version = await self._cohorts.load(self._store, stream)
                try:
                    return await self._store.append_many(appends(state, version), context=context)
                except WrongExpectedVersion as conflict:
                    if conflict.stream_id != stream:
                        raise
                    await back_off(attempt)
        raise RuntimeError(f"cohort {cohort_id}: too many concurrent changes")

    # -- registration ----------------------------------------------------------------------------

    async def register(self, command: RegisterWorker, context: Context) -> Registration:
        """Register one worker; raises the domain error that refused it."""
        (outcome,) = await self.register_many([command], context)
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def register_many(
        self, commands: Sequence[RegisterWorker], context: Context
    ) -> list[Registration | DomainError]:
        """Register many workers (a regency's list): each gets its registration or the error
        that refused it. Valid ones go to their cohort in chunks, one append per chunk, in the
        order given: that order is the order of arrival for slots and the waiting list."""
        today = business_date(self._clock())
        outcomes: list[Registration | DomainError | None] = [None] * len(commands)
        by_cohort: dict[str, list[tuple[int, ParticipantRegistered]]] = {}
        seen: set[str] = set()
        for n, command in enumerate(commands):
            try:
                registered = self._registered(command, today)
            except DomainError as refused:
                outcomes[n] = refused
                continue
            if registered.participant_id in seen:
                outcomes[n] = Duplicate("participant", "NIK", existing=registered.participant_id)
                continue
            seen.add(registered.participant_id)
            by_cohort.setdefault(command.cohort_id, []).append((n, registered))
        for cohort_id, rows in by_cohort.items():
            for start in range(0, len(rows), CHUNK):
                await self._register_chunk(cohort_id, rows[start : start + CHUNK], outcomes,
                                           context, today)  # fmt: skip
        return [o for o in outcomes if o is not None]

    def _registered(self, command: RegisterWorker, today: date) -> ParticipantRegistered:
        nik = validate_registration(command, self._regions, today)
        nik_hash = self._lookup.nik(nik)
        return ParticipantRegistered(
            participant_id=participant_id_for(nik_hash), cohort_id=command.cohort_id, nik=nik,
            nik_hash=nik_hash, name=command.name.strip(),
            birth_date=command.birth_date.isoformat(), sex=command.sex,
            phone=re.sub(r"[\s\-]", "", command.phone),
            kecamatan=normalise_code(command.kecamatan), desa=normalise_code(command.desa),
            occupation=command.occupation,
            declared_income=command.declared_income, priority=command.priority,
            policy_version=self._policy.version,
        )  # fmt: skip

    async def _register_chunk(
        self,
        cohort_id: str,
        rows: list[tuple[int, ParticipantRegistered]],
        outcomes: list[Registration | DomainError | None],
        context: Context,
        today: date,
    ) -> None:
        stream = cohort_stream(cohort_id)
        existing = await self._store.existing_streams(
            [participant_stream(r.participant_id) for _, r in rows]
        )
        pending = []
        for n, registered in rows:
            if participant_stream(registered.participant_id) in existing:
                outcomes[n] = Duplicate("participant", "NIK", existing=registered.participant_id)
            else:
                pending.append((n, registered))
        async with self._cohorts.lock(stream):
            for attempt in range(MAX_ATTEMPTS):
                if not pending:
                    return
                state, version = await self._cohorts.load(self._store, stream)
                try:
                    decided = self._decide_chunk(cohort_id, pending, state, today)
                except DomainError as refused:  # the cohort is unknown or not open
                    for n, _ in pending:
                        outcomes[n] = refused
                    return
                appends = [
                    StreamAppend(participant_stream(r.participant_id), [r, outcome], NO_STREAM)
                    for (_, r), (_, outcome) in zip(pending, decided, strict=True)
                ]
                appends.append(StreamAppend(stream, [d for d, _ in decided], version))
                try:
                    results = await self._store.append_many(appends, context=context)
                except WrongExpectedVersion as conflict:
                    if conflict.stream_id == stream:  # another registration came first
                        await back_off(attempt)
                        continue
                    # registered meanwhile by someone else: a duplicate; the others go on
                    pending = [(n, r) for n, r in pending if not self._refuse_duplicate(
                        n, r, conflict.stream_id, outcomes)]  # fmt: skip
                    continue
                for (n, r), (decision, _), result in zip(pending, decided, results, strict=False):
                    status = "enrolled" if isinstance(decision, SlotTaken) else "waitlisted"
                    outcomes[n] = Registration(r.participant_id, status, result.last_position)
                return
        raise RuntimeError(f"cohort {cohort_id}: too many concurrent registrations")

    def _decide_chunk(
        self,
        cohort_id: str,
        pending: list[tuple[int, ParticipantRegistered]],
        state: cohorts.CohortState,
        today: date,
    ) -> list[tuple[SlotTaken | WaitlistJoined, Event]]:
        """Each registration in turn against the cohort as the previous ones left it."""
        decided: list[tuple[SlotTaken | WaitlistJoined, Event]] = []
        for _, registered in pending:
            pid = registered.participant_id
            decision = cohorts.decide_registration(
                cohort_id, pid, registered.priority, registered.declared_income, state
            )
            state = cohorts.evolve(state, decision)
            outcome: Event = (
                ParticipantEnrolled(participant_id=pid, cohort_id=cohort_id,
                                    enrolled_on=max(today, state.coverage_start or today),
                                    programmes=list(state.programmes), decided_on=today)
                if isinstance(decision, SlotTaken)
                else ParticipantWaitlisted(participant_id=pid, cohort_id=cohort_id)
            )  # fmt: skip
            decided.append((decision, outcome))
        return decided

    @staticmethod
    def _refuse_duplicate(
        n: int,
        registered: ParticipantRegistered,
        stream_id: str,
        outcomes: list[Registration | DomainError | None],
    ) -> bool:
        if participant_stream(registered.participant_id) != stream_id:
            return False
        outcomes[n] = Duplicate("participant", "NIK", existing=registered.participant_id)
        return True

    async def leave(self, command: LeaveCohort, context: Context) -> list[AppendResult]:
        """The participant leaves their cohort; the next in line takes the slot."""
        pstream = participant_stream(command.participant_id)
        person, pversion = await self._participants.load(self._store, pstream)
        today = business_date(self._clock())
        if person.enrolled_on is not None and command.left_on < person.enrolled_on:
            person = await self._with_enrolment_day(pstream, person, pversion)
        participants.check_can_leave(
            command.participant_id, command.reason, command.left_on, today, person
        )
        left = ParticipantLeft(
            participant_id=command.participant_id, cohort_id=person.cohort_id,
            reason=command.reason, left_on=command.left_on, enrolled_on=person.enrolled_on,
        )  # fmt: skip

        def appends(state: cohorts.CohortState, version: int) -> list[StreamAppend]:
            events = cohorts.decide_leaving(
                person.cohort_id, command.participant_id, command.reason, state, self._policy
            )
            return [
                StreamAppend(pstream, [left], pversion),
                StreamAppend(cohort_stream(person.cohort_id), events, version),
                *self._enrolments(events, person.cohort_id, state),
            ]

        return await self._change_cohort(person.cohort_id, appends, context)

    async def _with_enrolment_day(
        self, stream: str, person: participants.ParticipantState, version: int
    ) -> participants.ParticipantState:
        """`person` with the day their current enrolment was made: one recorded before
        ParticipantEnrolled kept it was made on its event's business date (occurred_at)."""
        if person.status != "enrolled" or person.decided_on is not None:
            return person
        recorded = await self._store.read_stream(stream)
        made = [
            r for r in recorded
            if r.stream_version <= version and isinstance(r.data, ParticipantEnrolled)
        ]  # fmt: skip
        if not made:
            return person
        return msgspec.structs.replace(person, decided_on=business_date(made[-1].occurred_at))

    async def rejoin(self, command: Rejoin, context: Context) -> Registration:
        """A new membership for someone whose last one ended. Who left gave their slot back and
        must take one again (or wait for it, with the priority they registered with: it is the
        person's, see ParticipantState.priority); a lapsed member still holds theirs."""
        pstream = participant_stream(command.participant_id)
        recorded = await self._store.read_stream(pstream)
        person = self._participants.decider.fold([r.data for r in recorded])
        today = business_date(self._clock())
        participants.check_can_rejoin(
            command.participant_id, person, history_of([r.data for r in recorded], today)
        )
        version = recorded[-1].stream_version if recorded else 0
        if person.status == "enrolled":  # lapsed: the slot is still theirs
            enrolled = ParticipantEnrolled(participant_id=command.participant_id,
                                           cohort_id=person.cohort_id, enrolled_on=today,
                                           programmes=list(person.programmes),
                                           decided_on=today)  # fmt: skip
            (result,) = await self._store.append_many(
                [StreamAppend(pstream, [enrolled], version)], context=context
            )
            return Registration(command.participant_id, "enrolled", result.last_position)
        decided: list[SlotTaken | WaitlistJoined] = []

        def appends(state: cohorts.CohortState, cohort_version: int) -> list[StreamAppend]:
            decision = cohorts.decide_registration(
                person.cohort_id, command.participant_id, person.priority,
                person.declared_income, state,
            )  # fmt: skip
            decided[:] = [decision]
            outcome: Event = (
                ParticipantEnrolled(participant_id=command.participant_id,
                                    cohort_id=person.cohort_id, enrolled_on=today,
                                    programmes=list(state.programmes), decided_on=today)
                if isinstance(decision, SlotTaken)
                else ParticipantWaitlisted(participant_id=command.participant_id,
                                           cohort_id=person.cohort_id)
            )  # fmt: skip
            return [
                StreamAppend(pstream, [outcome], version),
                StreamAppend(cohort_stream(person.cohort_id), [decision], cohort_version),
            ]

        results = await self._change_cohort(person.cohort_id, appends, context)
        status = "enrolled" if isinstance(decided[0], SlotTaken) else "waitlisted"
        return Registration(command.participant_id, status, results[-1].last_position)

    async def record_kpj(self, command: RecordKpj, context: Context) -> list[AppendResult]:
        return await self._on_participant(command.participant_id, command, context)

    async def change_funder(self, command: ChangeFunder, context: Context) -> list[AppendResult]:
        return await self._on_participant(command.participant_id, command, context)

    async def _on_participant(
        self, participant_id: str, command: RecordKpj | ChangeFunder, context: Context
    ) -> list[AppendResult]:
        stream = participant_stream(participant_id)
        for attempt in range(MAX_ATTEMPTS):
            state, version = await self._participants.load(self._store, stream)
            events = (
                participants.decide_kpj(command, state)
                if isinstance(command, RecordKpj)
                else participants.decide_funder(command, state)
            )
            if not events:
                return []
            try:
                return await self._store.append_many(
                    [StreamAppend(stream, events, version)], context=context
                )
            except WrongExpectedVersion:
                await back_off(attempt)
        raise RuntimeError(f"participant {participant_id}: too many concurrent changes")

    def _enrolments(
        self, events: list[Event], cohort_id: str, state: cohorts.CohortState
    ) -> list[StreamAppend]:
        """Each participant promoted from the waiting list is told in their own stream; their
        membership starts today, or when the cohort's (new) coverage period starts."""
        today = business_date(self._clock())
        after = self._cohorts.decider.fold(events, state)
        enrolled_on = max(today, after.coverage_start or today)
        return [
            StreamAppend(
                participant_stream(e.participant_id),
                [
                    ParticipantEnrolled(
                        participant_id=e.participant_id,
                        cohort_id=cohort_id,
                        enrolled_on=enrolled_on,
                        programmes=list(after.programmes),
                        decided_on=today,
                    )
                ],
                ANY,
            )
            for e in events
            if isinstance(e, PromotedFromWaitlist)
        ]
