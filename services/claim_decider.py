"""The claim decider: one JKK claim per accident or JKM claim per death (stream claim-<id>).

States (domain.md "Claims"):

    reported ──submit, documents missing──> documents_incomplete ──last document──> submitted
    reported ──submit, documents complete──────────────────────────────────────────> submitted
    submitted ──start verification (an officer is assigned)──> under_verification
    under_verification ──decide: not eligible──> rejected
    under_verification ──decide: eligible, up to the four-eyes threshold──> approved
    under_verification ──decide: eligible, above it (NPWP in)──> awaiting_second_approval
    awaiting_second_approval ──approve by another officer──> approved
    under_verification | awaiting_second_approval ──reject──> rejected
    submitted | under_verification | awaiting_second_approval ──return──> returned
    returned ──last missing document──> submitted
    approved ──record payment──> paid
    rejected | paid ──reopen──> reopened ──submit──> submitted | documents_incomplete

Anything else is refused with an IllegalTransition naming the state and the reason.

A person dies once: a claim for a death (JKM, or a JKK claim whose outcome is death) takes the
participant's death in stream death-<participant_id> (`reserve_death`), in the same append as
its filing, and is refused while another claim holds it that is not rejected. A rejected claim
lets go: a JKM claim rejected because the death was a work accident makes way for the JKK
claim, and the reverse. A JKM claim's id follows from the participant, so a rejected one is
reopened, not filed again; reopening a death claim takes the death again, on the same terms.

Pure: the caller passes who acts, when, the policy, and (to decide) the assessment of
eligibility and benefits made from the participant's history (services/claim_assessment.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import msgspec

from events.catalog import (
    AccidentOutcomeReported,
    ClaimApprovalProposed,
    ClaimApproved,
    ClaimAssigned,
    ClaimDocumentReceived,
    ClaimDocumentsIncomplete,
    ClaimFiled,
    ClaimHeirsNamed,
    ClaimLine,
    ClaimPaid,
    ClaimRejected,
    ClaimReopened,
    ClaimReturned,
    ClaimSubmitted,
    ClaimVerificationStarted,
    DeathClaimReserved,
    Eligibility,
    Heir,
)
from events.types import Event
from services.accidents import AccidentState
from services.claim_documents import Document, document, required_documents
from services.claim_sla import sla_of
from services.commands import (
    ApproveClaim,
    AssignClaim,
    DecideClaim,
    FileDeathClaim,
    NameHeirs,
    ReceiveClaimDocument,
    RecordClaimPayment,
    RejectClaim,
    ReopenClaim,
    ReturnClaim,
    StartVerification,
    SubmitClaim,
)
from services.domain import heirs
from services.domain.benefits import BenefitLine
from services.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar, business_date
from services.domain.errors import (
    DeathAlreadyClaimed,
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from services.domain.money import rupiah
from services.domain.nik import normalise_nik, parse_nik
from services.domain.policy import Policy

_CLAIM_NAMESPACE = uuid.UUID("2b7d0c1e-5a44-4f39-8e61-3c9a0d7b5e22")
CLOSED = ("rejected", "paid")
TAKES_DOCUMENTS = ("reported", "documents_incomplete", "returned", "reopened")


def jkk_claim_id(accident_id: str) -> str:
    """One JKK claim per accident: its id follows from the accident's."""
    return str(uuid.uuid5(_CLAIM_NAMESPACE, f"JKK/{accident_id}"))


def jkm_claim_id(participant_id: str) -> str:
    """One JKM claim per death, so per participant."""
    return str(uuid.uuid5(_CLAIM_NAMESPACE, f"JKM/{participant_id}"))


def claim_stream(claim_id: str) -> str:
    return f"claim-{claim_id}"


class ClaimState(msgspec.Struct, frozen=True):
    claim_id: str = ""
    status: str = "none"
    filed: ClaimFiled | None = None
    officer: str | None = None
    required: tuple[str, ...] = ()
    received: tuple[str, ...] = ()
    documents_complete_at: datetime | None = None
    sla_working_days: int = 0
    proposal: ClaimApprovalProposed | None = None
    approval: ClaimApproved | None = None
    rejection: ClaimRejected | None = None
    payment: ClaimPaid | None = None
    heirs: tuple[Heir, ...] = ()
    paid_benefit: int = 0
    """Benefit paid so far: a reopened claim approved again pays only what is still owed."""

    @property
    def for_death(self) -> bool:
        """A JKM claim, or a JKK claim whose outcome is death: the heirs receive it."""
        return self.filed is not None and claims_a_death(self.filed)

    @property
    def kind(self) -> str:
        return self.filed.kind if self.filed else ""

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(d for d in self.required if d not in self.received)


