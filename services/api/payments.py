"""Contribution payments over HTTP: record and reverse them, list them, and arrears per payer.

Recording goes through the Cashier (services/contributions.py), which makes the external
reference idempotent (the same reference with the same payment is one payment; with another
amount, payer, cohort or months it is refused as a duplicate); the `Idempotency-Key` header
works as for every command. The handler stays thin: POST /payments is benchmarked at ≥ 1,000
commands/s, so it adds no round trip of its own except the kecamatan check of a scoped user.

Payments and a sponsor's arrears are the regency's finance records, not a participant's: the
kecamatan scope of a user applies where single participants are named (a payment for named
participants, a self-paying participant's arrears).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import JSONBody, Parameter

from events.catalog import PaymentRecorded
from projections.contributions import Dues, dues
from services.access import Permission, Principal
from services.api import api_services
from services.api.auth import BEARER, AuthRequest, context_of, requires
from services.api.common import (
    PRINTABLE,
    AsOf,
    CohortFilter,
    CommandResult,
    Cursor,
    Id,
    IdParam,
    Limit,
    MinPosition,
    Page,
    ParticipantFilter,
    Resource,
    await_read_models,
    business_today,
    check_day,
    check_past_instant,
    cursor_instant,
    decode_cursor,
    encode_cursor,
    run_command,
    scope_of,
)
from services.api.problems import DUPLICATE, ILLEGAL, NOT_FOUND, REFUSED
from services.commands import PayContributions, ReversePayment
from services.contributions import MAX_MONTHS, Receipt, payment_stream
from services.domain.errors import NotFound, ValidationFailed
from services.resources import db_pool


async def check_participants_in_scope(
    pool: asyncpg.Pool, principal: Principal, participant_ids: list[str]
) -> None:
    """404 for a participant outside a scoped user's kecamatan, as if absent (one query, and
    none at all for a user of the whole regency)."""
    scope = scope_of(principal)
    if scope is None or not participant_ids:
        return
    rows = await pool.fetch(
        """SELECT participant_id FROM rm.participants
           WHERE participant_id = ANY($1::text[]) AND kecamatan = ANY($2::text[])""",
        participant_ids,
        scope,
    )
    seen = {r[0] for r in rows}
    for pid in participant_ids:
        if pid not in seen:
            raise NotFound("participant", pid)


MONTH_PATTERN = r"^20[2-9][0-9]-(0[1-9]|1[0-2])$"
"""A contribution month YYYY-MM (rates are known from 2020 on)."""
MonthText = Annotated[str, msgspec.Meta(pattern=MONTH_PATTERN, examples=["2025-10"])]


# -- bodies and views ----------------------------------------------------------------------------


class NewPayment(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Money received for contributions: a sponsor's block for a whole cohort, or named
    participants (a worker paying for themself). Shared out in whole participant-months, in
    roster order then month order, while the money lasts: what is short stays in arrears,
    what is left over is held as credit for the payer."""

    reference: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=100, pattern=PRINTABLE, examples=["SP2D-0001/2025"],
            description="Bank transfer or receipt number: the same reference is one payment.",
        ),
    ]  # fmt: skip
    payer: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=200, pattern=PRINTABLE,
                     examples=["APBD Kabupaten Kepahiang"]),
    ]  # fmt: skip
    payer_kind: Literal["sponsor", "participant"]
    channel: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=50, pattern=PRINTABLE, examples=["bank_transfer"],
            description="How it was paid: bank_transfer, teller, virtual_account, …",
        ),
    ]  # fmt: skip
    amount: Annotated[int, msgspec.Meta(gt=0, le=10**15, examples=[99_993_600])]
    paid_at: Annotated[
        datetime,
        msgspec.Meta(tz=True, examples=["2025-10-10T09:00:00+07:00"],
                     description="When the money was received; not in the future."),
    ]  # fmt: skip
    months: Annotated[
        list[MonthText],
        msgspec.Meta(min_length=1, max_length=MAX_MONTHS,
                     examples=[["2025-10", "2025-11", "2025-12"]]),
    ]  # fmt: skip
    cohort_id: Id | None = None
    """A sponsor's payment for every member of this cohort (or name participants instead)."""
    participant_ids: Annotated[list[Id], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )

    def command(self) -> PayContributions:
        return PayContributions(
            reference=self.reference, payer=self.payer, payer_kind=self.payer_kind,
            channel=self.channel, amount=self.amount, paid_at=self.paid_at,
            months=list(self.months), cohort_id=self.cohort_id,
            participant_ids=list(self.participant_ids),
        )  # fmt: skip


