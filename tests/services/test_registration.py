"""Registration against the real event store: validation, duplicates, the quota race."""

from __future__ import annotations

import asyncio
from datetime import date

import msgspec
import pytest

from events.catalog import ParticipantRegistered, SlotTaken, WaitlistJoined
from events.store import Context, EventStore
from services.commands import LeaveCohort, RecordKpj, RegisterWorker
from services.domain.errors import Duplicate, NotFound, ValidationFailed
from services.registration import Registrar, cohort_stream, participant_stream
from tests.services.conftest import make_registrar, open_cohort
from tests.services.workers import worker


async def test_a_worker_registers_into_a_free_slot(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=5)
    command = worker(cohort_id, 1)

    registration = await registrar.register(command, Context(actor="registrar:ani"))

    assert registration.status == "enrolled"
    events = await domain_store.read_stream(participant_stream(registration.participant_id))
    registered = events[0].data
    assert isinstance(registered, ParticipantRegistered)
    assert registered.nik == command.nik and registered.name == command.name
    assert events[0].actor == "registrar:ani"
    assert registered.policy_version == "2025.1"
    assert events[1].data.enrolled_on == date(2025, 10, 6)  # type: ignore[attr-defined]


async def test_the_same_nik_twice_is_a_duplicate_naming_the_participant(
    registrar: Registrar, admin: Context
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=5)
    first = await registrar.register(worker(cohort_id, 2), admin)
    again = msgspec.structs.replace(worker(cohort_id, 2), name="Someone Else", phone="081111111111")

    with pytest.raises(Duplicate) as duplicate:
        await registrar.register(again, admin)

    assert duplicate.value.existing == first.participant_id
    assert (await registrar.cohort(cohort_id)).enrolled == 1


async def test_every_field_error_is_reported_at_once(registrar: Registrar, admin: Context) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=5)
    bad = RegisterWorker(
        cohort_id=cohort_id, nik="1708015508900001", name=" ", birth_date=date(1990, 8, 15),
        sex="L", phone="12345", kecamatan="17.08.01", desa="17.08.02.2001",
        occupation="pilot", declared_income=900_000,
    )  # fmt: skip

    with pytest.raises(ValidationFailed) as failed:
        await registrar.register(bad, admin)

    fields = {e.field for e in failed.value.errors}
    assert {"sex", "desa", "name", "phone", "occupation", "declared_income"} <= fields


async def test_unknown_cohort_and_participant(registrar: Registrar, admin: Context) -> None:
    with pytest.raises(NotFound):
        await registrar.register(worker("nosuchcohort", 3), admin)
    with pytest.raises(NotFound):
        await registrar.record_kpj(RecordKpj("00000000-0000-0000-0000-000000000000", "12345678901"),
                                   admin)  # fmt: skip


async def test_leaving_frees_the_slot_for_the_next_in_line(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = await registrar.register(worker(cohort_id, 10), admin)
    waiting = await registrar.register(worker(cohort_id, 11), admin)
    assert waiting.status == "waitlisted"

    await registrar.leave(
        LeaveCohort(
            participant_id=member.participant_id, reason="death", left_on=date(2025, 11, 2)
        ),
        admin,
    )

    state = await registrar.cohort(cohort_id)
    assert (state.enrolled, state.waitlist) == (1, ())
    promoted = await domain_store.read_stream(participant_stream(waiting.participant_id))
    assert type(promoted[-1].data).__name__ == "ParticipantEnrolled"
    await registrar.record_kpj(RecordKpj(waiting.participant_id, "25012345678"), admin)


async def test_the_quota_holds_under_concurrent_registration(
    domain_store: EventStore, admin: Context
) -> None:
    """2,100 registrations at once into a cohort of 1,984, through three registrars (as three
    API processes would be, each with its own cache): exactly 1,984 take slots, 116 wait, in
    the order the cohort stream recorded them, nobody twice."""
    registrars = [make_registrar(domain_store) for _ in range(3)]
    cohort_id = await open_cohort(registrars[0], admin, quota=1984)
    commands = [worker(cohort_id, 10_000 + n) for n in range(2100)]

    async def run(registrar: Registrar, share: list[RegisterWorker]) -> list[str]:
        return [(await registrar.register(c, admin)).status for c in share]

    outcomes = await asyncio.gather(*[run(r, commands[i::3]) for i, r in enumerate(registrars)])

    statuses = [s for share in outcomes for s in share]
    assert statuses.count("enrolled") == 1984 and statuses.count("waitlisted") == 116
    log = [e.data for e in await domain_store.read_stream(cohort_stream(cohort_id))]
    taken = [e.participant_id for e in log if isinstance(e, SlotTaken)]
    waiting = [e.participant_id for e in log if isinstance(e, WaitlistJoined)]
    assert len(taken) == len(set(taken)) == 1984
    assert len(waiting) == len(set(waiting)) == 116
    assert not set(taken) & set(waiting)
    first_wait = next(i for i, e in enumerate(log) if isinstance(e, WaitlistJoined))
    assert all(isinstance(e, WaitlistJoined) for e in log[first_wait:])  # arrival order
    assert (await registrars[1].cohort(cohort_id)).enrolled == 1984


async def test_the_reference_cohort_registers_as_one_list_and_a_rerun_changes_nothing(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """Kepahiang: 1,984 workers enrolled; the list handed over again registers nobody twice."""
    cohort_id = await open_cohort(registrar, admin, quota=1984)
    rows = [worker(cohort_id, 50_000 + n) for n in range(1984)]
    rows.insert(7, msgspec.structs.replace(rows[3], name="Same NIK again"))  # twice in the file
    rows.insert(9, msgspec.structs.replace(rows[4], declared_income=500_000))  # invalid row

    outcomes = await registrar.register_many(rows, admin)

    enrolled = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(enrolled) == 1984 and {o.status for o in enrolled} == {"enrolled"}
    assert isinstance(outcomes[7], Duplicate) and isinstance(outcomes[9], ValidationFailed)
    rerun = await registrar.register_many(rows, admin)
    assert all(isinstance(o, Duplicate | ValidationFailed) for o in rerun)
    assert (await registrar.cohort(cohort_id)).enrolled == 1984
