"""Erasure of a data subject's personal data by destroying their key (crypto-shredding)."""

from __future__ import annotations

from events.catalog import PersonalDataErased
from events.personal import PersonalDataError
from events.store import ANY, AppendResult, Context, EventStore


def erasure_stream(subject_id: str) -> str:
    return f"personal_data-{subject_id}"


async def erase_subject(
    store: EventStore, subject_id: str, reason: str, context: Context
) -> AppendResult:
    """Record the erasure and destroy the key in one transaction: both happen, or neither."""
    if store.keyring is None:
        raise PersonalDataError("erasure needs the keyring (master keys configured)")
    if not reason.strip():
        raise PersonalDataError("an erasure needs a reason")
    if not await store.keyring.exists(subject_id):
        raise PersonalDataError(f"no personal data is held for data subject {subject_id}")
    async with store.pool.acquire() as conn, conn.transaction():
        result = await store.append(
            erasure_stream(subject_id),
            [PersonalDataErased(subject_id=subject_id, reason=reason.strip())],
            ANY,
            context=context,
            connection=conn,
        )
        if not await store.keyring.destroy(conn, subject_id):
            raise PersonalDataError(f"the personal data of {subject_id} is already erased")
    store.wake_readers()
    return result