class Reversal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=500, pattern=PRINTABLE,
                     examples=["transfer ditolak bank"]),
    ]  # fmt: skip


class PaymentResult(CommandResult, frozen=True, kw_only=True):
    """The command's result with what the money paid for."""

    participants: int
    """Participants who got at least one month."""
    amount: int
    amount_due: int
    """What the months cost for everyone the payment was for."""
    credit: int
    """Over-payment held for the payer (a remainder too small for a whole month)."""
    shortfall: int
    """Under-payment: still owed, in arrears."""

    @classmethod
    def of(cls, receipt: Receipt, payment_event: str, share_event: str) -> PaymentResult:
        """The Cashier appends the payment's event, then one share per participant, in one
        transaction, whose positions run on without a gap (events/sql/0001_event_log.sql):
        the last share is `participants` after the receipt's position."""
        shares = receipt.participants
        return cls(
            position=receipt.position + shares, resource=payment_resource(receipt.payment_id),
            events=[payment_event, share_event] if shares else [payment_event],
            participants=shares, amount=receipt.amount, amount_due=receipt.amount_due,
            credit=receipt.credit, shortfall=receipt.shortfall,
        )  # fmt: skip


def payment_resource(payment_id: str) -> Resource:
    return Resource("payment", payment_id, f"/payments/{payment_id}")


class PaymentView(msgspec.Struct, frozen=True, kw_only=True):
    """A payment as recorded (rm.payments)."""

    payment_id: str
    reference: str
    payer: str
    payer_kind: str
    channel: str
    amount: int
    paid_at: datetime
    months: list[str]
    cohort_id: str | None
    participants: int
    amount_due: int
    credit: int
    shortfall: int
    reversed: bool
    reversal_reason: str | None


class PaymentPage(Page, frozen=True):
    items: list[PaymentView]


class ArrearsReport(msgspec.Struct, frozen=True, kw_only=True):
    """What each payer owes as of a date: the cohort's sponsor for the members it funds and
    every self-paying (mandiri) participant, with the next month falling due and arrears."""

    as_of: date
    cohort_id: str | None
    participant_id: str | None
    arrears_amount: int
    """Of every payer listed."""
    payers: list[Dues]


_PAYMENT_COLUMNS = ", ".join(PaymentView.__struct_fields__)
_READ_MODELS = ["payments"]


