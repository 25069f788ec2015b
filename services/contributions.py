"""Contributions: payments received, shared out to participants, and reversed.

A payment is its own stream (`payment-<id>`, the id derived from the reference, so one
reference is one payment) and each participant it pays for gets their share as an event in
their own stream, so "was P covered on D?" is answered from P's events alone. A cohort's
block of 1,984 participants for 3 months is one command and one append.

Sharing out (policy, domain.md): whole participant-months in roster order, earliest month
first, while the money lasts; what is not paid stays in arrears; a remainder too small for a
month is held as credit for the payer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from events.catalog import ContributionPaid, ContributionReversed, PaymentRecorded, PaymentReversed
from events.errors import WrongExpectedVersion
from events.store import ANY, NO_STREAM, Context, EventStore, StreamAppend
from events.types import Event
from services.commands import PayContributions, ReversePayment
from services.domain.calendar import Month
from services.domain.errors import (
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from services.domain.policy import Policy
from services.domain.rates import contribution_due
from services.registration import Registrar
from services.streams import participant_stream

PAYER_KINDS = ("sponsor", "participant")
MAX_MONTHS = 12
_PAYMENT_NAMESPACE = uuid.UUID("0c5c1f43-3c43-4c0e-8f7e-6c2b8f1d2a77")


class Member(msgspec.Struct, frozen=True):
    """Who a payment can pay for, and what their months cost."""

    participant_id: str
    declared_income: int
    programmes: tuple[str, ...]


class Share(msgspec.Struct, frozen=True):
    participant_id: str
    months: list[Month]
    amount: int


class Allocation(msgspec.Struct, frozen=True):
    shares: list[Share]
    amount_due: int
    credit: int
    shortfall: int
    rate_version: str


class Receipt(msgspec.Struct, frozen=True):
    payment_id: str
    reference: str
    participants: int
    amount: int
    amount_due: int
    credit: int
    shortfall: int
    position: int


def payment_id_for(reference: str) -> str:
    return str(uuid.uuid5(_PAYMENT_NAMESPACE, reference.strip().upper()))


def payment_stream(payment_id: str) -> str:
    return f"payment-{payment_id}"


def share_out(amount: int, members: Sequence[Member], months: Sequence[Month]) -> Allocation:
    """Whole participant-months, roster order then month order, while the money lasts."""
    left = amount
    shares: dict[str, Share] = {}
    amount_due = 0
    versions: set[str] = set()
    for member in members:
        for month in sorted(months):
            due = contribution_due(member.declared_income, member.programmes, month)
            versions.add(due.rate_version)
            amount_due += due.total
            if left < due.total:
                continue
            left -= due.total
            share = shares.get(member.participant_id) or Share(member.participant_id, [], 0)
            shares[member.participant_id] = Share(
                share.participant_id, [*share.months, month], share.amount + due.total
            )
    paid = amount - left
    return Allocation(
        shares=list(shares.values()), amount_due=amount_due, credit=left,
        shortfall=amount_due - paid, rate_version=", ".join(sorted(versions)),
    )  # fmt: skip


def validate_payment(command: PayContributions) -> list[Month]:
    errors: list[FieldError] = []
    if not command.reference.strip():
        errors.append(FieldError("reference", "the bank or receipt reference is required"))
    if command.payer_kind not in PAYER_KINDS:
        errors.append(FieldError("payer_kind", f"one of {', '.join(PAYER_KINDS)}"))
    if not command.payer.strip():
        errors.append(FieldError("payer", "who paid is required"))
    if not command.channel.strip():
        errors.append(FieldError("channel", "how it was paid is required"))
    if command.amount <= 0:
        errors.append(FieldError("amount", "must be more than Rp0"))
    if command.paid_at.tzinfo is None:
        errors.append(FieldError("paid_at", "an instant with its time zone"))
    if (command.cohort_id is None) == (not command.participant_ids):
        errors.append(FieldError("cohort_id", "name either a cohort or participants, not both"))
    months: list[Month] = []
    for text in command.months:
        try:
            months.append(Month.parse(text, "months"))
        except ValidationFailed as exc:
            errors += exc.errors
    if not command.months or len(set(months)) != len(months) or len(months) > MAX_MONTHS:
        errors.append(FieldError("months", f"1 to {MAX_MONTHS} different months"))
    if errors:
        raise ValidationFailed(errors)
    return sorted(months)


def decide_payment(
    command: PayContributions, months: list[Month], members: Sequence[Member], policy: Policy
) -> tuple[PaymentRecorded, list[ContributionPaid]]:
    allocation = share_out(command.amount, members, months)
    payment_id = payment_id_for(command.reference)
    recorded = PaymentRecorded(
        payment_id=payment_id, reference=command.reference.strip(), payer=command.payer,
        payer_kind=command.payer_kind, channel=command.channel, amount=command.amount,
        paid_at=command.paid_at, months=[str(m) for m in months], cohort_id=command.cohort_id,
        participant_ids=[s.participant_id for s in allocation.shares],
        amount_due=allocation.amount_due, credit=allocation.credit,
        shortfall=allocation.shortfall, rate_version=allocation.rate_version,
        policy_version=policy.version,
    )  # fmt: skip
    shares = [
        ContributionPaid(
            participant_id=s.participant_id,
            payment_id=payment_id,
            reference=recorded.reference,
            payer=command.payer,
            months=[str(m) for m in s.months],
            amount=s.amount,
            paid_at=command.paid_at,
        )
        for s in allocation.shares
    ]
    return recorded, shares


def same_payment(command: PayContributions, recorded: PaymentRecorded) -> bool:
    """Whether a repeated reference is the same payment (then it is one payment)."""
    return (
        command.amount == recorded.amount
        and command.payer == recorded.payer
        and command.cohort_id == recorded.cohort_id
        and sorted(command.months) == sorted(recorded.months)
    )


class Cashier:
    """Records payments and reversals."""

    def __init__(self, store: EventStore, registrar: Registrar, policy: Policy) -> None:
        self._store = store
        self._registrar = registrar
        self._policy = policy

    async def pay(self, command: PayContributions, context: Context) -> Receipt:
        """Record a payment once per reference. The payment's stream is not read first: the
        append expects it not to exist (NO_STREAM), so a reference already recorded (before,
        or meanwhile by a concurrent command) fails the append as a whole and is answered
        from the stream, as is a refusal of the members or the decision for a reference
        already recorded (the repeat gets the first result, as if it had been read first)."""
        months = validate_payment(command)
        stream = payment_stream(payment_id_for(command.reference))
        try:
            members = await self._members(command)
            recorded, shares = decide_payment(command, months, members, self._policy)
        except Exception:
            if repeat := await self._recorded(command, stream):
                return repeat
            raise
        appends = [StreamAppend(stream, [recorded], NO_STREAM)] + [
            StreamAppend(participant_stream(s.participant_id), [s], ANY) for s in shares
        ]
        try:
            results = await self._store.append_many(appends, context=context)
        except WrongExpectedVersion as conflict:
            if conflict.stream_id != stream:
                raise
            repeat = await self._recorded(command, stream)  # recorded before or meanwhile
            if repeat is None:
                raise
            return repeat
        return _receipt(recorded, results[0].first_position)

    async def _recorded(self, command: PayContributions, stream: str) -> Receipt | None:
        """The answer to a repeat of a payment already in `stream` (None: there is none)."""
        earlier = await self._store.read_stream(stream, up_to=1)
        if not earlier:
            return None
        return self._repeat(command, earlier[0].data, earlier[0].position)  # type: ignore[arg-type]

    async def reverse(self, command: ReversePayment, context: Context) -> Receipt:
        stream = payment_stream(payment_id_for(command.reference))
        history = await self._store.read_stream(stream)
        if not history:
            raise NotFound("payment", command.reference)
        recorded: PaymentRecorded = history[0].data  # type: ignore[assignment]
        if any(isinstance(e.data, PaymentReversed) for e in history):
            raise IllegalTransition("payment", "reversed", "reverse", "it is already reversed")
        if not command.reason.strip():
            raise ValidationFailed.one("reason", "say why the payment is reversed")
        events: list[Event] = [
            PaymentReversed(payment_id=recorded.payment_id, reference=recorded.reference,
                            reason=command.reason.strip())
        ]  # fmt: skip
        appends = [StreamAppend(stream, events, history[-1].stream_version)] + [
            StreamAppend(
                participant_stream(pid),
                [
                    ContributionReversed(
                        participant_id=pid,
                        payment_id=recorded.payment_id,
                        reference=recorded.reference,
                    )
                ],
                ANY,
            )
            for pid in recorded.participant_ids
        ]
        try:
            results = await self._store.append_many(appends, context=context)
        except WrongExpectedVersion:
            raise IllegalTransition(
                "payment", "changed", "reverse", "it changed meanwhile; look again"
            ) from None
        return _receipt(recorded, results[0].last_position)

    async def _members(self, command: PayContributions) -> list[Member]:
        if command.cohort_id is not None:
            cohort = await self._registrar.cohort(command.cohort_id)
            if cohort.status == "none":
                raise NotFound("cohort", command.cohort_id)
            return [
                Member(pid, income, cohort.programmes) for pid, income in cohort.members.items()
            ]
        members = []
        for pid in dict.fromkeys(command.participant_ids):
            person = await self._registrar.participant(pid)
            if person.status != "enrolled":
                raise IllegalTransition(
                    "participant", person.status, "pay for", f"{pid} is not a member"
                )
            members.append(Member(pid, person.declared_income, person.programmes))
        return members

    @staticmethod
    def _repeat(command: PayContributions, recorded: PaymentRecorded, position: int) -> Receipt:
        if not same_payment(command, recorded):
            raise Duplicate("payment", recorded.reference, existing=recorded.payment_id)
        return _receipt(recorded, position)


def _receipt(recorded: PaymentRecorded, position: int) -> Receipt:
    return Receipt(
        payment_id=recorded.payment_id, reference=recorded.reference,
        participants=len(recorded.participant_ids), amount=recorded.amount,
        amount_due=recorded.amount_due, credit=recorded.credit, shortfall=recorded.shortfall,
        position=position,
    )  # fmt: skip
