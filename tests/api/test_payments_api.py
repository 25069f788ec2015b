"""Payments through HTTP against the real app, PostgreSQL and Redis: recording (exact, over and
under the amount due), the Idempotency-Key and the reference, reversal, the list, arrears per
payer, read-your-writes, validation problems and kecamatan scope."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from time import monotonic
from typing import Any, NamedTuple
from uuid import uuid4

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from events.catalog import registry
from events.personal import MasterKeys
from events.store import Context, EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services import bootstrap
from services.access import Principal, Role
from services.commands import ChangeFunder, OpenCohort, RegisterWorker
from services.config import Settings
from services.contributions import payment_id_for
from services.domain.calendar import JAKARTA, Month, business_date, due_date
from services.registration import Registrar
from services.users import CreateUser
from tests.api.conftest import OFFICER_PASSWORD, Officer
from tests.projections.conftest import catch_up
from tests.services.conftest import MASTER, cohort_command
from tests.services.workers import worker

PROBLEM = "application/problem+json"
DUE = 16_800
"""A month of JKK + JKM at the minimum declared income."""
ADMIN = Context(actor="admin:dinsos")
_numbers = itertools.count(random.randrange(3_000_000, 9_000_000, 1000))


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert (body["status"], body["type"]) == (status, f"urn:jaga:problem:{slug}")
    assert body["detail"]
    return body


def this_month() -> Month:
    return Month.of(business_date(datetime.now(UTC)))


def start_of(month: Month) -> datetime:
    """The first instant of a month in Jakarta: a payment then is on time for the month."""
    return datetime.combine(month.first_day, time(0, 0, 1), JAKARTA)


class Cohort(NamedTuple):
    cohort_id: str
    members: list[str]
    """Participant ids, in registration order."""
    kecamatan: list[str]


@pytest.fixture(scope="module")
def registrar(api_settings: Settings, sealed_store: EventStore) -> Registrar:
    """The app's registrar (its keys), for what these tests set up beside the API."""
    return bootstrap.registrar(api_settings, sealed_store)


async def enrolled_cohort(registrar: Registrar, size: int) -> Cohort:
    """An open cohort (covering this month and the year after) with `size` members enrolled
    today, each living in another kecamatan than the one before."""
    month = this_month()
    command = msgspec.structs.replace(
        cohort_command(quota=size),
        budget_year=month.year,
        coverage_start=month.first_day,
        coverage_end=(month + 12).first_day - timedelta(days=1),
    )
    await registrar.administer(command, ADMIN)
    await registrar.administer(OpenCohort(command.cohort_id), ADMIN)
    people: list[RegisterWorker] = []
    while len(people) < size:
        person = worker(command.cohort_id, next(_numbers))
        if not people or person.kecamatan != people[-1].kecamatan:
            people.append(person)
    members = [(await registrar.register(p, ADMIN)).participant_id for p in people]
    return Cohort(command.cohort_id, members, [p.kecamatan for p in people])


async def user(store: EventStore, role: Role, kecamatan: list[str] | None = None) -> Officer:
    """A user of one role (optionally scoped), logged in."""
    accounts = bootstrap.accounts(Settings(), store)
    username = f"{role.value.replace('_', '')}{uuid4().hex[:8]}"
    command = CreateUser(
        username=username, display_name=role.value, roles=[role.value], kecamatan=kecamatan or []
    )
    operator = Principal("operator", frozenset({Role.ADMIN}))
    await accounts.create(command, OFFICER_PASSWORD, operator, Context(actor="admin:operator"))
    return Officer(username, (await accounts.login(username, OFFICER_PASSWORD)).token)


def block(cohort: str, amount: int, months: list[Month], **changes: Any) -> dict[str, Any]:
    """A sponsor's payment for the whole cohort, received at the start of its first month."""
    body = {
        "reference": f"SP2D-{uuid4().hex[:10]}",
        "payer": "APBD Kabupaten Kepahiang",
        "payer_kind": "sponsor",
        "channel": "bank_transfer",
        "amount": amount,
        "paid_at": start_of(months[0]).isoformat(),
        "months": [str(m) for m in months],
        "cohort_id": cohort,
    }
    return body | changes