class PaymentsController(Controller):
    """Contribution payments received and reversed, and what payers owe."""

    tags = ["payments"]  # noqa: RUF012 - Litestar reads it as a class attribute
    security = BEARER

    @post(
        "/payments", guards=[requires(Permission.PAYMENTS_RECORD)],
        summary="Record a contribution payment",
        description="Shares the money out over the cohort's members (or the named "
        "participants) in whole participant-months; answers what it paid, the credit held and "
        "the shortfall left. The same reference again is the same payment (its first result); "
        "the same reference for a different payment is a 409.",
        responses={404: NOT_FOUND, 409: DUPLICATE, 422: REFUSED},
    )  # fmt: skip
    async def record(self, data: JSONBody[NewPayment], request: AuthRequest) -> PaymentResult:
        services = api_services(request.app.state)
        pool = db_pool(request.app.state)

        async def run() -> PaymentResult:
            check_past_instant(data.paid_at, "paid_at")
            await check_participants_in_scope(pool, request.user, list(data.participant_ids))
            receipt = await services.cashier.pay(data.command(), context_of(request))
            return PaymentResult.of(receipt, "PaymentRecorded", "ContributionPaid")

        return await run_command(request, data, run, response_type=PaymentResult)

    @post(
        "/payments/{payment_id:str}/reversal", status_code=200,
        guards=[requires(Permission.PAYMENTS_RECORD)],
        summary="Reverse a payment (a bounced transfer)",
        description="Takes back every month the payment paid for; the reversal is its own "
        "event. A payment is reversed once.",
        responses={409: ILLEGAL, 422: REFUSED},
    )  # fmt: skip
    async def reverse(
        self, payment_id: IdParam, data: JSONBody[Reversal], request: AuthRequest
    ) -> PaymentResult:
        services = api_services(request.app.state)

        async def run() -> PaymentResult:
            first = await services.store.read_stream(payment_stream(payment_id), up_to=1)
            if not first:
                raise NotFound("payment", payment_id)
            recorded: PaymentRecorded = first[0].data  # type: ignore[assignment]
            command = ReversePayment(reference=recorded.reference, reason=data.reason)
            receipt = await services.cashier.reverse(command, context_of(request))
            return PaymentResult.of(receipt, "PaymentReversed", "ContributionReversed")

        return await run_command(request, data, run, response_type=PaymentResult)

    @get(
        "/payments", guards=[requires(Permission.PAYMENTS_READ)],
        summary="Payments, newest first",
        description="Filter by cohort, payer (exactly as recorded) and a month paid for.",
    )  # fmt: skip
    async def list_payments(
        self,
        request: AuthRequest,
        cohort_id: CohortFilter = None,
        payer: Annotated[
            str | None,
            Parameter(
                max_length=200,
                pattern=PRINTABLE,
                description="Who paid, exactly as recorded.",
                examples=[Example(value="APBD Kabupaten Kepahiang")],
            ),
        ] = None,
        month: Annotated[
            str | None, Parameter(pattern=MONTH_PATTERN, description="A month paid for.")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> PaymentPage:
        pool = db_pool(request.app.state)
        await await_read_models(pool, _READ_MODELS, min_position)
        after = decode_cursor(cursor, width=2, kinds=(str, str))
        after_at = cursor_instant(after[0]) if after else None
        rows = await pool.fetch(
            f"""SELECT {_PAYMENT_COLUMNS} FROM rm.payments
                WHERE ($1::text IS NULL OR cohort_id = $1) AND ($2::text IS NULL OR payer = $2)
                  AND ($3::text IS NULL OR $3 = ANY(months))
                  AND ($4::timestamptz IS NULL OR (paid_at, payment_id) < ($4, $5::text))
                ORDER BY paid_at DESC, payment_id DESC LIMIT $6""",
            cohort_id, payer, month, after_at, after[1] if after else None, limit + 1,
        )  # fmt: skip
        items = [PaymentView(**dict(r)) for r in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        next_cursor = encode_cursor([last.paid_at.isoformat(), last.payment_id]) if last else None
        return PaymentPage(items, next_cursor)

    @get(
        "/payments/{payment_id:str}", guards=[requires(Permission.PAYMENTS_READ)],
        summary="A payment", description="As recorded, with its credit, shortfall and reversal.",
    )  # fmt: skip
    async def show(
        self, payment_id: IdParam, request: AuthRequest, min_position: MinPosition = None
    ) -> PaymentView:
        pool = db_pool(request.app.state)
        await await_read_models(pool, _READ_MODELS, min_position)
        row = await pool.fetchrow(
            f"SELECT {_PAYMENT_COLUMNS} FROM rm.payments WHERE payment_id = $1", payment_id
        )
        if row is None:
            raise NotFound("payment", payment_id)
        return PaymentView(**dict(row))

    @get(
        "/contributions/arrears", guards=[requires(Permission.PAYMENTS_READ)],
        summary="Contributions due and arrears per payer, as of a date",
        description="For a cohort (its sponsor and its self-paying members) or one "
        "participant: the next month falling due, what is still to pay for it, the months in "
        "arrears and when a membership would end. A user scoped to kecamatan sees the "
        "members of their kecamatan only.",
        responses={422: REFUSED},
    )  # fmt: skip
    async def arrears(
        self,
        request: AuthRequest,
        cohort_id: CohortFilter = None,
        participant_id: ParticipantFilter = None,
        as_of: AsOf = None,
        min_position: MinPosition = None,
    ) -> ArrearsReport:
        if cohort_id is None and participant_id is None:
            raise ValidationFailed.one("cohort_id", "name a cohort or a participant")
        check_day(as_of, "as_of")
        day = as_of or business_today()
        pool = db_pool(request.app.state)
        await await_read_models(pool, ["participant_status"], min_position)
        rows = await pool.fetch(
            """SELECT * FROM rm.participants
               WHERE status = 'enrolled' AND ($1::text IS NULL OR cohort_id = $1)
                 AND ($2::text IS NULL OR participant_id = $2)
                 AND ($3::text[] IS NULL OR kecamatan = ANY($3::text[]))""",
            cohort_id,
            participant_id,
            scope_of(request.user),
        )
        payers = dues(rows, day)
        return ArrearsReport(
            as_of=day, cohort_id=cohort_id, participant_id=participant_id,
            arrears_amount=sum(d.arrears_amount for d in payers), payers=payers,
        )  # fmt: skip
