"""Registration against the real event store: validation, duplicates, the quota race."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from uuid import uuid4

import msgspec
import pytest

from events.catalog import (
    ParticipantEnrolled,
    ParticipantRegistered,
    PromotedFromWaitlist,
    SlotTaken,
    WaitlistJoined,
)
from events.store import Context, EventStore
from services.commands import (
    ChangeFunder,
    LeaveCohort,
    RecordKpj,
    RegisterWorker,
    Rejoin,
    RollOverCohort,
)
from services.domain.calendar import Month
from services.domain.errors import Duplicate, IllegalTransition, NotFound, ValidationFailed
from services.domain.policy import DEFAULT_POLICY, Policy
from services.domain.regions import default_regions
from services.membership import history
from services.registration import Registrar
from services.streams import cohort_stream, participant_stream
from tests.services.conftest import LOOKUP, TODAY, make_registrar, open_cohort
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


async def test_region_codes_are_stored_in_their_official_form(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """A spreadsheet's "170801" and a form's "17.08.01" are the same kecamatan: stored one way,
    so that kecamatan-scoped officers find every worker of theirs."""
    cohort_id = await open_cohort(registrar, admin, quota=5)
    typed = worker(cohort_id, 7000 + uuid4().int % 2000)  # a NIK no other test registers
    command = msgspec.structs.replace(
        typed, kecamatan=typed.kecamatan.replace(".", ""), desa=typed.desa.replace(".", " ")
    )
    registration = await registrar.register(command, admin)
    (first, *_) = await domain_store.read_stream(participant_stream(registration.participant_id))
    assert (first.data.kecamatan, first.data.desa) == (typed.kecamatan, typed.desa)  # type: ignore[attr-defined]


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

    await registrar_on(domain_store, date(2025, 11, 2)).leave(
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


def registrar_on(store: EventStore, day: date) -> Registrar:
    return Registrar(
        store, LOOKUP, default_regions(), DEFAULT_POLICY,
        clock=lambda: datetime.combine(day, time(3), UTC),
    )  # fmt: skip


async def test_rejoining_after_a_lapse_or_leaving(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=2)
    lapsed = (await registrar.register(worker(cohort_id, 800_000), admin)).participant_id
    left = (await registrar.register(worker(cohort_id, 800_001), admin)).participant_id
    with pytest.raises(IllegalTransition, match="still running"):
        await registrar.rejoin(Rejoin(lapsed), admin)  # nothing unpaid long enough yet
    await registrar_on(domain_store, date(2025, 11, 1)).leave(
        LeaveCohort(participant_id=left, reason="moved_away", left_on=date(2025, 11, 1)), admin
    )
    waiting = await registrar.register(worker(cohort_id, 800_002), admin)  # takes the slot
    later = registrar_on(domain_store, date(2026, 6, 1))

    again = await later.rejoin(Rejoin(lapsed), admin)  # never paid: lapsed, still has a slot
    back = await later.rejoin(Rejoin(left), admin)  # gave the slot back: the cohort is full

    assert (again.status, back.status, waiting.status) == ("enrolled", "waitlisted", "enrolled")
    months = await history(domain_store, lapsed, today=date(2026, 6, 20))
    assert months is not None and len(months.periods) == 2
    assert months.periods[-1].start_month == Month(2026, 6)  # from zero again
    assert (await later.cohort(cohort_id)).enrolled == 2


@pytest.mark.parametrize("priority_first", [True, False])
async def test_a_rejoin_that_waits_keeps_the_priority_it_registered_with(
    admin: Context, domain_store: EventStore, priority_first: bool
) -> None:
    """Given quota 1: P (flagged priority) enrolled, C and D waiting. P leaves (C takes the
    slot) and re-joins the full cohort: P waits, with the priority they registered with.
    When C leaves, P goes ahead of D, who arrived earlier: by policy. Without the policy, D."""
    policy = Policy(version="2025.1", waiting_list_priority_first=priority_first)
    registrar = Registrar(domain_store, LOOKUP, default_regions(), policy, clock=lambda: TODAY)
    cohort_id = await open_cohort(registrar, admin, quota=1)
    base = 800_100 if priority_first else 800_110
    made = [await registrar.register(worker(cohort_id, base + n, priority=n == 0), admin)
            for n in range(3)]  # fmt: skip
    p, c, d = [m.participant_id for m in made]
    await registrar.leave(
        LeaveCohort(participant_id=p, reason="withdrawal", left_on=date(2025, 10, 6)), admin
    )

    back = await registrar.rejoin(Rejoin(p), admin)
    await registrar.leave(
        LeaveCohort(participant_id=c, reason="moved_away", left_on=date(2025, 10, 6)), admin
    )

    assert back.status == "waitlisted"
    cohort = [r.data for r in await domain_store.read_stream(cohort_stream(cohort_id))]
    (rejoined,) = [e for e in cohort if isinstance(e, WaitlistJoined) and e.participant_id == p]
    assert rejoined.priority is True
    promoted = [e.participant_id for e in cohort if isinstance(e, PromotedFromWaitlist)]
    assert promoted == ([c, p] if priority_first else [c, d])
    waiting = [w.participant_id for w in (await registrar.cohort(cohort_id)).waitlist]
    assert waiting == ([d] if priority_first else [p])


async def test_the_dead_do_not_rejoin_and_the_funder_can_change(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=2)
    member = (await registrar.register(worker(cohort_id, 800_010), admin)).participant_id
    other = (await registrar.register(worker(cohort_id, 800_011), admin)).participant_id

    await registrar.change_funder(ChangeFunder(member, "mandiri", "2026-01"), admin)
    await registrar_on(domain_store, date(2025, 12, 1)).leave(
        LeaveCohort(participant_id=other, reason="death", left_on=date(2025, 12, 1)), admin
    )

    assert (await registrar.participant(member)).funder == "mandiri"
    with pytest.raises(ValidationFailed):
        await registrar.change_funder(ChangeFunder(member, "bank", "2026-13"), admin)
    with pytest.raises(IllegalTransition, match="died"):
        await registrar.rejoin(Rejoin(other), admin)


async def test_a_new_budget_year_enrols_the_waiting_list(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=1)
    await registrar.register(worker(cohort_id, 800_020), admin)
    waiting = (await registrar.register(worker(cohort_id, 800_021), admin)).participant_id

    await registrar.administer(
        RollOverCohort(
            cohort_id=cohort_id, budget_year=2026, quota=2, coverage_start=date(2026, 1, 1),
            coverage_end=date(2026, 12, 31), budget_allocation=403_200,
        ),
        admin,
    )  # fmt: skip

    enrolled = (await domain_store.read_stream(participant_stream(waiting)))[-1].data
    assert isinstance(enrolled, ParticipantEnrolled)
    assert enrolled.enrolled_on == date(2026, 1, 1)  # when the new period's cover starts
    assert (await registrar.cohort(cohort_id)).enrolled == 2