def evolve(state: ClaimState, event: Event) -> ClaimState:
    replace = msgspec.structs.replace
    match event:
        case ClaimFiled():
            return ClaimState(event.claim_id, "reported", event,
                              required=tuple(event.required_documents))  # fmt: skip
        case ClaimAssigned():
            return replace(state, officer=event.officer)
        case ClaimDocumentReceived():
            received = state.received + ((event.document,) if event.document not in
                                         state.received else ())  # fmt: skip
            return replace(state, received=received)
        case ClaimDocumentsIncomplete():
            return replace(state, status="documents_incomplete")
        case ClaimSubmitted():
            return replace(state, status="submitted",
                           documents_complete_at=event.documents_complete_at,
                           sla_working_days=event.sla_working_days)  # fmt: skip
        case ClaimVerificationStarted():
            return replace(state, status="under_verification")
        case ClaimReturned():
            received = tuple(d for d in state.received if d not in event.missing)
            required = state.required + tuple(d for d in event.missing if d not in state.required)
            return replace(state, status="returned", received=received, required=required,
                           proposal=None)  # fmt: skip
        case ClaimApprovalProposed():
            return replace(state, status="awaiting_second_approval", proposal=event)
        case ClaimApproved():
            return replace(state, status="approved", approval=event, proposal=None)
        case ClaimRejected():
            return replace(state, status="rejected", rejection=event, proposal=None)
        case ClaimPaid():
            return replace(state, status="paid", payment=event,
                           paid_benefit=state.paid_benefit + event.benefit)  # fmt: skip
        case ClaimReopened():
            return replace(state, status="reopened", proposal=None)
        case ClaimHeirsNamed():
            return replace(state, heirs=tuple(event.heirs))
    return state


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    """Eligibility and benefit lines of a claim, as decided from the participant's history
    known at `eligibility.known_at` (services/claim_assessment.py)."""

    eligibility: Eligibility
    lines: tuple[BenefitLine, ...]
    not_granted: tuple[str, ...]
    benefit_rules_version: str

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class Decision:
    """Who decides, when, under which policy (and, to decide a claim, on what assessment)."""

    actor: str
    now: datetime
    policy: Policy
    assessment: Assessment | None = None
    calendar: BusinessCalendar = DEFAULT_CALENDAR


ClaimCommand = (
    AssignClaim | ReceiveClaimDocument | SubmitClaim | StartVerification | ReturnClaim
    | DecideClaim | ApproveClaim | RejectClaim | RecordClaimPayment | ReopenClaim | NameHeirs
)  # fmt: skip


# -- filing ---------------------------------------------------------------------------------------


def file_jkk(
    accident: AccidentState, outcome: AccidentOutcomeReported, claim: ClaimState, policy: Policy
) -> list[ClaimFiled]:
    """The JKK claim an accident's Stage II report applies for."""
    claim_id = jkk_claim_id(accident.accident_id)
    if claim.status != "none":
        raise Duplicate("claim", claim_id, existing=f"JKK claim of accident {accident.accident_id}")
    assert accident.occurred_at is not None
    docs = required_documents("JKK", traffic=accident.traffic, outcome=outcome.outcome)
    return [
        ClaimFiled(
            claim_id=claim_id, kind="JKK", participant_id=accident.participant_id,
            accident_id=accident.accident_id, event_on=business_date(accident.occurred_at),
            filed_at=outcome.reported_at, accident_kind=accident.kind, traffic=accident.traffic,
            outcome=outcome.outcome, disability_percent=outcome.disability_percent,
            impairment=outcome.impairment, required_documents=[d.value for d in docs],
            policy_version=policy.version,
        )
    ]  # fmt: skip


def file_jkm(
    command: FileDeathClaim, claim: ClaimState, *, now: datetime, policy: Policy
) -> list[ClaimFiled]:
    """A JKM claim for the death of a participant (not from a work accident)."""
    claim_id = jkm_claim_id(command.participant_id)
    if claim.status != "none":
        raise Duplicate("claim", claim_id, existing=f"JKM claim of {command.participant_id}")
    filed_at = command.filed_at or now
    if filed_at.utcoffset() is None:
        raise ValidationFailed.one("filed_at", "an instant with its time zone")
    if filed_at > now:
        raise ValidationFailed.one("filed_at", f"{filed_at.isoformat()} is in the future")
    if command.died_on > business_date(filed_at):
        raise ValidationFailed.one("died_on", f"{command.died_on} is after the claim was filed")
    return [
        ClaimFiled(
            claim_id=claim_id, kind="JKM", participant_id=command.participant_id,
            accident_id=None, event_on=command.died_on, filed_at=filed_at, accident_kind=None,
            traffic=False, outcome="death", disability_percent=None, impairment="",
            required_documents=[d.value for d in required_documents("JKM")],
            policy_version=policy.version,
        )
    ]  # fmt: skip


