"""The cohorts area through HTTP: the real app on PostgreSQL and Redis, read models caught up
by a projection runner in the test (no workers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from events.store import EventStore
from services.api.common import business_today
from services.domain.calendar import Month
from services.domain.rates import contribution_due
from tests.api.conftest import Officer, worker

Client = AsyncTestClient[Litestar]
ReadModels = Callable[[], Awaitable[None]]
TYPE = "urn:jaga:problem:"


def cohort_body(quota: int = 10, **overrides: object) -> dict[str, Any]:
    """A cohort covering this month and the next two (Asia/Jakarta)."""
    this = Month.of(business_today())
    return {
        "cohort_id": f"kph{uuid4().hex[:10]}",
        "name": "Pekerja rentan Kepahiang",
        "sponsor": "APBD Kabupaten Kepahiang",
        "budget_year": this.year,
        "quota": quota,
        "programmes": ["JKK", "JKM"],
        "coverage_start": this.first_day.isoformat(),
        "coverage_end": (this + 2).last_day.isoformat(),
        "budget_allocation": 100_000_000,
        "legal_basis": ["Inpres 2/2021", "Inpres 8/2025"],
    } | overrides


async def open_cohort(client: Client, admin: Officer, quota: int = 10) -> tuple[str, int]:
    """A new open cohort: its id and the position of the opening."""
    body = cohort_body(quota)
    created = await client.post("/cohorts", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    opened = await client.post(f"/cohorts/{body['cohort_id']}/open", headers=admin.headers)
    assert opened.status_code == 200, opened.text
    return body["cohort_id"], opened.json()["position"]


async def register(client: Client, registrar: Officer, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/participants", json=body, headers=registrar.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def read_after(
    client: Client, url: str, position: int, officer: Officer, read_models: ReadModels
) -> httpx.Response:
    """GET with `min_position` once the read models have caught up (the waiting itself is
    tested in test_participants_api.py)."""
    await read_models()
    joiner = "&" if "?" in url else "?"
    return await client.get(f"{url}{joiner}min_position={position}", headers=officer.headers)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE + slug and body["detail"], body
    return body


def field_errors(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body["errors"]}


async def events_in(store: EventStore, stream: str) -> int:
    count: int = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1", stream
    )
    return count


# -- commands ------------------------------------------------------------------------------------


async def test_create_open_and_read_the_dashboard(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels
) -> None:
    admin = officers["admin"]
    body = cohort_body(quota=3)
    created = await api_client.post("/cohorts", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    cohort_id = body["cohort_id"]
    assert created.json()["resource"] == {
        "kind": "cohort", "id": cohort_id, "href": f"/cohorts/{cohort_id}"
    }  # fmt: skip
    assert created.json()["events"] == ["CohortCreated"]
    opened = await api_client.post(f"/cohorts/{cohort_id}/open", headers=admin.headers)
    assert opened.json()["events"] == ["CohortOpened"]
    registrar = officers["registrar"]
    for _ in range(2):
        last = await register(api_client, registrar, worker(cohort_id))

    response = await read_after(
        api_client, f"/cohorts/{cohort_id}", last["position"], admin, read_models
    )
    assert response.status_code == 200, response.text
    dashboard = response.json()
    assert (dashboard["state"], dashboard["quota"], dashboard["enrolled"]) == ("open", 3, 2)
    assert (dashboard["free_slots"], dashboard["waitlisted"]) == (1, 0)
    assert dashboard["programmes"] == ["JKK", "JKM"]
    budget = dashboard["budget"]
    this = Month.of(business_today())
    assert [m["month"] for m in budget["months"]] == [str(this + n) for n in range(3)]
    due = [2 * contribution_due(1_000_000, ("JKK", "JKM"), this + n).total for n in range(3)]
    assert [m["amount_due"] for m in budget["months"]] == due
    assert [m["members"] for m in budget["months"]] == [2, 2, 2]
    assert budget["amount_due"] == sum(due) and budget["amount_paid"] == 0
    assert budget["allocation_left"] == 100_000_000
    assert [m["shortfall"] for m in budget["months"]] == due


async def test_an_idempotency_key_gives_the_first_answer_and_no_second_event(
    api_client: Client, officers: dict[str, Officer], api_store: EventStore
) -> None:
    admin = officers["admin"]
    body = cohort_body()
    headers = admin.headers | {"Idempotency-Key": f"create-{body['cohort_id']}"}
    first = await api_client.post("/cohorts", json=body, headers=headers)
    again = await api_client.post("/cohorts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await events_in(api_store, f"cohort-{body['cohort_id']}") == 1

    other = await api_client.post("/cohorts", json=body | {"quota": 11}, headers=headers)
    assert_problem(other, 422, "idempotency-key-reused")
    without_key = await api_client.post("/cohorts", json=body, headers=admin.headers)
    assert_problem(without_key, 409, "duplicate")
    assert await events_in(api_store, f"cohort-{body['cohort_id']}") == 1


async def test_a_transition_repeated_with_its_key_gets_the_first_answer(
    api_client: Client, officers: dict[str, Officer], api_store: EventStore
) -> None:
    """Open and close run once per key like every command (common.run_command): the repeat
    is the first answer, not the 409 a second transition is, and appends nothing."""
    admin = officers["admin"]
    body = cohort_body()
    cohort_id = body["cohort_id"]
    assert (await api_client.post("/cohorts", json=body, headers=admin.headers)).is_success
    keyed = admin.headers | {"Idempotency-Key": f"buka-{cohort_id}"}
    first = await api_client.post(f"/cohorts/{cohort_id}/open", headers=keyed)
    again = await api_client.post(f"/cohorts/{cohort_id}/open", headers=keyed)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and first.json()["events"] == ["CohortOpened"]
    unkeyed = await api_client.post(f"/cohorts/{cohort_id}/open", headers=admin.headers)
    assert_problem(unkeyed, 409, "illegal-transition")

    closing = admin.headers | {"Idempotency-Key": f"tutup-{cohort_id}"}
    close, reason = f"/cohorts/{cohort_id}/close", {"reason": "kuota habis"}
    first = await api_client.post(close, json=reason, headers=closing)
    again = await api_client.post(close, json=reason, headers=closing)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and first.json()["events"] == ["CohortClosed"]
    other = await api_client.post(close, json={"reason": "lain"}, headers=closing)
    assert_problem(other, 422, "idempotency-key-reused")
    assert await events_in(api_store, f"cohort-{cohort_id}") == 3


async def test_invalid_cohorts_are_refused_naming_the_fields(
    api_client: Client, officers: dict[str, Officer]
) -> None:
    headers = officers["admin"].headers
    backwards = cohort_body(coverage_start="2026-12-31", coverage_end="2026-01-01")
    body = assert_problem(
        await api_client.post("/cohorts", json=backwards, headers=headers), 422,
        "validation-failed",
    )  # fmt: skip
    assert field_errors(body) == {"coverage_end"}
    no_jkm = cohort_body(programmes=["JKK"])
    body = assert_problem(
        await api_client.post("/cohorts", json=no_jkm, headers=headers), 422, "validation-failed"
    )
    assert field_errors(body) == {"programmes"}
    far = cohort_body(coverage_start="2026-01-01", coverage_end="2099-12-31")
    body = assert_problem(
        await api_client.post("/cohorts", json=far, headers=headers), 422, "validation-failed"
    )
    assert field_errors(body) == {"coverage_end"}
    for wrong in (
        {"quota": 0}, {"quota": 10**30}, {"cohort_id": "kph-2025"}, {"programmes": ["JKX"]},
        {"coverage_start": "2026-02-30"}, {"budget_allocation": -1}, {"surprise": True},
        {"name": "nul\u0000byte"}, {"legal_basis": []},
    ):  # fmt: skip
        response = await api_client.post("/cohorts", json=cohort_body() | wrong, headers=headers)
        assert response.status_code == 400, (wrong, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_close_and_roll_over_follow_the_cohort_state(
    api_client: Client,
    officers: dict[str, Officer],
    read_models: ReadModels,
) -> None:
    admin, registrar = officers["admin"], officers["registrar"]
    missing = await api_client.post("/cohorts/nosuchcohort/open", headers=admin.headers)
    assert_problem(missing, 404, "not-found")
    cohort_id, _ = await open_cohort(api_client, admin, quota=1)
    again = await api_client.post(f"/cohorts/{cohort_id}/open", headers=admin.headers)
    assert_problem(again, 409, "illegal-transition")
    member = await register(api_client, registrar, worker(cohort_id))
    waiting = await register(api_client, registrar, worker(cohort_id))
    assert "WaitlistJoined" in waiting["events"]

    this = Month.of(business_today())
    next_year = {
        "budget_year": this.year + 1, "quota": 2,
        "coverage_start": (this + 3).first_day.isoformat(),
        "coverage_end": (this + 14).last_day.isoformat(), "budget_allocation": 200_000_000,
    }  # fmt: skip
    earlier = next_year | {"budget_year": this.year - 1}
    refused = await api_client.post(
        f"/cohorts/{cohort_id}/roll-over", json=earlier, headers=admin.headers
    )
    assert_problem(refused, 409, "illegal-transition")
    rolled = await api_client.post(
        f"/cohorts/{cohort_id}/roll-over", json=next_year, headers=admin.headers
    )
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["events"] == [
        "CohortRolledOver", "PromotedFromWaitlist", "ParticipantEnrolled"
    ]  # fmt: skip

    closed = await api_client.post(
        f"/cohorts/{cohort_id}/close", json={"reason": "anggaran habis"}, headers=admin.headers
    )
    assert closed.json()["events"] == ["CohortClosed"]
    twice = await api_client.post(
        f"/cohorts/{cohort_id}/close", json={"reason": "lagi"}, headers=admin.headers
    )
    assert_problem(twice, 409, "illegal-transition")
    late = await api_client.post("/participants", json=worker(cohort_id), headers=registrar.headers)
    assert_problem(late, 409, "illegal-transition")

    dashboard = (
        await read_after(
            api_client, f"/cohorts/{cohort_id}", closed.json()["position"], admin, read_models
        )
    ).json()
    assert (dashboard["state"], dashboard["budget_year"], dashboard["quota"]) == (
        "closed", this.year + 1, 2,
    )  # fmt: skip
    assert (dashboard["enrolled"], dashboard["waitlisted"]) == (2, 0)
    assert dashboard["budget"]["budget_allocation"] == 200_000_000
    assert len(dashboard["budget"]["months"]) == 12
    promoted = await api_client.get(
        f"/participants/{waiting['resource']['id']}", headers=registrar.headers
    )
    assert promoted.json()["standing"]["status"] != "waitlisted"
    assert member["resource"]["id"] != waiting["resource"]["id"]


async def test_only_administrators_manage_cohorts(
    api_client: Client, officers: dict[str, Officer]
) -> None:
    for role in ("registrar", "finance", "claim_officer", "supervisor", "auditor"):
        response = await api_client.post(
            "/cohorts", json=cohort_body(), headers=officers[role].headers
        )
        assert_problem(response, 403, "forbidden")
    assert_problem(await api_client.get("/cohorts/x/waiting-list"), 401, "unauthenticated")


# -- reads ---------------------------------------------------------------------------------------


async def test_the_cohort_list_pages_without_repeats_or_gaps(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels
) -> None:
    admin = officers["admin"]
    made = [(await open_cohort(api_client, admin))[0] for _ in range(3)]
    await read_models()
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = (await api_client.get("/cohorts", params=query, headers=admin.headers)).json()
        assert len(page["items"]) <= 7
        seen += [c["cohort_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(set(seen)), "in id order, each once"
    assert set(made) <= set(seen)
    everything = await api_client.get("/cohorts", params={"limit": 200}, headers=admin.headers)
    everything_ids = [c["cohort_id"] for c in everything.json()["items"]]
    assert everything_ids == seen[: len(everything_ids)]
    opened = await api_client.get("/cohorts", params={"state": "open", "limit": 200},
                                  headers=admin.headers)  # fmt: skip
    assert {c["state"] for c in opened.json()["items"]} == {"open"}
    bad = await api_client.get("/cohorts", params={"cursor": "bm90LWEtY3Vyc29y"},
                               headers=admin.headers)  # fmt: skip
    assert_problem(bad, 400, "bad-cursor")
    assert_problem(
        await api_client.get("/cohorts/nosuchcohort", headers=admin.headers), 404, "not-found"
    )


async def test_the_waiting_list_in_order_paged_and_scoped(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=1)
    await register(api_client, registrar, worker(cohort_id))
    waiting = []
    for n, kecamatan in enumerate(["17.08.01", "17.08.02", "17.08.01", "17.08.02", "17.08.01"]):
        body = worker(cohort_id, kecamatan, priority=n == 3)
        waiting.append((await register(api_client, registrar, body))["resource"]["id"])
    await read_models()
    in_order = [waiting[3], waiting[0], waiting[1], waiting[2], waiting[4]]  # priority first

    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await api_client.get(
            f"/cohorts/{cohort_id}/waiting-list", params=query, headers=registrar.headers
        )
        assert response.status_code == 200, response.text
        entries += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert [e["participant_id"] for e in entries] == in_order
    assert [e["position"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["priority"] is True

    scoped = await api_client.get(
        f"/cohorts/{cohort_id}/waiting-list", headers=officers["registrar@17.08.01"].headers
    )
    mine = [(e["position"], e["participant_id"]) for e in scoped.json()["items"]]
    assert mine == [(2, waiting[0]), (4, waiting[2]), (5, waiting[4])]
    assert_problem(
        await api_client.get(
            f"/cohorts/{cohort_id}/waiting-list", headers=officers["admin"].headers
        ),
        403, "forbidden",
    )  # fmt: skip


async def test_contributions_due_per_payer(
    api_client: Client,
    officers: dict[str, Officer],
    read_models: ReadModels,
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=5)
    ids = []
    for kecamatan in ("17.08.01", "17.08.02", "17.08.02"):
        registered = await register(api_client, registrar, worker(cohort_id, kecamatan))
        ids.append(registered["resource"]["id"])
    # two members pay for themselves from this month on
    this = Month.of(business_today())
    for pid in ids[:2]:
        funder = await api_client.post(
            f"/participants/{pid}/funder", json={"funder": "mandiri", "from_month": str(this)},
            headers=registrar.headers,
        )  # fmt: skip
        assert funder.json()["events"] == ["FunderChanged"], funder.text

    response = await read_after(
        api_client, f"/cohorts/{cohort_id}/contributions-due", funder.json()["position"],
        officers["finance"], read_models,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(d["payer_kind"], d["payer"]) for d in items] == [
        ("sponsor", cohort_id),
        *sorted(("participant", pid) for pid in ids[:2]),
    ]
    sponsor = items[0]
    assert sponsor["participants"] == 1 and sponsor["as_of"] == business_today().isoformat()
    month_due = contribution_due(1_000_000, ("JKK", "JKM"), Month.parse(sponsor["next_month"]))
    assert sponsor["next_amount"] == month_due.total
    assert all(d["participants"] == 1 for d in items[1:])

    paged = await api_client.get(
        f"/cohorts/{cohort_id}/contributions-due", params={"limit": 1},
        headers=officers["finance"].headers,
    )  # fmt: skip
    second = await api_client.get(
        f"/cohorts/{cohort_id}/contributions-due",
        params={"limit": 5, "cursor": paged.json()["next_cursor"]},
        headers=officers["finance"].headers,
    )  # fmt: skip
    assert paged.json()["items"] + second.json()["items"] == items
    assert second.json()["next_cursor"] is None

    scoped = await api_client.get(
        f"/cohorts/{cohort_id}/contributions-due", headers=officers["auditor@17.08.01"].headers
    )
    assert [d["payer"] for d in scoped.json()["items"]] == [cohort_id, ids[0]]
    assert_problem(
        await api_client.get(
            f"/cohorts/{cohort_id}/contributions-due", headers=officers["admin"].headers
        ),
        403, "forbidden",
    )  # fmt: skip


@pytest.mark.parametrize("path", ["", "/waiting-list", "/contributions-due"])
async def test_reads_of_an_unknown_cohort_are_404(
    api_client: Client, officers: dict[str, Officer], path: str
) -> None:
    response = await api_client.get(
        f"/cohorts/kph{uuid4().hex[:8]}{path}", headers=officers["supervisor"].headers
    )
    assert_problem(response, 404, "not-found")
