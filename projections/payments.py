"""rm.payments: one row per contribution payment as recorded, and whether it was reversed
(projection `payments`).

Per page: one INSERT of the payments it records and one UPDATE of those it reverses, each
set-based over `unnest`; a reversal always follows its payment in the log, so it is applied
after the page's inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import asyncpg

from events.catalog import PaymentRecorded, PaymentReversed
from events.types import RecordedEvent
from projections.projection import Projection

_COLUMNS = (
    ("payment_id", "text"), ("reference", "text"), ("payer", "text"), ("payer_kind", "text"),
    ("channel", "text"), ("amount", "bigint"), ("paid_at", "timestamptz"), ("months", "text[]"),
    ("cohort_id", "text"), ("participants", "integer"), ("amount_due", "bigint"),
    ("credit", "bigint"), ("shortfall", "bigint"),
)  # fmt: skip


def _recorded(e: PaymentRecorded) -> tuple[Any, ...]:
    return (
        e.payment_id, e.reference, e.payer, e.payer_kind, e.channel, e.amount, e.paid_at,
        ",".join(e.months), e.cohort_id, len(e.participant_ids), e.amount_due, e.credit,
        e.shortfall,
    )  # fmt: skip


class Payments(Projection):
    """rm.payments (see the read-model contract)."""

    name: ClassVar[str] = "payments"
    version: ClassVar[int] = 1
    consumes = (PaymentRecorded, PaymentReversed)
    tables = ("payments",)

    def schema_sql(self, schema: str) -> str:
        columns = ",\n    ".join(f"{name} {kind}" for name, kind in _COLUMNS)
        return f"""
CREATE TABLE {schema}.payments (
    {columns},
    reversed boolean NOT NULL DEFAULT false,
    reversal_reason text,
    PRIMARY KEY (payment_id),
    UNIQUE (reference)
);
CREATE INDEX ON {schema}.payments (cohort_id);
"""

    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        recorded = [_recorded(e.data) for e in events if isinstance(e.data, PaymentRecorded)]
        reversals = [
            (e.data.payment_id, e.data.reason)
            for e in events
            if isinstance(e.data, PaymentReversed)
        ]
        if recorded:
            names = ", ".join(name for name, _ in _COLUMNS)
            params = ", ".join(
                f"${n}::{'text' if kind == 'text[]' else kind}[]"
                for n, (_, kind) in enumerate(_COLUMNS, 1)
            )
            values = ", ".join(
                f"string_to_array({name}, ',')" if kind == "text[]" else name
                for name, kind in _COLUMNS
            )
            await conn.execute(
                f"""INSERT INTO {schema}.payments ({names})
                    SELECT {values} FROM unnest({params}) AS t({names})""",
                *(list(column) for column in zip(*recorded, strict=True)),
            )
        if reversals:
            ids, reasons = zip(*reversals, strict=True)
            await conn.execute(
                f"""UPDATE {schema}.payments p SET reversed = true, reversal_reason = t.reason
                    FROM unnest($1::text[], $2::text[]) AS t(payment_id, reason)
                    WHERE p.payment_id = t.payment_id""",
                list(ids),
                list(reasons),
            )