# -- one death, one standing claim --------------------------------------------------------------


def claims_a_death(filed: ClaimFiled) -> bool:
    """A JKM claim, or a JKK claim whose accident ended in death."""
    return filed.kind == "JKM" or filed.outcome == "death"


class DeathState(msgspec.Struct, frozen=True):
    """Which claim holds a participant's death (stream death-<participant_id>)."""

    claim_id: str | None = None


def evolve_death(state: DeathState, event: Event) -> DeathState:
    match event:
        case DeathClaimReserved():
            return DeathState(event.claim_id)
    return state


def reserve_death(death: DeathState, holder: ClaimState, filed: ClaimFiled) -> list[Event]:
    """The claim `filed` takes its participant's death; refused while another claim holds it
    that is not rejected. `holder` is the state of that claim (`death.claim_id`), read after
    `death`. The caller appends at the version `death` was read at: should the holder be
    reopened meanwhile (a reopening takes the death again), that append fails and the caller
    decides again."""
    if death.claim_id is not None and death.claim_id != filed.claim_id:
        if holder.claim_id != death.claim_id:
            raise ValueError(f"the holder of the death is claim {death.claim_id}, "
                             f"not {holder.claim_id or 'none'}")  # fmt: skip
        if holder.status != "rejected":
            raise DeathAlreadyClaimed(filed.participant_id, holder.claim_id, holder.kind,
                                      holder.status)  # fmt: skip
    return [DeathClaimReserved(participant_id=filed.participant_id, claim_id=filed.claim_id,
                               claim_kind=filed.kind)]  # fmt: skip


# -- the lifecycle --------------------------------------------------------------------------------


def decide(command: ClaimCommand, state: ClaimState, decision: Decision) -> list[Event]:
    """The events a command produces on a claim, or the refusal."""
    if state.status == "none":
        raise NotFound("claim", command.claim_id)
    match command:
        case AssignClaim():
            return _assign(command, state, decision)
        case ReceiveClaimDocument():
            return _receive(command, state, decision)
        case SubmitClaim():
            return _submit(state, decision)
        case StartVerification():
            _from(state, "start verification", "submitted")
            if state.officer is None:
                _refuse(state, "start verification", "no claim officer is assigned")
            return [ClaimVerificationStarted(claim_id=state.claim_id, officer=decision.actor)]
        case ReturnClaim():
            return _return(command, state, decision)
        case DecideClaim():
            return _decide(state, decision)
        case ApproveClaim():
            return _second_approval(state, decision)
        case RejectClaim():
            _from(state, "reject", "under_verification", "awaiting_second_approval")
            reason = _reason(command.reason)
            return [
                ClaimRejected(claim_id=state.claim_id, officer=decision.actor,
                              decided_at=decision.now, reasons=[reason], eligibility=None,
                              policy_version=decision.policy.version)
            ]  # fmt: skip
        case RecordClaimPayment():
            return _pay(command, state, decision)
        case NameHeirs():
            return _name_heirs(command, state, decision)
        case ReopenClaim():
            _from(state, "reopen", *CLOSED)
            return [ClaimReopened(claim_id=state.claim_id, reason=_reason(command.reason),
                                  officer=decision.actor)]  # fmt: skip
    raise TypeError(f"not a claim command: {command!r}")


def _refuse(state: ClaimState, action: str, reason: str) -> None:
    raise IllegalTransition(f"claim {state.claim_id}", state.status, action, reason)


def _from(state: ClaimState, action: str, *allowed: str) -> None:
    if state.status not in allowed:
        _refuse(state, action, f"only from {' or '.join(allowed)}")


def _reason(text: str) -> str:
    if not text.strip():
        raise ValidationFailed.one("reason", "say why")
    return text.strip()