Client = AsyncTestClient[Litestar]
CatchUp = Callable[[], Awaitable[None]]


# -- recording -----------------------------------------------------------------------------------


async def test_a_block_payment_exact_over_and_under(
    api_client: Client, officers: dict[str, Officer], registrar: Registrar, read_models: CatchUp
) -> None:
    cohort = await enrolled_cohort(registrar, 3)
    finance = officers["finance"].headers
    months = [this_month(), this_month() + 1]
    exact, over, under = 3 * 2 * DUE, 3 * 2 * DUE + 5_000, 3 * 2 * DUE - 20_000

    response = await api_client.post(
        "/payments", json=block(cohort.cohort_id, exact, months), headers=finance
    )
    assert response.status_code == 201, response.text
    paid = response.json()
    assert paid["events"] == ["PaymentRecorded", "ContributionPaid"]
    assert (paid["participants"], paid["amount_due"], paid["credit"], paid["shortfall"]) == (
        3,
        exact,
        0,
        0,
    )
    assert paid["resource"]["kind"] == "payment"
    assert paid["resource"]["href"] == f"/payments/{paid['resource']['id']}"

    overpaid = (
        await api_client.post(
            "/payments", json=block(cohort.cohort_id, over, months), headers=finance
        )
    ).json()
    assert (overpaid["credit"], overpaid["shortfall"], overpaid["participants"]) == (5_000, 0, 3)
    underpaid = (
        await api_client.post(
            "/payments", json=block(cohort.cohort_id, under, months), headers=finance
        )
    ).json()
    # whole participant-months in roster order while the money lasts: 4 of 6 (the first two
    # members' months); the third member's two stay in arrears, the remainder is credit
    assert (underpaid["shortfall"], underpaid["credit"]) == (2 * DUE, under - 4 * DUE)
    assert underpaid["participants"] == 2

    await read_models()
    shown = await api_client.get(f"/payments/{overpaid['resource']['id']}", headers=finance)
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert (view["amount"], view["amount_due"], view["credit"], view["shortfall"]) == (
        over,
        exact,
        5_000,
        0,
    )
    assert (view["cohort_id"], view["participants"], view["reversed"]) == (
        cohort.cohort_id,
        3,
        False,
    )
    assert view["months"] == [str(m) for m in months]
    short = (
        await api_client.get(f"/payments/{underpaid['resource']['id']}", headers=finance)
    ).json()
    assert (short["shortfall"], short["participants"]) == (2 * DUE, 2)


async def test_a_worker_paying_for_themself(
    api_client: Client, officers: dict[str, Officer], registrar: Registrar
) -> None:
    cohort = await enrolled_cohort(registrar, 2)
    body = block(
        cohort.cohort_id,
        DUE,
        [this_month()],
        cohort_id=None,
        payer_kind="participant",
        payer="Pekerja",
        participant_ids=[cohort.members[1]],
    )
    response = await api_client.post("/payments", json=body, headers=officers["finance"].headers)
    assert response.status_code == 201, response.text
    assert (response.json()["participants"], response.json()["amount_due"]) == (1, DUE)


async def test_the_reference_and_the_idempotency_key_make_one_payment(
    api_client: Client, officers: dict[str, Officer], registrar: Registrar, api_store: EventStore
) -> None:
    cohort = await enrolled_cohort(registrar, 2)
    finance = officers["finance"].headers
    body = block(cohort.cohort_id, 2 * DUE, [this_month()])
    keyed = finance | {"Idempotency-Key": f"bayar-{uuid4()}"}

    first = await api_client.post("/payments", json=body, headers=keyed)
    again = await api_client.post("/payments", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()

    other = await api_client.post(
        "/payments", json=block(cohort.cohort_id, 2 * DUE, [this_month()]), headers=keyed
    )
    assert_problem(other, 422, "idempotency-key-reused")

    # without a key, the same reference is still the same payment ...
    repeat = await api_client.post("/payments", json=body, headers=finance)
    assert repeat.status_code == 201
    assert repeat.json()["position"] == first.json()["position"]
    payment_id = payment_id_for(body["reference"])
    recorded = await api_store.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1", f"payment-{payment_id}"
    )
    assert recorded == 1
    # ... and the same reference for another payment is refused
    clash = await api_client.post("/payments", json=body | {"amount": 3 * DUE}, headers=finance)
    assert body["reference"] in assert_problem(clash, 409, "duplicate")["detail"]


