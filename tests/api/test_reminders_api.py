"""Premium reminders through HTTP: what the reminder job scheduled, sent or will try again,
filtered and paged, within a user's kecamatan, against the real app, PostgreSQL and Redis.

The job reads every participant of its database, so this module has a database of its own: on
the session's shared one it would remind the other modules' participants too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from uuid import uuid4

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from events.catalog import registry
from events.personal import MasterKeys
from events.store import Context, EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services.access import Role
from services.app import create_app
from services.bootstrap import migrate_database
from services.channels import DeliveryFailed
from services.commands import ChangeFunder, OpenCohort, PayContributions
from services.config import Settings
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.reminders import send_due_reminders
from tests.api.conftest import Officer
from tests.api.test_payments_api import Client, assert_problem, user
from tests.conftest import with_path
from tests.projections.conftest import catch_up
from tests.services.conftest import MASTER, cohort_command, make_registrar
from tests.services.workers import worker

TODAY = date(2026, 1, 20)  # January is past its due date (Thursday the 15th) and unpaid
SPONSOR_EMAIL = "keuangan@kepahiangkab.go.id"
ADMIN = Context(actor="admin:dinsos")


class World(NamedTuple):
    """A cohort of three whose sponsor paid October to December 2025; its first member pays
    for themself from January 2026. Nobody paid January: on 20 January the worker (whose
    phone number the channel refuses, to be tried again) and the sponsor (sent) are reminded."""

    client: Client
    cohort_id: str
    self_paying: str
    kecamatan: str
    """The self-paying member's."""
    finance: Officer
    claim_officer: Officer
    finance_here: Officer
    """Scoped to the self-paying member's kecamatan."""
    finance_elsewhere: Officer
    """Scoped to another kecamatan."""


class Refusing:
    """A channel that refuses one recipient and delivers the rest."""

    name = "test"

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse

    async def send(self, recipient: str, message: str, idempotency_key: str) -> str:
        if recipient == self.refuse:
            raise DeliveryFailed("gateway 503: layanan sibuk")
        return f"test-{idempotency_key}"


@pytest.fixture(scope="module")
async def world(
    database_url: str,
    redis_url: str,
    api_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    name = f"jaga_api_reminders_{uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_path(database_url, f"/{name}")
    try:
        await migrate_database(url)
        store = await EventStore.connect(
            url, registry, MasterKeys.parse(MASTER), min_size=1, max_size=4
        )
        registrar = make_registrar(store)
        command = msgspec.structs.replace(cohort_command(quota=3), coverage_end=date(2026, 9, 30))
        await registrar.administer(command, ADMIN)
        await registrar.administer(OpenCohort(command.cohort_id), ADMIN)
        people = [worker(command.cohort_id, n) for n in range(3)]
        members = [(await registrar.register(p, ADMIN)).participant_id for p in people]
        await Cashier(store, registrar, DEFAULT_POLICY).pay(
            PayContributions(
                reference="SP2D-0001/2025", payer="APBD Kabupaten Kepahiang",
                payer_kind="sponsor", channel="bank_transfer", amount=3 * 3 * 16_800,
                paid_at=datetime(2025, 10, 10, 2, 0, tzinfo=UTC),
                months=["2025-10", "2025-11", "2025-12"], cohort_id=command.cohort_id,
            ),
            ADMIN,
        )  # fmt: skip
        await registrar.change_funder(ChangeFunder(members[0], "mandiri", "2026-01"), ADMIN)
        runner = ProjectionRunner(store, all_projections())
        await catch_up(runner)
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("reminders"), sponsor_email=SPONSOR_EMAIL
        )
        run = await send_due_reminders(store, settings, TODAY, Refusing(people[0].phone))
        assert (run.due, run.sent, run.failed) == (2, 1, 1)
        await catch_up(runner)
        here = people[0].kecamatan
        elsewhere = next(p.kecamatan for p in map(worker, ["x"] * 20, range(20))
                         if p.kecamatan != here)  # fmt: skip
        staff = [
            await user(store, Role.FINANCE), await user(store, Role.CLAIM_OFFICER),
            await user(store, Role.FINANCE, [here]), await user(store, Role.FINANCE, [elsewhere]),
        ]  # fmt: skip
        app = create_app(api_settings, url, redis_url)
        async with AsyncTestClient(app) as client:
            yield World(client, command.cohort_id, members[0], here, *staff)
        await store.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def reminders(world: World, officer: Officer | None = None, **params: Any) -> dict[str, Any]:
    response = await world.client.get(
        "/reminders", params=params, headers=(officer or world.finance).headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_reminders_sent_and_to_be_tried_again(world: World) -> None:
    found = (await reminders(world))["items"]
    assert sorted((r["kind"], r["participant_id"] or "") for r in found) == [
        ("arrears_1", ""), ("arrears_1", world.self_paying),
    ]  # fmt: skip
    worker_reminder = next(r for r in found if r["participant_id"] == world.self_paying)
    sponsor_reminder = next(r for r in found if r["participant_id"] is None)
    assert (worker_reminder["state"], worker_reminder["attempts"]) == ("scheduled", 1)
    assert worker_reminder["last_error"] == "gateway 503: layanan sibuk"
    assert (worker_reminder["period"], worker_reminder["amount"]) == ("2026-01", 16_800)
    assert (sponsor_reminder["state"], sponsor_reminder["cohort_id"]) == ("sent", world.cohort_id)
    assert sponsor_reminder["sent_at"] is not None
    assert "recipient" not in worker_reminder  # the address stays sealed in the log


async def test_filters_and_pages(world: World) -> None:
    everything = (await reminders(world))["items"]
    mine = await reminders(world, participant_id=world.self_paying)
    assert [r["participant_id"] for r in mine["items"]] == [world.self_paying]
    sent = await reminders(world, state="sent")
    assert [r["state"] for r in sent["items"]] == ["sent"]
    assert len((await reminders(world, kind="arrears_1"))["items"]) == 2
    assert (await reminders(world, kind="self_pay_due"))["items"] == []
    assert len((await reminders(world, cohort_id=world.cohort_id))["items"]) == 2
    assert (await reminders(world, cohort_id="lain"))["items"] == []

    first = await reminders(world, limit=1)
    second = await reminders(world, limit=1, cursor=first["next_cursor"])
    assert first["next_cursor"] and second["next_cursor"] is None
    assert [r["reminder_id"] for r in first["items"] + second["items"]] == [
        r["reminder_id"] for r in everything
    ]

    for params, slug in [
        ({"kind": "spam"}, "invalid-request"), ({"state": "lost"}, "invalid-request"),
        ({"limit": 500}, "invalid-request"), ({"cursor": "WyJ4IiwxXQ"}, "bad-cursor"),
    ]:  # fmt: skip
        response = await world.client.get("/reminders", params=params,
                                          headers=world.finance.headers)  # fmt: skip
        assert_problem(response, 400, slug)
    forbidden = await world.client.get("/reminders", headers=world.claim_officer.headers)
    assert "reminders_read" in assert_problem(forbidden, 403, "forbidden")["detail"]


async def test_a_scoped_user_sees_their_kecamatan_and_the_sponsors(world: World) -> None:
    here = (await reminders(world, world.finance_here))["items"]
    elsewhere = (await reminders(world, world.finance_elsewhere))["items"]
    seen_here = {r["participant_id"] for r in here}
    seen_elsewhere = {r["participant_id"] for r in elsewhere}
    assert seen_here == {world.self_paying, None}
    assert seen_elsewhere == {None}