def _assign(command: AssignClaim, state: ClaimState, decision: Decision) -> list[Event]:
    if state.status in CLOSED:
        _refuse(state, "assign an officer", "the claim is closed; reopen it first")
    officer = command.officer.strip()
    if not officer:
        raise ValidationFailed.one("officer", "who works the claim")
    if officer == state.officer:
        return []
    if state.officer is not None and not command.reassign:
        _refuse(state, "assign an officer", f"{state.officer} works it; a supervisor reassigns it")
    return [ClaimAssigned(claim_id=state.claim_id, officer=officer, assigned_by=decision.actor)]


def _receive(command: ReceiveClaimDocument, state: ClaimState, decision: Decision) -> list[Event]:
    doc = document(command.document)
    if state.status not in TAKES_DOCUMENTS:
        _refuse(
            state,
            f"receive the {doc.value}",
            "documents come in before verification; return the claim to ask for more",
        )
    received_at = command.received_at or decision.now
    if received_at.utcoffset() is None or received_at > decision.now:
        raise ValidationFailed.one("received_at", "an instant with its time zone, not later "
                                   "than now")  # fmt: skip
    events: list[Event] = [
        ClaimDocumentReceived(claim_id=state.claim_id, document=doc.value,
                              reference=command.reference.strip(), received_at=received_at,
                              officer=decision.actor)
    ]  # fmt: skip
    after = evolve(state, events[0])
    if state.status in ("documents_incomplete", "returned") and not after.missing:
        events.append(_submitted(state, received_at, decision))
    return events


def _submitted(state: ClaimState, complete_at: datetime, decision: Decision) -> ClaimSubmitted:
    policy = decision.policy
    days = policy.sla_working_days_jkk if state.kind == "JKK" else policy.sla_working_days_jkm
    return ClaimSubmitted(claim_id=state.claim_id, documents_complete_at=complete_at,
                          sla_working_days=days, officer=decision.actor,
                          policy_version=policy.version)  # fmt: skip


def _submit(state: ClaimState, decision: Decision) -> list[Event]:
    _from(state, "submit", *TAKES_DOCUMENTS)
    if not state.missing:
        return [_submitted(state, decision.now, decision)]
    if state.status in ("reported", "reopened"):
        return [ClaimDocumentsIncomplete(claim_id=state.claim_id, missing=list(state.missing),
                                         officer=decision.actor)]  # fmt: skip
    _refuse(state, "submit", f"documents still missing: {', '.join(state.missing)}")
    return []


def _return(command: ReturnClaim, state: ClaimState, decision: Decision) -> list[Event]:
    _from(state, "return", "submitted", "under_verification", "awaiting_second_approval")
    errors: list[FieldError] = []
    missing: list[str] = []
    for n, text in enumerate(command.missing):
        try:
            missing.append(document(text, f"missing[{n}]").value)
        except ValidationFailed as exc:
            errors += exc.errors
    if not command.missing:
        errors.append(FieldError("missing", "name the documents the claim waits for"))
    if not command.reason.strip():
        errors.append(FieldError("reason", "say why"))
    if errors:
        raise ValidationFailed(errors)
    return [ClaimReturned(claim_id=state.claim_id, missing=sorted(set(missing)),
                          reason=command.reason.strip(), officer=decision.actor)]  # fmt: skip


def lines_of(lines: Sequence[BenefitLine]) -> list[ClaimLine]:
    return [
        ClaimLine(kind=str(line.kind), amount=line.amount, formula=line.formula,
                  description=line.description, rules_version=line.rules_version)
        for line in lines
    ]  # fmt: skip


_HEIR_NAMESPACE = uuid.UUID("b7e2f0a4-5d1c-4b8e-9a3f-2c6d8e1f4a90")


def _name_heirs(command: NameHeirs, state: ClaimState, decision: Decision) -> list[Event]:
    """Who receives a death benefit, in the order of domain.md (services/domain/heirs.py)."""
    if not state.for_death:
        _refuse(state, "name heirs", "heirs receive benefits only after a death")
    if state.status in ("approved", "awaiting_second_approval", "paid", "rejected"):
        _refuse(state, "name heirs", "the claim is already decided; reopen it first")
    heirs.check(command.heirs)
    errors: list[FieldError] = []
    today = business_date(decision.now)
    niks = []
    for n, heir in enumerate(command.heirs):
        try:
            niks.append(str(parse_nik(normalise_nik(heir.nik), today, f"heirs[{n}].nik")))
        except ValidationFailed as exc:
            errors += exc.errors
        if not heir.name.strip():
            errors.append(FieldError(f"heirs[{n}].name", "must not be empty"))
    if errors:
        raise ValidationFailed(errors)
    payees = {id(h) for h in heirs.payees(command.heirs)}
    named = [
        Heir(person_id=str(uuid.uuid5(_HEIR_NAMESPACE, f"{state.claim_id}/{nik}")),
             name=heir.name.strip(), nik=nik, relation=heir.relation, payee=id(heir) in payees)
        for heir, nik in zip(command.heirs, niks, strict=True)
    ]  # fmt: skip
    return [ClaimHeirsNamed(claim_id=state.claim_id, heirs=named, officer=decision.actor)]