async def test_the_position_is_the_payments_last_event(
    api_client: Client, officers: dict[str, Officer], registrar: Registrar, api_store: EventStore
) -> None:
    cohort = await enrolled_cohort(registrar, 3)
    response = await api_client.post(
        "/payments",
        json=block(cohort.cohort_id, 3 * DUE, [this_month()]),
        headers=officers["finance"].headers,
    )
    result = response.json()
    rows = await api_store.pool.fetch(
        """SELECT position, event_type FROM events
           WHERE stream_id = $1 OR (event_type = 'ContributionPaid'
                                    AND stream_id = ANY($2::text[]))
           ORDER BY position""",
        f"payment-{result['resource']['id']}",
        [f"participant-{m}" for m in cohort.members],
    )
    assert [r["event_type"] for r in rows] == ["PaymentRecorded"] + 3 * ["ContributionPaid"]
    assert result["position"] == rows[-1]["position"]


# -- reversal ------------------------------------------------------------------------------------


async def test_a_reversal_takes_the_months_back_once(
    api_client: Client, officers: dict[str, Officer], registrar: Registrar, read_models: CatchUp
) -> None:
    cohort = await enrolled_cohort(registrar, 2)
    finance = officers["finance"].headers
    paid = await api_client.post(
        "/payments", json=block(cohort.cohort_id, 2 * DUE, [this_month()]), headers=finance
    )
    payment_id = paid.json()["resource"]["id"]

    reversal = await api_client.post(
        f"/payments/{payment_id}/reversal",
        json={"reason": "transfer ditolak bank"},
        headers=finance,
    )
    assert reversal.status_code == 200, reversal.text
    assert reversal.json()["events"] == ["PaymentReversed", "ContributionReversed"]
    assert reversal.json()["position"] > paid.json()["position"]

    twice = await api_client.post(
        f"/payments/{payment_id}/reversal", json={"reason": "lagi"}, headers=finance
    )
    assert "already reversed" in assert_problem(twice, 409, "illegal-transition")["detail"]
    unknown = await api_client.post(
        f"/payments/{uuid4()}/reversal", json={"reason": "x"}, headers=finance
    )
    assert_problem(unknown, 404, "not-found")
    blank = await api_client.post(
        f"/payments/{payment_id}/reversal", json={"reason": ""}, headers=finance
    )
    assert_problem(blank, 400, "invalid-request")

    await read_models()
    view = (await api_client.get(f"/payments/{payment_id}", headers=finance)).json()
    assert (view["reversed"], view["reversal_reason"]) == (True, "transfer ditolak bank")


# -- reading -------------------------------------------------------------------------------------


async def test_the_list_filters_and_pages(
    api_client: Client, officers: dict[str, Officer], registrar: Registrar, read_models: CatchUp
) -> None:
    cohort = await enrolled_cohort(registrar, 1)
    auditor = officers["auditor"].headers
    month = this_month()
    references = []
    for n, months in enumerate([[month], [month + 1], [month + 1, month + 2]]):
        body = block(
            cohort.cohort_id,
            len(months) * DUE,
            months,
            paid_at=(start_of(month) + timedelta(hours=n)).isoformat(),
        )
        await api_client.post("/payments", json=body, headers=officers["finance"].headers)
        references.append(body["reference"])
    await read_models()

    async def page(**params: Any) -> dict[str, Any]:
        response = await api_client.get("/payments", params=params, headers=auditor)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    everything = await page(cohort_id=cohort.cohort_id)
    assert [p["reference"] for p in everything["items"]] == references[::-1]  # newest first
    assert everything["next_cursor"] is None

    seen, cursor = [], None
    while True:
        found = await page(
            cohort_id=cohort.cohort_id, limit=1, **({"cursor": cursor} if cursor else {})
        )
        seen += [p["reference"] for p in found["items"]]
        cursor = found["next_cursor"]
        if cursor is None:
            break
    assert seen == references[::-1]

    second_month = await page(cohort_id=cohort.cohort_id, month=str(month + 1))
    assert [p["reference"] for p in second_month["items"]] == references[:0:-1]
    by_payer = await page(payer="APBD Kabupaten Kepahiang", cohort_id=cohort.cohort_id, limit=200)
    assert len(by_payer["items"]) == 3

    assert_problem(
        await api_client.get("/payments", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=auditor),
        400,
        "bad-cursor",
    )
    assert_problem(
        await api_client.get("/payments", params={"month": "2025-13"}, headers=auditor),
        400,
        "invalid-request",
    )
    assert_problem(await api_client.get(f"/payments/{uuid4()}", headers=auditor), 404, "not-found")


