"""Who is due for erasure: membership ended more than the retention period ago."""

from __future__ import annotations

from datetime import date

from events.store import Context, EventStore
from services.commands import LeaveCohort
from services.domain.policy import DEFAULT_POLICY
from services.personal_data import erase_subject
from services.registration import Registrar
from services.retention import due_for_erasure
from tests.services.conftest import open_cohort
from tests.services.test_registration import registrar_on
from tests.services.workers import worker


async def test_left_and_lapsed_members_become_due_after_the_retention_years(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=3)
    left = (await registrar.register(worker(cohort_id, 700_000), admin)).participant_id
    lapsed = (await registrar.register(worker(cohort_id, 700_001), admin)).participant_id
    await registrar_on(domain_store, date(2025, 11, 2)).leave(
        LeaveCohort(participant_id=left, reason="withdrawal", left_on=date(2025, 11, 2)), admin
    )

    soon = {d.subject_id for d in await due_for_erasure(domain_store, DEFAULT_POLICY,
                                                          date(2026, 6, 1))}  # fmt: skip
    later = {d.subject_id: d for d in await due_for_erasure(domain_store, DEFAULT_POLICY,
                                                             date(2031, 6, 1))}  # fmt: skip

    assert not {left, lapsed} & soon
    assert {left, lapsed} <= set(later)
    assert later[left].membership_ended == date(2025, 11, 2)
    assert later[left].keep_until == date(2030, 11, 2)
    assert later[lapsed].membership_ended < date(2026, 6, 1)  # never paid: lapsed

    await erase_subject(domain_store, left, "retention period over", admin)
    registered = (await domain_store.read_stream(f"participant-{left}"))[0].data
    assert {registered.nik, registered.name, registered.phone, registered.desa} == {"dihapus"}  # type: ignore[attr-defined]
    after = {d.subject_id for d in await due_for_erasure(domain_store, DEFAULT_POLICY,
                                                          date(2031, 6, 1))}  # fmt: skip
    assert left not in after and lapsed in after