def _decide(state: ClaimState, decision: Decision) -> list[Event]:
    _from(state, "decide", "under_verification")
    if decision.actor != state.officer:
        _refuse(state, "decide", f"the claim is assigned to {state.officer}, "
                f"not {decision.actor}")  # fmt: skip
    if state.for_death and not state.heirs:
        _refuse(state, "decide", "a death benefit is paid to the heirs: name them first")
    found = decision.assessment
    if found is None:
        raise ValueError("deciding a claim needs its assessment")
    policy = decision.policy
    if not found.eligibility.eligible:
        return [
            ClaimRejected(claim_id=state.claim_id, officer=decision.actor,
                          decided_at=decision.now, reasons=list(found.eligibility.reasons),
                          eligibility=found.eligibility, policy_version=policy.version)
        ]  # fmt: skip
    parts = dict(
        claim_id=state.claim_id, officer=decision.actor, decided_at=decision.now,
        eligibility=found.eligibility, lines=lines_of(found.lines),
        not_granted=list(found.not_granted), total=found.total,
        benefit_rules_version=found.benefit_rules_version, policy_version=policy.version,
    )  # fmt: skip
    if not policy.needs_four_eyes(found.total):
        return [ClaimApproved(first_officer=None, **parts)]  # type: ignore[arg-type]
    if Document.NPWP.value not in state.received:
        _refuse(state, "approve", f"the benefit {rupiah(found.total)} is above "
                f"{rupiah(policy.four_eyes_threshold)}: an NPWP is needed; return the claim "
                "for it")  # fmt: skip
    return [ClaimApprovalProposed(**parts)]  # type: ignore[arg-type]


def _second_approval(state: ClaimState, decision: Decision) -> list[Event]:
    _from(state, "approve", "awaiting_second_approval")
    first = state.proposal
    assert first is not None
    if decision.actor == first.officer:
        _refuse(state, "approve", f"the second approval must come from another officer than "
                f"{first.officer}, who proposed it")  # fmt: skip
    return [
        ClaimApproved(
            claim_id=state.claim_id, officer=decision.actor, first_officer=first.officer,
            decided_at=decision.now, eligibility=first.eligibility, lines=first.lines,
            not_granted=first.not_granted, total=first.total,
            benefit_rules_version=first.benefit_rules_version,
            policy_version=decision.policy.version,
        )
    ]  # fmt: skip


def _pay(command: RecordClaimPayment, state: ClaimState, decision: Decision) -> list[Event]:
    if state.status == "paid" and state.payment and state.payment.reference == command.reference:
        return []  # the same payment recorded again: one reference, one payment
    _from(state, "record a payment", "approved")
    reference = command.reference.strip()
    if not reference:
        raise ValidationFailed.one("reference", "the bank transfer reference is required")
    paid_at = command.paid_at
    if paid_at.utcoffset() is None or paid_at > decision.now:
        raise ValidationFailed.one("paid_at", "an instant with its time zone, not in the future")
    assert state.approval is not None and state.documents_complete_at is not None
    paid_on = business_date(paid_at)
    if paid_on < business_date(state.documents_complete_at):
        raise ValidationFailed.one("paid_at", f"{paid_on} is before the documents were complete")
    sla = sla_of(state, today=paid_on, policy=decision.policy, calendar=decision.calendar,
                 paid_on=paid_on)  # fmt: skip
    assert sla is not None
    penalty = lines_of([sla.penalty])[0] if sla.penalty is not None else None
    benefit = state.approval.total - state.paid_benefit
    if benefit <= 0:
        approved = rupiah(state.approval.total)
        _refuse(state, "record a payment", f"the approved benefit of {approved} was already paid")
    return [
        ClaimPaid(
            claim_id=state.claim_id, reference=reference, paid_at=paid_at, benefit=benefit,
            working_days_late=sla.working_days_late, penalty=penalty,
            amount=benefit + (penalty.amount if penalty else 0), officer=decision.actor,
            policy_version=decision.policy.version,
        )
    ]  # fmt: skip


def event_date(state: ClaimState) -> date:
    assert state.filed is not None
    return state.filed.event_on