def catch_up_soon(database_url: str, delay: float = 0.3) -> asyncio.Future[None]:
    """Catch the read models up `delay` seconds from now, in a thread of its own: the test
    client serves a request in the app's own loop and blocks the test's loop meanwhile, so
    the projections must run elsewhere while a read waits for them."""

    async def later() -> None:
        await asyncio.sleep(delay)
        store = await EventStore.connect(
            database_url, registry, MasterKeys.parse(MASTER), min_size=1, max_size=2
        )
        try:
            await catch_up(ProjectionRunner(store, all_projections()))
        finally:
            await store.close()

    return asyncio.get_running_loop().run_in_executor(None, asyncio.run, later())


async def test_a_read_waits_for_the_payment_it_was_given(
    api_client: Client,
    officers: dict[str, Officer],
    registrar: Registrar,
    migrated_database_url: str,
) -> None:
    cohort = await enrolled_cohort(registrar, 1)
    paid = await api_client.post(
        "/payments",
        json=block(cohort.cohort_id, DUE, [this_month()]),
        headers=officers["finance"].headers,
    )
    result = paid.json()
    projected = catch_up_soon(migrated_database_url)
    began = monotonic()
    shown = await api_client.get(
        f"/payments/{result['resource']['id']}",
        params={"min_position": result["position"]},
        headers=officers["auditor"].headers,
    )
    assert shown.status_code == 200, shown.text
    assert monotonic() - began >= 0.3  # it waited for the projections
    assert shown.json()["amount"] == DUE
    await projected


async def test_arrears_per_sponsor_and_self_paying_participant(
    api_client: Client,
    officers: dict[str, Officer],
    registrar: Registrar,
    migrated_database_url: str,
) -> None:
    """Three members; the sponsor pays this month and the next; the first member pays for
    themself from the month after. Two months later everyone owes two months."""
    cohort = await enrolled_cohort(registrar, 3)
    first = this_month()
    self_paying = cohort.members[0]
    await registrar.change_funder(ChangeFunder(self_paying, "mandiri", str(first + 2)), ADMIN)
    paid = await api_client.post(
        "/payments",
        json=block(cohort.cohort_id, 3 * 2 * DUE, [first, first + 1]),
        headers=officers["finance"].headers,
    )
    as_of = due_date(first + 3) + timedelta(days=1)

    projected = catch_up_soon(migrated_database_url, delay=0)
    response = await api_client.get(
        "/contributions/arrears",
        headers=officers["supervisor"].headers,
        params={
            "cohort_id": cohort.cohort_id,
            "as_of": as_of.isoformat(),
            "min_position": paid.json()["position"],
        },
    )
    await projected
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["as_of"] == as_of.isoformat()
    by_payer = {(d["payer_kind"], d["payer"]): d for d in report["payers"]}
    assert set(by_payer) == {("sponsor", cohort.cohort_id), ("participant", self_paying)}
    sponsor = by_payer["sponsor", cohort.cohort_id]
    worker_dues = by_payer["participant", self_paying]
    assert (sponsor["arrears_months"], sponsor["arrears_amount"]) == (4, 4 * DUE)
    assert (sponsor["participants_in_arrears"], sponsor["participants"]) == (2, 2)
    assert (worker_dues["arrears_months"], worker_dues["arrears_amount"]) == (2, 2 * DUE)
    assert report["arrears_amount"] == 6 * DUE

    one = await api_client.get(
        "/contributions/arrears",
        headers=officers["finance"].headers,
        params={"participant_id": self_paying, "as_of": as_of.isoformat()},
    )
    assert {d["payer_kind"] for d in one.json()["payers"]} == {"participant"}

    neither = await api_client.get("/contributions/arrears", headers=officers["finance"].headers)
    errors = assert_problem(neither, 422, "validation-failed")["errors"]
    assert errors[0]["field"] == "cohort_id"
    odd = await api_client.get(
        "/contributions/arrears",
        headers=officers["finance"].headers,
        params={"cohort_id": cohort.cohort_id, "as_of": "1900-01-01"},
    )
    assert_problem(odd, 422, "validation-failed")


