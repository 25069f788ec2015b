"""rm.cohorts and rm.cohort_months driven by the real write side, and the cohort budget and
sponsor dues computed from them when read."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from events.store import Context, EventStore
from projections.cohorts import CohortDashboard, budget_of, spread
from projections.contributions import dues_of
from projections.participants import participant_rows, standing
from projections.runner import ProjectionRunner
from services.commands import (
    ChangeFunder,
    CloseCohort,
    LeaveCohort,
    OpenCohort,
    Rejoin,
    ReversePayment,
    RollOverCohort,
)
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.registration import Registrar
from tests.projections.conftest import catch_up
from tests.projections.test_participants import (
    OCT_10,
    projections,
    registrar_on,
    self_pays,
    sponsor_pays,
)
from tests.services.conftest import cohort_command, open_cohort
from tests.services.workers import worker

_numbers = itertools.count(930_000)
OCT_DEC = ["2025-10", "2025-11", "2025-12"]


async def cohort_row(store: EventStore, cohort_id: str) -> dict[str, Any]:
    await catch_up(ProjectionRunner(store, projections()))
    row = await store.pool.fetchrow("SELECT * FROM rm.cohorts WHERE cohort_id = $1", cohort_id)
    assert row is not None
    return dict(row)


async def months_of(store: EventStore, cohort_id: str) -> list[tuple[str, int, int]]:
    rows = await store.pool.fetch(
        "SELECT month, amount_paid, participants_paid FROM rm.cohort_months "
        "WHERE cohort_id = $1 ORDER BY month",
        cohort_id,
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def members(registrar: Registrar, admin: Context, cohort_id: str, n: int) -> list[str]:
    outcomes = await registrar.register_many(
        [worker(cohort_id, next(_numbers)) for _ in range(n)], admin
    )
    return [o.participant_id for o in outcomes]  # type: ignore[union-attr]


def test_a_share_is_spread_evenly_over_its_months() -> None:
    assert spread(50_401, ["2025-12", "2025-10", "2025-11"]) == [
        ("2025-10", 16_801), ("2025-11", 16_800), ("2025-12", 16_800)
    ]  # fmt: skip
    assert spread(16_800, ["2026-01"]) == [("2026-01", 16_800)]


async def test_the_dashboard_follows_slots_the_waiting_list_and_payments(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    command = cohort_command(quota=2)
    cohort_id = command.cohort_id
    await registrar.administer(command, admin)
    created = await cohort_row(domain_store, cohort_id)
    assert (created["state"], created["enrolled"], created["waitlisted"]) == ("created", 0, 0)
    assert (created["name"], created["sponsor"], created["budget_year"], created["quota"]) == (
        command.name, command.sponsor, 2025, 2,
    )  # fmt: skip
    assert (created["coverage_start"], created["coverage_end"]) == (
        date(2025, 10, 1), date(2025, 12, 31),
    )  # fmt: skip
    assert (created["programmes"], created["legal_basis"]) == (
        ["JKK", "JKM"], ["Inpres 2/2021", "Inpres 8/2025"],
    )  # fmt: skip
    assert (created["budget_allocation"], created["amount_paid"], created["credit"]) == (
        100_000_000, 0, 0,
    )  # fmt: skip
    assert created["policy_version"] == DEFAULT_POLICY.version

    await registrar.administer(OpenCohort(cohort_id), admin)
    first, _, waiting = await members(registrar, admin, cohort_id, 3)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    # two members x three months, Rp10.000 short: the last member-month stays unpaid
    await cashier.pay(sponsor_pays(cohort_id, OCT_DEC, 6 * 16_800 - 10_000, OCT_10), admin)
    row = await cohort_row(domain_store, cohort_id)
    assert (row["state"], row["enrolled"], row["waitlisted"]) == ("open", 2, 1)
    assert (row["amount_paid"], row["credit"]) == (6 * 16_800 - 10_000, 16_800 - 10_000)
    assert await months_of(domain_store, cohort_id) == [
        ("2025-10", 33_600, 2), ("2025-11", 33_600, 2), ("2025-12", 16_800, 1)
    ]  # fmt: skip

    await registrar_on(domain_store, date(2025, 11, 1)).leave(
        LeaveCohort(participant_id=first, reason="moved_away", left_on=date(2025, 11, 1)), admin
    )
    await registrar.administer(CloseCohort(cohort_id, "anggaran habis"), admin)
    row = await cohort_row(domain_store, cohort_id)
    assert (row["state"], row["enrolled"], row["waitlisted"]) == ("closed", 2, 0)
    assert row["updated_at"] >= created["updated_at"]
    promoted = await domain_store.pool.fetchval(
        "SELECT status FROM rm.participants WHERE participant_id = $1", waiting
    )
    assert promoted == "enrolled"


async def test_a_reversed_payment_leaves_the_months_and_the_totals(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=2)
    first, _ = await members(registrar, admin, cohort_id, 2)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    bounced = sponsor_pays(cohort_id, OCT_DEC, 6 * 16_800, OCT_10)
    await cashier.pay(bounced, admin)
    await cashier.pay(sponsor_pays(cohort_id, ["2025-10"], 2 * 16_800 + 500, OCT_10), admin)
    await cashier.pay(self_pays(first, ["2026-01"], 16_800, OCT_10), admin)  # not the sponsor's
    row = await cohort_row(domain_store, cohort_id)
    assert (row["amount_paid"], row["credit"]) == (8 * 16_800 + 500, 500)
    assert await months_of(domain_store, cohort_id) == [
        ("2025-10", 67_200, 4), ("2025-11", 33_600, 2), ("2025-12", 33_600, 2)
    ]  # fmt: skip

    await cashier.reverse(ReversePayment(bounced.reference, "transfer ditolak bank"), admin)
    row = await cohort_row(domain_store, cohort_id)
    assert (row["amount_paid"], row["credit"]) == (2 * 16_800 + 500, 500)
    assert await months_of(domain_store, cohort_id) == [("2025-10", 33_600, 2)]


async def test_a_new_budget_year_moves_the_waiting_list_up(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=1)
    await members(registrar, admin, cohort_id, 3)
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        sponsor_pays(cohort_id, ["2025-10"], 16_800, OCT_10), admin
    )
    assert (await cohort_row(domain_store, cohort_id))["waitlisted"] == 2
    roll_over = RollOverCohort(
        cohort_id=cohort_id, budget_year=2026, quota=2, coverage_start=date(2026, 1, 1),
        coverage_end=date(2026, 12, 31), budget_allocation=80_000_000,
    )  # fmt: skip
    await registrar.administer(roll_over, admin)
    row = await cohort_row(domain_store, cohort_id)
    assert (row["budget_year"], row["quota"], row["budget_allocation"]) == (2026, 2, 80_000_000)
    assert (row["coverage_start"], row["coverage_end"]) == (date(2026, 1, 1), date(2026, 12, 31))
    assert (row["enrolled"], row["waitlisted"]) == (2, 1)
    assert row["amount_paid"] == 16_800  # all years
    budget = await budget_of(domain_store.pool, cohort_id)
    assert budget is not None
    assert [m.month for m in budget.months] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert {(m.members, m.amount_due) for m in budget.months} == {(2, 2 * 16_800)}
    assert (budget.amount_paid, budget.allocation_left) == (0, 80_000_000)  # not 2025's


async def test_the_budget_sets_what_is_due_each_month_against_what_was_paid(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """Three members from October; one moves away in November (due through November), one
    pays for themself from December. October and November paid by the sponsor."""
    cohort_id = await open_cohort(registrar, admin, quota=3)
    mover, self_payer, _ = await members(registrar, admin, cohort_id, 3)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    await cashier.pay(sponsor_pays(cohort_id, ["2025-10", "2025-11"], 6 * 16_800, OCT_10), admin)
    await registrar.change_funder(ChangeFunder(self_payer, "mandiri", "2025-12"), admin)
    await registrar_on(domain_store, date(2025, 11, 20)).leave(
        LeaveCohort(participant_id=mover, reason="moved_away", left_on=date(2025, 11, 20)), admin
    )
    await catch_up(ProjectionRunner(domain_store, projections()))

    budget = await budget_of(domain_store.pool, cohort_id)

    assert budget is not None
    assert [(m.month, m.members, m.amount_due, m.amount_paid, m.participants_paid)
            for m in budget.months] == [
        ("2025-10", 3, 50_400, 50_400, 3),
        ("2025-11", 3, 50_400, 50_400, 3),
        ("2025-12", 1, 16_800, 0, 0),
    ]  # fmt: skip
    assert budget.months[-1].shortfall == 16_800
    assert (budget.amount_due, budget.amount_paid, budget.credit) == (117_600, 100_800, 0)
    assert budget.allocation_left == 100_000_000 - 100_800
    assert await budget_of(domain_store.pool, "nosuchcohort") is None

    sponsor, mine = await dues_of(domain_store.pool, date(2025, 12, 20), cohort_ids=[cohort_id])
    assert (sponsor.payer_kind, sponsor.payer, sponsor.participants) == ("sponsor", cohort_id, 1)
    assert (sponsor.arrears_months, sponsor.arrears_amount, sponsor.participants_in_arrears) == (
        1, 16_800, 1,
    )  # fmt: skip
    assert (sponsor.next_month, sponsor.next_amount) == ("2026-01", 16_800)
    assert (mine.payer_kind, mine.payer, mine.arrears_months) == ("participant", self_payer, 1)
    alone = await dues_of(domain_store.pool, date(2025, 12, 20), participant_ids=[self_payer])
    assert alone == [mine]


async def test_a_cohort_the_dashboard_never_saw_paid_for(domain_store: EventStore) -> None:
    """Shares of a payment for no cohort (a worker paying) leave every cohort untouched."""
    runner = ProjectionRunner(domain_store, [CohortDashboard()])
    await catch_up(runner)
    before = await domain_store.pool.fetchval("SELECT count(*) FROM rm.cohort_months")
    registrar = registrar_on(domain_store, date(2025, 10, 6))
    admin = Context(actor="admin:dinsos")
    cohort_id = await open_cohort(registrar, admin, quota=1)
    (member,) = await members(registrar, admin, cohort_id, 1)
    at = datetime(2025, 10, 7, 3, tzinfo=UTC)
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        self_pays(member, ["2025-10"], 16_800, at), admin
    )
    await catch_up(runner)
    assert await domain_store.pool.fetchval("SELECT count(*) FROM rm.cohort_months") == before
    assert (await cohort_row(domain_store, cohort_id))["amount_paid"] == 0


async def test_a_member_who_left_and_re_joined_is_due_only_while_a_member(
    admin: Context, domain_store: EventStore
) -> None:
    """Two members from January 2026; one withdraws on 20 March and re-joins on 3 June. The
    sponsor owes nothing for them in April and May (a leaving ends the membership, a re-join
    starts a new one: services/domain/coverage.py), and again from June."""
    cohort_id, registrar = await open_cohort_2026(domain_store, admin)
    leaver, _ = await members(registrar, admin, cohort_id, 2)
    jan_mar = ["2026-01", "2026-02", "2026-03"]
    paid_at = datetime(2026, 1, 10, 2, tzinfo=UTC)
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        sponsor_pays(cohort_id, jan_mar, 6 * 16_800, paid_at), admin
    )
    await registrar_on(domain_store, date(2026, 3, 20)).leave(
        LeaveCohort(participant_id=leaver, reason="withdrawal", left_on=date(2026, 3, 20)), admin
    )
    assert (await cohort_row(domain_store, cohort_id))["enrolled"] == 1  # the slot is free
    await registrar_on(domain_store, date(2026, 6, 3)).rejoin(Rejoin(leaver), admin)
    assert (await cohort_row(domain_store, cohort_id))["enrolled"] == 2  # and taken again

    budget = await budget_of(domain_store.pool, cohort_id)

    assert budget is not None
    assert [(m.month, m.members, m.amount_due) for m in budget.months] == [
        (f"2026-{n:02d}", 1 if n in (4, 5) else 2, 16_800 if n in (4, 5) else 33_600)
        for n in range(1, 13)
    ]
    assert budget.amount_due == 22 * 16_800 and budget.amount_paid == 6 * 16_800
    # The arrears (per payer, and per village from each member's standing) agree: on 20 June
    # the re-joined member owes June only, not April or May; the other owes April to June.
    (row,) = await participant_rows(domain_store.pool, [leaver])
    found = standing(row, date(2026, 6, 20))
    assert (found.status_as_of, found.arrears_months, found.arrears_amount) == (
        "in_arrears", 1, 16_800,
    )  # fmt: skip
    assert [(str(p.start_month), p.end_month and str(p.end_month)) for p in found.periods] == [
        ("2026-01", "2026-03"), ("2026-06", None),
    ]  # fmt: skip
    (sponsor,) = await dues_of(domain_store.pool, date(2026, 6, 20), cohort_ids=[cohort_id])
    assert (sponsor.participants, sponsor.participants_in_arrears) == (2, 2)
    assert (sponsor.arrears_months, sponsor.arrears_amount) == (4, 4 * 16_800)


async def test_a_member_self_paying_from_march_to_may_is_the_sponsors_before_and_after(
    admin: Context, domain_store: EventStore
) -> None:
    """Two members from January 2026. The first pays for themself from March, then the regency
    funds them again from June (two changes of funder); the second is the sponsor's all year.
    The sponsor paid January and February for both; the first paid March. Each month is due
    from, and in arrears with, whoever funds it then, not whoever funds it last."""
    cohort_id, registrar = await open_cohort_2026(domain_store, admin)
    switcher, _ = await members(registrar, admin, cohort_id, 2)
    await registrar.change_funder(ChangeFunder(switcher, "mandiri", "2026-03"), admin)
    await registrar.change_funder(ChangeFunder(switcher, "apbd_kabupaten", "2026-06"), admin)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    jan_10, mar_10 = datetime(2026, 1, 10, 2, tzinfo=UTC), datetime(2026, 3, 10, 2, tzinfo=UTC)
    await cashier.pay(sponsor_pays(cohort_id, ["2026-01", "2026-02"], 4 * 16_800, jan_10), admin)
    await cashier.pay(self_pays(switcher, ["2026-03"], 16_800, mar_10), admin)
    await catch_up(ProjectionRunner(domain_store, projections()))

    (row,) = await participant_rows(domain_store.pool, [switcher])
    assert row["funders"] == ["2026-03 mandiri", "2026-06 apbd_kabupaten"]
    assert (row["funder"], row["funder_from"]) == ("apbd_kabupaten", "2026-06")  # the latest
    budget = await budget_of(domain_store.pool, cohort_id)
    assert budget is not None
    assert [(m.month, m.members) for m in budget.months] == [
        (f"2026-{n:02d}", 1 if n in (3, 4, 5) else 2) for n in range(1, 13)
    ]
    assert budget.amount_due == 21 * 16_800

    # On 20 May: the sponsor owes the second member's March to May, not the first's April
    # and May, which are the first member's own; June falls due from the sponsor for both.
    sponsor, mine = await dues_of(domain_store.pool, date(2026, 5, 20), cohort_ids=[cohort_id])
    assert (sponsor.payer_kind, sponsor.payer) == ("sponsor", cohort_id)
    assert (sponsor.arrears_months, sponsor.arrears_amount, sponsor.participants_in_arrears) == (
        3, 3 * 16_800, 1,
    )  # fmt: skip
    assert (sponsor.next_month, sponsor.participants, sponsor.next_amount) == (
        "2026-06", 2, 2 * 16_800,
    )  # fmt: skip
    assert (mine.payer_kind, mine.payer) == ("participant", switcher)
    assert (mine.arrears_months, mine.arrears_amount, mine.participants_in_arrears) == (
        2, 2 * 16_800, 1,
    )  # fmt: skip
    assert (mine.participants, mine.next_amount) == (0, 0)  # June is not theirs
    # On 20 April the first member's next month (May) is still their own.
    (april,) = await dues_of(domain_store.pool, date(2026, 4, 20), participant_ids=[switcher])
    assert (april.payer, april.next_month, april.participants, april.arrears_months) == (
        switcher, "2026-05", 1, 1,
    )  # fmt: skip


async def open_cohort_2026(domain_store: EventStore, admin: Context) -> tuple[str, Registrar]:
    """An open cohort of two places covering 2026, and a registrar working on 5 January 2026."""
    command = msgspec.structs.replace(
        cohort_command(quota=2), budget_year=2026,
        coverage_start=date(2026, 1, 1), coverage_end=date(2026, 12, 31),
    )  # fmt: skip
    registrar = registrar_on(domain_store, date(2026, 1, 5))
    await registrar.administer(command, admin)
    await registrar.administer(OpenCohort(command.cohort_id), admin)
    return command.cohort_id, registrar
