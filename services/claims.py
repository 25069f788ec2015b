"""Accidents and claims: the command handlers around the accident and claim deciders.

I/O lives here; every rule lives in services/accidents.py, services/claim_decider.py,
services/claim_assessment.py and services/domain. Each handler loads the stream, decides and
appends at the version it read; when another writer came first it decides again, a bounded
number of times.

A person dies once: filing a claim for a death (a JKM claim, or Stage II with the outcome
death) and reopening one also append the death's reservation (stream death-<participant_id>,
claim_decider.reserve_death) in the same append_many, expecting that stream at the version
read; of two concurrent claims for one death, one is appended and the other decided again and
refused.

A claim is decided from the participant's history *as known at* the decision instant: the
participant's stream is read once with `as_known_at` = now (their state, contribution history
and stream version all come from that one read), and that instant is recorded on the decision
(`eligibility.known_at`), so re-deciding as known then gives the same answer whatever was
recorded since (a payment reversed later, say).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from events.catalog import ClaimFiled, ClaimReopened
from events.errors import WrongExpectedVersion
from events.store import NO_STREAM, AppendResult, Context, EventStore, StreamAppend
from events.types import Event
from services import accidents, claim_decider, participants
from services.accidents import AccidentState, accident_stream
from services.claim_assessment import assess
from services.claim_decider import (
    Assessment,
    ClaimCommand,
    ClaimState,
    DeathState,
    Decision,
    claim_stream,
    claims_a_death,
    jkk_claim_id,
    jkm_claim_id,
)
from services.claim_sla import sla_of
from services.commands import DecideClaim, FileDeathClaim, ReportAccident, ReportAccidentOutcome
from services.decider import MAX_ATTEMPTS, Decider, StateCache, back_off
from services.domain.benefits import DEFAULT_BENEFIT_RULES, BenefitRules
from services.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar, business_date
from services.domain.errors import NotFound
from services.domain.policy import Policy
from services.domain.sla import ClaimSla
from services.membership import history_of
from services.registration import Registrar
from services.streams import death_stream, participant_stream


def _no_commands(command: object, state: object) -> list[Event]:
    return []


class ClaimsDesk:
    """Handles accident reports and claim commands against the event store."""

    def __init__(
        self,
        store: EventStore,
        registrar: Registrar,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        rules: BenefitRules = DEFAULT_BENEFIT_RULES,
        calendar: BusinessCalendar = DEFAULT_CALENDAR,
    ) -> None:
        if rules.jkm_full_benefit_min_membership_months != (
            policy.jkm_full_benefit_min_membership_months
        ):
            raise ValueError(f"benefit rules {rules.version} and policy {policy.version} "
                             "disagree on the JKM minimum months of membership")  # fmt: skip
        self._store = store
        self._registrar = registrar
        self._policy = policy
        self._clock = clock
        self._rules = rules
        self._calendar = calendar
        self._accidents: StateCache[AccidentState] = StateCache(
            Decider(AccidentState(), accidents.evolve, _no_commands)  # type: ignore[arg-type]
        )
        self._claims: StateCache[ClaimState] = StateCache(
            Decider(ClaimState(), claim_decider.evolve, _no_commands)  # type: ignore[arg-type]
        )
        self._deaths: StateCache[DeathState] = StateCache(
            Decider(DeathState(), claim_decider.evolve_death, _no_commands)  # type: ignore[arg-type]
        )

    # -- reading ---------------------------------------------------------------------------------

    async def accident(self, accident_id: str) -> AccidentState:
        state, _ = await self._accidents.load(self._store, accident_stream(accident_id))
        if state.status == "none":
            raise NotFound("accident", accident_id)
        return state

    async def claim(self, claim_id: str) -> ClaimState:
        state, _ = await self._claims.load(self._store, claim_stream(claim_id))
        if state.status == "none":
            raise NotFound("claim", claim_id)
        return state

    async def sla(self, claim_id: str, today: date) -> ClaimSla | None:
        """Deadline, working days left or late, and the penalty, as of `today`."""
        state = await self.claim(claim_id)
        return sla_of(state, today=today, policy=self._policy, calendar=self._calendar)

    async def assess(self, claim_id: str, command: DecideClaim, known_at: datetime) -> Assessment:
        """Eligibility and benefits of a claim from what Jaga knew at `known_at`."""
        return await self._assess(await self.claim(claim_id), command, known_at)

    async def _assess(
        self, state: ClaimState, command: DecideClaim, known_at: datetime
    ) -> Assessment:
        assert state.filed is not None
        pid = state.filed.participant_id
        recorded = await self._store.read_stream(participant_stream(pid), as_known_at=known_at)
        if not recorded:
            raise NotFound("participant", pid)
        person = participants.ParticipantState()
        for r in recorded:
            person = participants.evolve(person, r.data)
        found = history_of([r.data for r in recorded], today=business_date(known_at))
        return assess(state, command, person, found, known_at=known_at,
                      participant_version=recorded[-1].stream_version, policy=self._policy,
                      rules=self._rules)  # fmt: skip

    async def _reserve_death(self, filed: ClaimFiled) -> StreamAppend:
        """The append that lets the claim `filed` take its participant's death, at the version
        of the death stream read here (refused while another standing claim holds it)."""
        stream = death_stream(filed.participant_id)
        death, version = await self._deaths.load(self._store, stream)
        holder = ClaimState()
        if death.claim_id is not None and death.claim_id != filed.claim_id:
            holder, _ = await self._claims.load(self._store, claim_stream(death.claim_id))
        return StreamAppend(stream, claim_decider.reserve_death(death, holder, filed), version)

    # -- accidents -------------------------------------------------------------------------------

    async def report_accident(self, command: ReportAccident, context: Context) -> AppendResult:
        """Stage I. Late reports are accepted, flagged with the hours late."""
        await self._registrar.participant(command.participant_id)  # NotFound if unknown
        stream = accident_stream(command.accident_id)
        state, _ = await self._accidents.load(self._store, stream)
        events = accidents.decide_report(command, state, now=self._clock(), policy=self._policy)
        try:
            return await self._store.append(stream, events, NO_STREAM, context=context)
        except WrongExpectedVersion:  # reported meanwhile: decide again, as a duplicate
            state, _ = await self._accidents.load(self._store, stream)
            accidents.decide_report(command, state, now=self._clock(), policy=self._policy)
            raise

    async def report_outcome(
        self, command: ReportAccidentOutcome, context: Context
    ) -> list[AppendResult]:
        """Stage II, which also files the accident's JKK claim (one append, both or none; with
        the death's reservation when the outcome is death)."""
        stream = accident_stream(command.accident_id)
        cstream = claim_stream(jkk_claim_id(command.accident_id))
        for attempt in range(MAX_ATTEMPTS):
            state, version = await self._accidents.load(self._store, stream)
            claim, _ = await self._claims.load(self._store, cstream)
            events = accidents.decide_outcome(command, state, now=self._clock(),
                                              policy=self._policy)  # fmt: skip
            filed = claim_decider.file_jkk(state, events[0], claim, self._policy)  # type: ignore[arg-type]
            appends = [StreamAppend(stream, events, version),
                       StreamAppend(cstream, filed, NO_STREAM)]  # fmt: skip
            if claims_a_death(filed[0]):
                appends.append(await self._reserve_death(filed[0]))
            try:
                return await self._store.append_many(appends, context=context)
            except WrongExpectedVersion:
                await back_off(attempt)
        raise RuntimeError(f"accident {command.accident_id}: too many concurrent changes")

    # -- claims ----------------------------------------------------------------------------------

    async def file_death_claim(self, command: FileDeathClaim, context: Context) -> AppendResult:
        """A JKM claim: one per participant, and none while a JKK claim stands for the death."""
        await self._registrar.participant(command.participant_id)  # NotFound if unknown
        stream = claim_stream(jkm_claim_id(command.participant_id))
        for attempt in range(MAX_ATTEMPTS):
            state, _ = await self._claims.load(self._store, stream)
            events = claim_decider.file_jkm(command, state, now=self._clock(), policy=self._policy)
            death = await self._reserve_death(events[0])
            try:
                appends = [StreamAppend(stream, events, NO_STREAM), death]
                return (await self._store.append_many(appends, context=context))[0]
            except WrongExpectedVersion:  # filed, or the death taken, meanwhile: decide again
                await back_off(attempt)
        raise RuntimeError(f"participant {command.participant_id}: too many concurrent changes")

    async def handle(self, command: ClaimCommand, context: Context) -> Sequence[Event]:
        """Any claim command: the events it appended (none when it changed nothing)."""
        stream = claim_stream(command.claim_id)
        async with self._claims.lock(stream):
            for attempt in range(MAX_ATTEMPTS):
                state, version = await self._claims.load(self._store, stream)
                if state.status == "none":
                    raise NotFound("claim", command.claim_id)
                now = self._clock()
                assessment = None
                if isinstance(command, DecideClaim) and state.status == "under_verification":
                    assessment = await self._assess(state, command, now)
                decision = Decision(context.actor, now, self._policy, assessment, self._calendar)
                events = claim_decider.decide(command, state, decision)
                if not events:
                    return []
                appends = [StreamAppend(stream, events, version)]
                if state.for_death and any(isinstance(e, ClaimReopened) for e in events):
                    assert state.filed is not None  # a reopened death claim takes it again
                    appends.append(await self._reserve_death(state.filed))
                try:
                    await self._store.append_many(appends, context=context)
                except WrongExpectedVersion:
                    await back_off(attempt)
                    continue
                return events
        raise RuntimeError(f"claim {command.claim_id}: too many concurrent changes")