# -- refusals and scope --------------------------------------------------------------------------


async def test_invalid_payments_are_problems_with_field_errors(
    api_client: Client, officers: dict[str, Officer], registrar: Registrar
) -> None:
    cohort = await enrolled_cohort(registrar, 1)
    finance = officers["finance"].headers
    month = this_month()

    negative = await api_client.post(
        "/payments", json=block(cohort.cohort_id, -5, [month]), headers=finance
    )
    errors = assert_problem(negative, 400, "invalid-request")["errors"]
    assert [e["field"] for e in errors] == ["amount"]
    unknown_field = await api_client.post(
        "/payments", json=block(cohort.cohort_id, DUE, [month], tip=1), headers=finance
    )
    assert_problem(unknown_field, 400, "invalid-request")

    both = block(cohort.cohort_id, DUE, [month, month], participant_ids=[cohort.members[0]])
    refused = await api_client.post("/payments", json=both, headers=finance)
    errors = assert_problem(refused, 422, "validation-failed")["errors"]
    assert {e["field"] for e in errors} == {"cohort_id", "months"}

    tomorrow = datetime.now(UTC) + timedelta(days=1)
    future = block(cohort.cohort_id, DUE, [month], paid_at=tomorrow.isoformat())
    errors = assert_problem(
        await api_client.post("/payments", json=future, headers=finance), 422, "validation-failed"
    )["errors"]
    assert errors == [{"field": "paid_at", "reason": errors[0]["reason"]}]
    assert "future" in errors[0]["reason"]

    nobody = block(cohort.cohort_id, DUE, [month], cohort_id=f"tidak-ada-{uuid4().hex[:6]}")
    assert_problem(
        await api_client.post("/payments", json=nobody, headers=finance), 404, "not-found"
    )

    claim_officer = officers["claim_officer"].headers
    forbidden = await api_client.post(
        "/payments", json=block(cohort.cohort_id, DUE, [month]), headers=claim_officer
    )
    assert "payments_record" in assert_problem(forbidden, 403, "forbidden")["detail"]


async def test_a_scoped_finance_officer_pays_only_for_participants_of_their_kecamatan(
    api_client: Client, registrar: Registrar, api_store: EventStore, read_models: CatchUp
) -> None:
    cohort = await enrolled_cohort(registrar, 2)
    scoped = await user(api_store, Role.FINANCE, [cohort.kecamatan[0]])
    mine, other = cohort.members

    def own(participant_id: str) -> dict[str, Any]:
        return block(
            cohort.cohort_id,
            DUE,
            [this_month()],
            cohort_id=None,
            payer_kind="participant",
            payer="Pekerja",
            participant_ids=[participant_id],
        )

    await read_models()  # the kecamatan check reads rm.participants
    allowed = await api_client.post("/payments", json=own(mine), headers=scoped.headers)
    assert allowed.status_code == 201, allowed.text
    hidden = await api_client.post("/payments", json=own(other), headers=scoped.headers)
    assert other in assert_problem(hidden, 404, "not-found")["detail"]
    cohort_wide = await api_client.post(
        "/payments",
        json=block(cohort.cohort_id, 2 * DUE, [this_month()]),
        headers=scoped.headers,
    )
    assert cohort_wide.status_code == 201  # a sponsor's block is the regency's, not a person's
