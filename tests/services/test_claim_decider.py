"""The claim decider, given-when-then: every legal transition, illegal ones with their
reasons, four eyes, documents, payment with the SLA penalty."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    ClaimSubmitted,
    ClaimVerificationStarted,
    DeathClaimReserved,
    Eligibility,
)
from events.types import Event
from services import claim_decider
from services.claim_decider import Assessment, ClaimState, Decision
from services.claim_documents import Document, required_documents
from services.commands import (
    ApproveClaim,
    AssignClaim,
    DecideClaim,
    HeirStatement,
    NameHeirs,
    ReceiveClaimDocument,
    RecordClaimPayment,
    RejectClaim,
    ReopenClaim,
    ReturnClaim,
    StartVerification,
    SubmitClaim,
)
from services.domain import benefits
from services.domain.errors import (
    DeathAlreadyClaimed,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from services.domain.money import TIMES
from services.domain.policy import DEFAULT_POLICY

POLICY = DEFAULT_POLICY
C = "claim-1"
ANI, BUDI = "officer:ani", "officer:budi"
NOW = datetime(2025, 12, 1, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB
JKK_DOCS = [d.value for d in required_documents("JKK")]

FILED = ClaimFiled(
    claim_id=C, kind="JKK", participant_id="p1", accident_id="a1", event_on=date(2025, 11, 20),
    filed_at=NOW - timedelta(days=3), accident_kind="at_work", traffic=False,
    outcome="partial_disability", disability_percent=10, impairment="finger",
    required_documents=JKK_DOCS, policy_version=POLICY.version,
)  # fmt: skip
ASSIGNED = ClaimAssigned(claim_id=C, officer=ANI, assigned_by="supervisor:dewi")
DOCS = [
    ClaimDocumentReceived(claim_id=C, document=d, reference=f"{d}-1", received_at=NOW, officer=ANI)
    for d in JKK_DOCS
]
NPWP = ClaimDocumentReceived(claim_id=C, document="npwp", reference="npwp-1", received_at=NOW,
                             officer=ANI)  # fmt: skip
INCOMPLETE = ClaimDocumentsIncomplete(claim_id=C, missing=JKK_DOCS, officer=ANI)
SUBMITTED = ClaimSubmitted(claim_id=C, documents_complete_at=NOW, sla_working_days=7, officer=ANI,
                           policy_version=POLICY.version)  # fmt: skip
VERIFYING = ClaimVerificationStarted(claim_id=C, officer=ANI)
RETURNED = ClaimReturned(claim_id=C, missing=["bank_account"], reason="account closed", officer=ANI)
REOPENED = ClaimReopened(claim_id=C, reason="new evidence", officer=ANI)


def eligibility(*reasons: str) -> Eligibility:
    return Eligibility(
        known_at=NOW, participant_version=4, event_on=date(2025, 11, 20), member=True,
        covered=not reasons, coverage_reason="paid_on_time", coverage_explanation="paid",
        coverage_rules_version="coverage/1", membership_months=1, contribution_months=2,
        programmes=["JKK", "JKM"], wage=1_000_000, claim_last_day=date(2030, 11, 20),
        filed_on=date(2025, 11, 28), reasons=list(reasons),
    )  # fmt: skip


def assessment(lines: tuple[benefits.BenefitLine, ...], *reasons: str) -> Assessment:
    return Assessment(eligibility=eligibility(*reasons), lines=() if reasons else lines,
                      not_granted=(), benefit_rules_version="benefits/PP82-2019")  # fmt: skip


SMALL = assessment((benefits.partial_disability(1_000_000, 10),))  # Rp8 juta
LARGE = assessment(benefits.jkk_death(1_000_000))  # Rp70 juta: four eyes
NOT_COVERED = assessment((), "not covered on 2025-11-20: the contribution is not paid")


def given_(*events: Event) -> ClaimState:
    state = ClaimState()
    for event in events:
        state = claim_decider.evolve(state, event)
    return state


def when(
    command: object,
    *events: Event,
    actor: str = ANI,
    found: Assessment | None = None,
    now: datetime = NOW,
) -> list[Event]:
    decision = Decision(actor, now, POLICY, found)
    return claim_decider.decide(command, given_(*events), decision)  # type: ignore[arg-type]


READY = (FILED, ASSIGNED, *DOCS, SUBMITTED, VERIFYING)
(APPROVAL,) = when(DecideClaim(claim_id=C), *READY, found=SMALL)
(PROPOSAL,) = when(DecideClaim(claim_id=C), *READY, NPWP, found=LARGE)
(REJECTION,) = when(DecideClaim(claim_id=C), *READY, found=NOT_COVERED)
PAID = ClaimPaid(claim_id=C, reference="TRF-1", paid_at=NOW, benefit=8_000_000,
                 working_days_late=0, penalty=None, amount=8_000_000, officer=ANI,
                 policy_version=POLICY.version)  # fmt: skip


# -- every legal transition: given events, when command, then event types and the new state --

LEGAL = [
    ((FILED,), AssignClaim(C, ANI), [ClaimAssigned], "reported"),
    ((FILED,), SubmitClaim(C), [ClaimDocumentsIncomplete], "documents_incomplete"),
    ((FILED, *DOCS), SubmitClaim(C), [ClaimSubmitted], "submitted"),
    ((FILED,), ReceiveClaimDocument(claim_id=C, document="ktp"), [ClaimDocumentReceived],
     "reported"),
    ((FILED, *DOCS[:-1], INCOMPLETE), ReceiveClaimDocument(claim_id=C, document=JKK_DOCS[-1]),
     [ClaimDocumentReceived, ClaimSubmitted], "submitted"),
    ((FILED, *DOCS[:-1], INCOMPLETE), ReceiveClaimDocument(claim_id=C, document="medical_bills"),
     [ClaimDocumentReceived], "documents_incomplete"),
    ((FILED, ASSIGNED, *DOCS, SUBMITTED), StartVerification(C), [ClaimVerificationStarted],
     "under_verification"),
    ((FILED, ASSIGNED, *DOCS, SUBMITTED),
     ReturnClaim(claim_id=C, missing=["ktp"], reason="blurred"), [ClaimReturned], "returned"),
    (READY, ReturnClaim(claim_id=C, missing=["npwp"], reason="above Rp50 juta"), [ClaimReturned],
     "returned"),
    ((*READY, RETURNED), ReceiveClaimDocument(claim_id=C, document="bank_account"),
     [ClaimDocumentReceived, ClaimSubmitted], "submitted"),
    (READY, DecideClaim(claim_id=C), [ClaimApproved], "approved"),
    (READY, RejectClaim(claim_id=C, reason="forged statement"), [ClaimRejected], "rejected"),
    ((*READY, NPWP, PROPOSAL), ApproveClaim(C), [ClaimApproved], "approved"),
    ((*READY, NPWP, PROPOSAL), RejectClaim(claim_id=C, reason="doubts"), [ClaimRejected],
     "rejected"),
    ((*READY, NPWP, PROPOSAL), ReturnClaim(claim_id=C, missing=["heir_statement"], reason="x"),
     [ClaimReturned], "returned"),
    ((*READY, APPROVAL), RecordClaimPayment(claim_id=C, reference="TRF-1", paid_at=NOW),
     [ClaimPaid], "paid"),
    ((*READY, REJECTION), ReopenClaim(claim_id=C, reason="paid after all"), [ClaimReopened],
     "reopened"),
    ((*READY, APPROVAL, PAID), ReopenClaim(claim_id=C, reason="new STMB period"),
     [ClaimReopened], "reopened"),
    ((*READY, REJECTION, REOPENED), SubmitClaim(C), [ClaimSubmitted], "submitted"),
    ((*READY, REJECTION, REOPENED), AssignClaim(C, BUDI, reassign=True), [ClaimAssigned],
     "reopened"),
    ((FILED, ASSIGNED), AssignClaim(C, BUDI, reassign=True), [ClaimAssigned], "reported"),
]  # fmt: skip


@pytest.mark.parametrize(("given", "command", "then", "state"), LEGAL)
def test_legal_transitions(
    given: tuple[Event, ...], command: object, then: list[type], state: str
) -> None:
    found = LARGE if isinstance(command, ApproveClaim) else SMALL
    events = when(command, *given, actor=BUDI if isinstance(command, ApproveClaim) else ANI,
                  found=found)  # fmt: skip
    assert [type(e) for e in events] == then
    assert given_(*given, *events).status == state


# -- illegal transitions: refused, naming the state and the reason --------------------------

ILLEGAL = [
    ((FILED,), StartVerification(C), "reported", "only from submitted"),
    ((FILED, *DOCS, SUBMITTED), StartVerification(C), "submitted", "no claim officer is assigned"),
    ((FILED,), DecideClaim(claim_id=C), "reported", "only from under_verification"),
    ((FILED, INCOMPLETE), SubmitClaim(C), "documents_incomplete", "documents still missing"),
    (READY, ReceiveClaimDocument(claim_id=C, document="ktp"), "under_verification",
     "return the claim to ask for more"),
    ((*READY, APPROVAL), DecideClaim(claim_id=C), "approved", "only from under_verification"),
    ((*READY, REJECTION), RecordClaimPayment(claim_id=C, reference="T", paid_at=NOW), "rejected",
     "only from approved"),
    (READY, RecordClaimPayment(claim_id=C, reference="T", paid_at=NOW), "under_verification",
     "only from approved"),
    ((*READY, APPROVAL, PAID), AssignClaim(C, BUDI), "paid", "the claim is closed"),
    ((FILED, ASSIGNED), AssignClaim(C, BUDI), "reported", "a supervisor reassigns it"),
    ((*READY, APPROVAL), ReopenClaim(claim_id=C, reason="x"), "approved",
     "only from rejected or paid"),
    (READY, ApproveClaim(C), "under_verification", "only from awaiting_second_approval"),
    ((FILED,), RejectClaim(claim_id=C, reason="x"), "reported", "only from under_verification"),
    ((*READY, APPROVAL), ReturnClaim(claim_id=C, missing=["ktp"], reason="x"), "approved",
     "only from submitted"),
]  # fmt: skip


@pytest.mark.parametrize(("given", "command", "state", "reason"), ILLEGAL)
def test_illegal_transitions_are_refused_with_the_state_and_the_reason(
    given: tuple[Event, ...], command: object, state: str, reason: str
) -> None:
    with pytest.raises(IllegalTransition) as refused:
        when(command, *given, found=SMALL)
    assert refused.value.state == state
    assert reason in refused.value.reason
    assert C in str(refused.value)


def test_an_unknown_claim_is_not_found() -> None:
    with pytest.raises(NotFound):
        when(SubmitClaim(C))


def test_only_the_assigned_officer_decides() -> None:
    with pytest.raises(IllegalTransition, match="assigned to officer:ani, not officer:budi"):
        when(DecideClaim(claim_id=C), *READY, actor=BUDI, found=SMALL)


# -- deciding: eligibility, benefit lines, rule versions ------------------------------------


def test_an_eligible_claim_is_approved_with_its_lines_formulas_and_rule_versions() -> None:
    assert isinstance(APPROVAL, ClaimApproved)
    assert (APPROVAL.officer, APPROVAL.first_officer, APPROVAL.decided_at) == (ANI, None, NOW)
    (line,) = APPROVAL.lines
    assert (line.kind, line.amount) == ("disability", 8_000_000)
    assert line.formula == f"10% {TIMES} 80 {TIMES} Rp1.000.000 = Rp8.000.000"
    assert line.rules_version == APPROVAL.benefit_rules_version == "benefits/PP82-2019"
    assert APPROVAL.policy_version == POLICY.version
    assert APPROVAL.eligibility.known_at == NOW


def test_an_ineligible_claim_is_rejected_with_every_reason() -> None:
    assert isinstance(REJECTION, ClaimRejected)
    assert REJECTION.reasons == ["not covered on 2025-11-20: the contribution is not paid"]
    assert REJECTION.eligibility is not None and not REJECTION.eligibility.covered


# -- four eyes -------------------------------------------------------------------------------


def test_above_the_threshold_the_first_approval_waits_for_a_second_officer() -> None:
    assert isinstance(PROPOSAL, ClaimApprovalProposed)
    assert PROPOSAL.total == 70_000_000 and POLICY.needs_four_eyes(PROPOSAL.total)
    waiting = given_(*READY, NPWP, PROPOSAL)
    assert waiting.status == "awaiting_second_approval"

    with pytest.raises(IllegalTransition) as same_officer:
        when(ApproveClaim(C), *READY, NPWP, PROPOSAL, actor=ANI)
    assert "another officer than officer:ani" in same_officer.value.reason

    (approved,) = when(ApproveClaim(C), *READY, NPWP, PROPOSAL, actor=BUDI)
    assert isinstance(approved, ClaimApproved)
    assert (approved.officer, approved.first_officer) == (BUDI, ANI)
    assert approved.lines == PROPOSAL.lines and approved.total == 70_000_000


def test_above_the_threshold_an_npwp_is_needed() -> None:
    with pytest.raises(IllegalTransition, match="an NPWP is needed"):
        when(DecideClaim(claim_id=C), *READY, found=LARGE)


def test_at_the_threshold_one_officer_is_enough() -> None:
    exactly = assessment((benefits.medical(50_000_000),))
    (approved,) = when(DecideClaim(claim_id=C), *READY, found=exactly)
    assert isinstance(approved, ClaimApproved)


# -- documents -------------------------------------------------------------------------------


def test_checklists_per_claim_kind() -> None:
    assert Document.POLICE_REPORT in required_documents("JKK", traffic=True)
    assert Document.POLICE_REPORT not in required_documents("JKK")
    assert Document.DEATH_CERTIFICATE in required_documents("JKK", outcome="death")
    assert {Document.DEATH_CERTIFICATE, Document.HEIR_STATEMENT} <= set(required_documents("JKM"))
    assert Document.ACCIDENT_REPORT not in required_documents("JKM")


def test_an_unknown_document_and_an_empty_return_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="unknown document 'selfie'"):
        when(ReceiveClaimDocument(claim_id=C, document="selfie"), FILED)
    with pytest.raises(ValidationFailed) as failed:
        when(ReturnClaim(claim_id=C, missing=[], reason=" "), FILED, ASSIGNED, *DOCS, SUBMITTED)
    assert {e.field for e in failed.value.errors} == {"missing", "reason"}


def test_a_returned_claim_waits_for_the_documents_it_was_returned_for() -> None:
    returned = given_(*READY, RETURNED)
    assert returned.missing == ("bank_account",)
    with pytest.raises(IllegalTransition, match="documents still missing: bank_account"):
        when(SubmitClaim(C), *READY, RETURNED)


# -- payment and the SLA ---------------------------------------------------------------------


def test_a_late_payment_carries_the_penalty_and_the_same_reference_is_one_payment() -> None:
    paid_at = datetime(2025, 12, 15, 3, 0, tzinfo=UTC)  # documents complete Mon 1 Dec
    command = RecordClaimPayment(claim_id=C, reference="TRF-9", paid_at=paid_at)
    (paid,) = when(command, *READY, APPROVAL, now=paid_at)
    assert isinstance(paid, ClaimPaid)
    # 7 working days after Mon 1 Dec is Wed 10 Dec; Thu 11 to Mon 15 are 3 working days late
    assert paid.working_days_late == 3
    assert paid.penalty is not None and paid.penalty.amount == 240_000  # 3 x 1% x Rp8 juta
    assert paid.amount == 8_240_000
    assert when(command, *READY, APPROVAL, paid, now=paid_at) == []


def test_a_reopened_claim_pays_only_what_is_still_owed() -> None:
    reopened = (*READY, APPROVAL, PAID, REOPENED)
    resubmitted = (*reopened, SUBMITTED, VERIFYING)
    bigger = assessment((benefits.partial_disability(1_000_000, 15),))  # Rp12 juta now
    (again,) = when(DecideClaim(claim_id=C), *resubmitted, found=bigger)
    (same,) = when(DecideClaim(claim_id=C), *resubmitted, found=SMALL)
    pay = RecordClaimPayment(claim_id=C, reference="TRF-2", paid_at=NOW)

    (topped_up,) = when(pay, *resubmitted, again)

    assert isinstance(topped_up, ClaimPaid) and topped_up.benefit == 4_000_000  # 12 - 8 paid
    with pytest.raises(IllegalTransition, match="already paid"):
        when(pay, *resubmitted, same)


def test_heirs_are_named_only_for_a_death_and_before_the_decision() -> None:
    heirs = [HeirStatement(name="Sari", nik="1708014101850002", relation="spouse")]
    with pytest.raises(IllegalTransition, match="only after a death"):
        when(NameHeirs(claim_id=C, heirs=heirs), *READY)
    died = msgspec.structs.replace(FILED, outcome="death")
    (named,) = when(NameHeirs(claim_id=C, heirs=heirs), died, ASSIGNED)
    assert named.heirs[0].payee and named.heirs[0].relation == "spouse"  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed) as invalid:
        when(NameHeirs(claim_id=C, heirs=[HeirStatement(name="", nik="123", relation="x")]),
             died)  # fmt: skip
    assert {e.field for e in invalid.value.errors} >= {"heirs[0].relation"}


def test_a_payment_in_the_future_is_refused() -> None:
    later = RecordClaimPayment(claim_id=C, reference="T", paid_at=NOW + timedelta(days=1))
    with pytest.raises(ValidationFailed, match="paid_at"):
        when(later, *READY, APPROVAL)


def test_the_sla_query_shows_time_left_and_breaches() -> None:
    from services.claim_sla import sla_of

    approved = given_(*READY, APPROVAL)
    on_day_two = sla_of(approved, today=date(2025, 12, 3), policy=POLICY)
    assert on_day_two is not None
    assert (on_day_two.deadline, on_day_two.working_days_left) == (date(2025, 12, 10), 5)
    late = sla_of(approved, today=date(2025, 12, 12), policy=POLICY)
    assert late is not None and late.breached and late.working_days_late == 2
    assert late.penalty is not None and late.penalty.amount == 160_000
    assert sla_of(given_(FILED), today=date(2025, 12, 3), policy=POLICY) is None


# -- a person dies once: one standing claim per death --------------------------------------------

JKK_DEATH = msgspec.structs.replace(
    FILED, claim_id="jkk-1", outcome="death", disability_percent=None
)
JKM_DEATH = ClaimFiled(
    claim_id="jkm-1", kind="JKM", participant_id="p1", accident_id=None,
    event_on=date(2025, 11, 20), filed_at=NOW, accident_kind=None, traffic=False,
    outcome="death", disability_percent=None, impairment="",
    required_documents=[d.value for d in required_documents("JKM")], policy_version=POLICY.version,
)  # fmt: skip


def rejected(filed: ClaimFiled) -> ClaimRejected:
    return ClaimRejected(claim_id=filed.claim_id, officer=ANI, decided_at=NOW,
                         reasons=["the death was a work accident"], eligibility=None,
                         policy_version=POLICY.version)  # fmt: skip


def held_by(*filed: ClaimFiled) -> claim_decider.DeathState:
    """The death stream after these claims took the death, in order."""
    state = claim_decider.DeathState()
    for claim in filed:
        reserved = DeathClaimReserved(participant_id=claim.participant_id,
                                      claim_id=claim.claim_id, claim_kind=claim.kind)  # fmt: skip
        state = claim_decider.evolve_death(state, reserved)
    return state


def test_the_first_claim_for_a_death_takes_it() -> None:
    (reserved,) = claim_decider.reserve_death(claim_decider.DeathState(), ClaimState(), JKM_DEATH)
    assert reserved == DeathClaimReserved(participant_id="p1", claim_id="jkm-1", claim_kind="JKM")


@pytest.mark.parametrize(("first", "second"), [(JKK_DEATH, JKM_DEATH), (JKM_DEATH, JKK_DEATH)])
@pytest.mark.parametrize("standing", [(), (ASSIGNED,), (ASSIGNED, *DOCS, SUBMITTED, VERIFYING)])
def test_a_second_claim_for_the_same_death_is_refused_while_the_first_stands(
    first: ClaimFiled, second: ClaimFiled, standing: tuple[Event, ...]
) -> None:
    holder = given_(first, *(msgspec.structs.replace(e, claim_id=first.claim_id)
                             for e in standing))  # fmt: skip
    with pytest.raises(DeathAlreadyClaimed) as refused:
        claim_decider.reserve_death(held_by(first), holder, second)
    assert (refused.value.participant_id, refused.value.claim_id) == ("p1", first.claim_id)
    assert (refused.value.claim_kind, refused.value.claim_state) == (first.kind, holder.status)
    assert "a person dies once" in refused.value.detail


@pytest.mark.parametrize(("first", "second"), [(JKK_DEATH, JKM_DEATH), (JKM_DEATH, JKK_DEATH)])
def test_a_rejected_claim_lets_go_of_the_death(first: ClaimFiled, second: ClaimFiled) -> None:
    """E.g. a JKM claim rejected because the death was a work accident: the JKK claim files."""
    (reserved,) = claim_decider.reserve_death(held_by(first), given_(first, rejected(first)),
                                              second)  # fmt: skip
    assert (reserved.claim_id, reserved.claim_kind) == (second.claim_id, second.kind)  # type: ignore[attr-defined]


def test_the_claim_that_holds_the_death_takes_it_again_when_reopened() -> None:
    death = held_by(JKM_DEATH)
    (again,) = claim_decider.reserve_death(death, ClaimState(), JKM_DEATH)
    assert again.claim_id == "jkm-1"  # type: ignore[attr-defined]
    taken_over = held_by(JKM_DEATH, JKK_DEATH)  # the JKM claim was rejected in between
    with pytest.raises(DeathAlreadyClaimed, match="JKK claim 'jkk-1'"):
        claim_decider.reserve_death(taken_over, given_(JKK_DEATH), JKM_DEATH)


def test_only_a_claim_ending_in_death_claims_a_death() -> None:
    assert claim_decider.claims_a_death(JKM_DEATH) and claim_decider.claims_a_death(JKK_DEATH)
    assert not claim_decider.claims_a_death(FILED)  # a partial disability


DEATH_CLAIMS = {c.claim_id: c for c in (
    JKM_DEATH, JKK_DEATH, msgspec.structs.replace(JKK_DEATH, claim_id="jkk-2", accident_id="a2"),
)}  # fmt: skip
STEPS = st.lists(st.tuples(st.sampled_from(["file", "reject", "reopen"]),
                           st.sampled_from(sorted(DEATH_CLAIMS))), max_size=12)  # fmt: skip


@given(steps=STEPS)
def test_at_most_one_claim_stands_for_a_death_and_one_always_can(
    steps: list[tuple[str, str]],
) -> None:
    """Filing, rejecting and reopening death claims in any order: never two standing (not
    rejected) at once, and a filing or reopening is refused only while another one stands."""
    death, claims = claim_decider.DeathState(), dict[str, ClaimState]()
    for action, claim_id in steps:
        filed, state = DEATH_CLAIMS[claim_id], claims.get(claim_id, ClaimState())
        if action == "reject" and state.status not in ("none", "rejected"):
            claims[claim_id] = claim_decider.evolve(state, rejected(filed))
        elif (action, state.status) in (("file", "none"), ("reopen", "rejected")):
            holder = claims.get(death.claim_id or "", ClaimState())
            standing = [c for c, s in claims.items() if s.status not in ("rejected", "none")]
            try:
                (reserved,) = claim_decider.reserve_death(death, holder, filed)
            except DeathAlreadyClaimed as refused:
                assert standing == [refused.claim_id]
                continue
            assert standing == []
            death = claim_decider.evolve_death(death, reserved)
            event = filed if action == "file" else ClaimReopened(claim_id=claim_id, reason="r",
                                                                 officer=ANI)  # fmt: skip
            claims[claim_id] = claim_decider.evolve(state, event)
        assert len([s for s in claims.values() if s.status != "rejected"]) <= 1
