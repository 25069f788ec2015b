"""Subject keys in Postgres, wrapped by the configured master keys: create, get, destroy, rewrap."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.personal import MasterKeys, PersonalDataError

_GET = """SELECT subject_id, master_key_id, wrapped_key FROM subject_keys
    WHERE subject_id = ANY($1::text[])"""

# One round trip: insert the keys of new subjects, return those and the existing ones.
_GET_OR_CREATE = """
WITH created AS (
    INSERT INTO subject_keys (subject_id, master_key_id, wrapped_key)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
    ON CONFLICT (subject_id) DO NOTHING
    RETURNING subject_id, master_key_id, wrapped_key
)
SELECT subject_id, master_key_id, wrapped_key FROM created
UNION ALL
SELECT subject_id, master_key_id, wrapped_key FROM subject_keys WHERE subject_id = ANY($1::text[])
"""


class Keyring:
    """The data keys of data subjects. A subject whose key is destroyed maps to None."""

    KNOWN_LIMIT = 100_000

    def __init__(self, pool: asyncpg.Pool, master: MasterKeys) -> None:
        self._pool = pool
        self._master = master
        # Subjects this keyring has met (ids only, never keys): see `prepare`.
        self._known: set[str] = set()

    async def get(
        self, subjects: Iterable[str], *, create: bool = False
    ) -> dict[str, bytes | None]:
        """Each subject's data key; with `create`, new subjects get a fresh key first.

        Keys are created in their own statement, before and outside any append, so two
        concurrent appends for one new subject always end up using the one stored key (the
        statement's own snapshot misses a key committed concurrently: it is read again).
        """
        wanted = sorted(set(subjects))
        if not wanted:
            return {}
        if create:
            new = [self._master.wrap(s, AESGCM.generate_key(256)) for s in wanted]
            rows = await self._pool.fetch(
                _GET_OR_CREATE, wanted, [n[0] for n in new], [n[1] for n in new]
            )
        else:
            rows = await self._pool.fetch(_GET, wanted)
        found = {r[0] for r in rows}
        if len(found) < len(wanted):  # created by a concurrent append after our snapshot
            rows = [*rows, *await self._pool.fetch(_GET, [s for s in wanted if s not in found])]
        keys: dict[str, bytes | None] = dict.fromkeys(wanted)
        for subject, key_id, wrapped in rows:
            if wrapped is not None:
                keys[subject] = self._unwrap(subject, key_id, wrapped)
        return keys

    async def prepare(
        self, subjects: Iterable[str]
    ) -> tuple[dict[str, bytes | None], list[tuple[str, str, bytes]]]:
        """Each subject's data key, reading only (or not even): a subject without a key gets a
        fresh one that is NOT stored here. Returns the keys and the new (subject, master key
        id, wrapped key) rows, which the append that uses them must store in its own
        transaction, refusing to append if any of them is already taken (then prepare again:
        the stored key wins). Nothing about keys is kept between calls, only which subject
        ids were met (to know whether to look their keys up)."""
        wanted = sorted(set(subjects))
        keys: dict[str, bytes | None] = dict.fromkeys(wanted)
        if not wanted:
            return keys, []
        found = set()
        # Subjects never met before are presumed new (a registration brings a new person):
        # their keys are not looked up but made, and if one exists after all, the append
        # refuses them and the caller prepares again, now looking (the subject is known).
        if not self._known.isdisjoint(wanted):
            for subject, key_id, wrapped in await self._pool.fetch(_GET, wanted):
                found.add(subject)
                if wrapped is not None:
                    keys[subject] = self._unwrap(subject, key_id, wrapped)
        if len(self._known) + len(wanted) > self.KNOWN_LIMIT:
            self._known.clear()
        self._known.update(wanted)
        new = []
        for subject in wanted:
            if subject not in found:
                keys[subject] = key = AESGCM.generate_key(256)
                new.append((subject, *self._master.wrap(subject, key)))
        return keys, new

    async def exists(self, subject: str) -> bool:
        return bool(
            await self._pool.fetchval("SELECT 1 FROM subject_keys WHERE subject_id = $1", subject)
        )

    @staticmethod
    async def destroy(connection: asyncpg.Connection, subject: str) -> bool:
        """Destroy a subject's key inside the caller's transaction; False if none was live."""
        status = await connection.execute(
            """UPDATE subject_keys
               SET wrapped_key = NULL, master_key_id = NULL, erased_at = clock_timestamp()
               WHERE subject_id = $1 AND wrapped_key IS NOT NULL""",
            subject,
        )
        return status == "UPDATE 1"

    async def rotate(self, batch_size: int = 500) -> int:
        """Re-wrap every key not under the active master key; returns how many were re-wrapped.

        Events are not touched: only the small wrapped keys change. Each batch commits on its
        own, so an interrupted rotation simply resumes where it stopped.
        """
        total = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    """SELECT subject_id, master_key_id, wrapped_key FROM subject_keys
                       WHERE wrapped_key IS NOT NULL AND master_key_id <> $1
                       ORDER BY subject_id LIMIT $2 FOR UPDATE SKIP LOCKED""",
                    self._master.active_id,
                    batch_size,
                )
                if not rows:
                    return total
                rewrapped = [
                    (s, *self._master.wrap(s, self._unwrap(s, key_id, wrapped)))
                    for s, key_id, wrapped in rows
                ]
                await conn.executemany(
                    """UPDATE subject_keys SET master_key_id = $2, wrapped_key = $3
                       WHERE subject_id = $1""",
                    rewrapped,
                )
                total += len(rows)

    def _unwrap(self, subject: str, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self._master.unwrap(subject, key_id, wrapped)
        except InvalidTag:
            raise PersonalDataError(
                f"the key of data subject {subject} does not unwrap with master key {key_id}"
            ) from None
