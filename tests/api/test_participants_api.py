"""The participants area through HTTP: the real app on PostgreSQL and Redis, read models caught
up by a projection runner in the test (no workers)."""

from __future__ import annotations

import asyncio
import io
import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook

from events.store import Context, EventStore
from services import bootstrap
from services.access import mask_nik, mask_phone
from services.api.common import business_today
from services.api.participants import FunderRequest, LeaveRequest
from services.commands import PayContributions
from services.config import Settings
from services.domain.calendar import Month, due_date
from services.domain.rates import contribution_due
from services.participants import FUNDERS, LEAVING_REASONS
from tests.api.conftest import Officer, worker
from tests.api.test_cohorts_api import (
    Client,
    ReadModels,
    assert_problem,
    events_in,
    field_errors,
    open_cohort,
    read_after,
    register,
)

MONTHLY = contribution_due(1_000_000, ("JKK", "JKM"), Month.of(business_today())).total


@pytest.fixture(scope="module")
async def cohort(api_client: Client, officers: dict[str, Officer]) -> str:
    """An open cohort with room for everyone the module registers into it."""
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=500)
    return cohort_id


async def pay_this_month(
    sealed_store: EventStore, settings: Settings, participant_id: str, reference: str
) -> int:
    """The worker pays this month's contribution now (through the Cashier, as finance would)."""
    cashier = bootstrap.cashier(sealed_store, bootstrap.registrar(settings, sealed_store))
    receipt = await cashier.pay(
        PayContributions(
            reference=reference, payer=participant_id, payer_kind="participant",
            channel="teller", amount=MONTHLY, paid_at=datetime.now(UTC),
            months=[str(Month.of(business_today()))], participant_ids=[participant_id],
        ),
        Context(actor="user:kasir"),
    )  # fmt: skip
    return receipt.position


def unpaid_this_month_status() -> str:
    """A member who has paid nothing is in arrears once this month's due date has passed."""
    today = business_today()
    return "in_arrears" if due_date(Month.of(today)) < today else "active"


# -- registering and reading back ----------------------------------------------------------------


async def test_register_then_read_it_back_by_id_nik_and_kpj(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels, cohort: str
) -> None:
    registrar = officers["registrar"]
    body = worker(cohort)
    result = await register(api_client, registrar, body)
    assert result["events"] == ["ParticipantRegistered", "ParticipantEnrolled", "SlotTaken"]
    participant_id = result["resource"]["id"]
    assert result["resource"]["href"] == f"/participants/{participant_id}"

    # the read waits (bounded) for the read model to reach the command's position
    reading = asyncio.create_task(
        api_client.get(
            f"/participants/{participant_id}?min_position={result['position']}",
            headers=registrar.headers,
        )
    )
    await asyncio.sleep(0.1)
    await read_models()
    response = await reading
    if response.status_code == 503:  # another session held the log back for more than 5 s
        assert_problem(response, 503, "read-model-behind")
        assert response.headers["retry-after"] == "1"
        response = await api_client.get(
            f"/participants/{participant_id}?min_position={result['position']}",
            headers=registrar.headers,
        )
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["participant_id"], found["cohort_id"]) == (participant_id, cohort)
    assert (found["nik"], found["phone"], found["name"]) == (
        body["nik"], body["phone"], body["name"],
    )  # fmt: skip
    assert (found["birth_date"], found["kecamatan"], found["desa"]) == (
        body["birth_date"], body["kecamatan"], body["desa"],
    )  # fmt: skip
    standing = found["standing"]
    assert standing["as_of"] == business_today().isoformat()
    assert standing["status"] == unpaid_this_month_status()
    assert standing["member_since"] == Month.of(business_today()).first_day.isoformat()
    assert found["enrolments"] == [business_today().isoformat()]

    spaced = f"{body['nik'][:6]} {body['nik'][6:12]}.{body['nik'][12:]}"
    by_nik = await api_client.get(f"/participants/by-nik/{spaced}", headers=registrar.headers)
    assert by_nik.status_code == 200, by_nik.text
    assert by_nik.json() == found

    kpj = await api_client.put(
        f"/participants/{participant_id}/kpj", json={"kpj": "25010000123"},
        headers=registrar.headers,
    )  # fmt: skip
    assert kpj.json()["events"] == ["KpjRecorded"]
    same = await api_client.put(
        f"/participants/{participant_id}/kpj", json={"kpj": "25010000123"},
        headers=registrar.headers,
    )  # fmt: skip
    assert same.status_code == 200 and same.json()["events"] == []
    by_kpj = await read_after(
        api_client, "/participants/by-kpj/25010000123", kpj.json()["position"], registrar,
        read_models,
    )  # fmt: skip
    assert (by_kpj.json()["participant_id"], by_kpj.json()["kpj"]) == (
        participant_id,
        "25010000123",
    )


async def test_nik_and_phone_are_masked_for_roles_that_do_not_need_them(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels, cohort: str
) -> None:
    body = worker(cohort)
    result = await register(api_client, officers["registrar"], body)
    await read_models()
    url = f"/participants/{result['resource']['id']}"
    for role in ("registrar", "claim_officer", "supervisor"):
        shown = (await api_client.get(url, headers=officers[role].headers)).json()
        assert (shown["nik"], shown["phone"], shown["birth_date"]) == (
            body["nik"], body["phone"], body["birth_date"],
        ), role  # fmt: skip
    for role in ("finance", "auditor"):
        shown = (await api_client.get(url, headers=officers[role].headers)).json()
        assert (shown["nik"], shown["phone"], shown["birth_date"]) == (
            mask_nik(body["nik"]), mask_phone(body["phone"]), None,
        ), role  # fmt: skip
        assert shown["nik"].startswith("1708") and "*" in shown["nik"]
        by_nik = await api_client.get(
            f"/participants/by-nik/{body['nik']}", headers=officers[role].headers
        )
        assert by_nik.json()["nik"] == mask_nik(body["nik"])
    assert_problem(await api_client.get(url, headers=officers["admin"].headers), 403, "forbidden")


async def test_registering_the_same_nik_twice_is_a_conflict_naming_the_first(
    api_client: Client, officers: dict[str, Officer], cohort: str, api_store: EventStore
) -> None:
    body = worker(cohort)
    first = await register(api_client, officers["registrar"], body)
    again = await api_client.post(
        "/participants", json=body | {"name": "Orang Lain"}, headers=officers["registrar"].headers
    )
    problem = assert_problem(again, 409, "duplicate")
    assert first["resource"]["id"] in problem["detail"]
    assert await events_in(api_store, f"participant-{first['resource']['id']}") == 2


async def test_a_full_cohort_puts_registrations_on_the_waiting_list(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=1)
    await register(api_client, registrar, worker(cohort_id))
    waiting = await register(api_client, registrar, worker(cohort_id))
    assert waiting["events"] == [
        "ParticipantRegistered", "ParticipantWaitlisted", "WaitlistJoined"
    ]  # fmt: skip
    found = await read_after(
        api_client, waiting["resource"]["href"], waiting["position"], registrar, read_models
    )
    assert found.json()["standing"]["status"] == "waitlisted"
    assert found.json()["standing"]["waitlist_position"] == 1
    coverage = await api_client.get(
        f"{waiting['resource']['href']}/coverage", params={"on": business_today().isoformat()},
        headers=registrar.headers,
    )  # fmt: skip
    assert coverage.json()["covered"] is False
    assert coverage.json()["reason"] == "not_a_member"


async def test_an_idempotency_key_gives_the_first_answer_and_no_second_event(
    api_client: Client, officers: dict[str, Officer], cohort: str, api_store: EventStore
) -> None:
    body = worker(cohort)
    headers = officers["registrar"].headers | {"Idempotency-Key": f"daftar-{body['nik']}"}
    first = await api_client.post("/participants", json=body, headers=headers)
    again = await api_client.post("/participants", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    stream = f"participant-{first.json()['resource']['id']}"
    assert await events_in(api_store, stream) == 2
    other = await api_client.post("/participants", json=body | {"priority": True}, headers=headers)
    assert_problem(other, 422, "idempotency-key-reused")

    leave = {"reason": "withdrawal", "left_on": business_today().isoformat()}
    url = f"/participants/{first.json()['resource']['id']}/leave"
    key = officers["registrar"].headers | {"Idempotency-Key": f"keluar-{body['nik']}"}
    left = await api_client.post(url, json=leave, headers=key)
    left_again = await api_client.post(url, json=leave, headers=key)
    assert left.status_code == left_again.status_code == 200
    assert left.json() == left_again.json()
    assert await events_in(api_store, stream) == 3


# -- refusals ------------------------------------------------------------------------------------


async def test_invalid_registrations_name_every_field(
    api_client: Client, officers: dict[str, Officer], cohort: str
) -> None:
    headers = officers["registrar"].headers
    body = worker(cohort)

    async def refused(changes: dict[str, Any]) -> set[str]:
        response = await api_client.post("/participants", json=body | changes, headers=headers)
        return field_errors(assert_problem(response, 422, "validation-failed"))

    assert await refused({"nik": body["nik"][:15]}) == {"nik"}
    assert await refused({"nik": body["nik"][:8] + "13" + body["nik"][10:]}) == {"nik"}
    wrong_birth = (datetime.fromisoformat(body["birth_date"]) + timedelta(days=1)).date()
    assert await refused({"birth_date": wrong_birth.isoformat()}) == {"birth_date"}
    assert await refused({"sex": "P" if body["sex"] == "L" else "L"}) == {"sex"}
    assert await refused({"kecamatan": "17.08.99", "desa": "17.08.99.2001"}) == {
        "kecamatan", "desa"
    }  # fmt: skip
    assert await refused({"desa": "17.08.02.2001"}) == {"desa"}
    assert await refused(
        {"phone": "12345", "occupation": "astronot", "declared_income": 999_999, "name": " "}
    ) == {"phone", "occupation", "declared_income", "name"}
    for wrong in (
        {"sex": "X"}, {"birth_date": "1985-02-30"}, {"declared_income": 10**20},
        {"nik": 1708}, {"extra": 1}, {"name": "a\u0000b"}, {"cohort_id": "no-dashes"},
    ):  # fmt: skip
        response = await api_client.post("/participants", json=body | wrong, headers=headers)
        assert response.status_code == 400, (wrong, response.text)
    unknown = await api_client.post(
        "/participants", json=body | {"cohort_id": "nosuchcohort"}, headers=headers
    )
    assert_problem(unknown, 404, "not-found")


async def test_changes_that_the_state_does_not_allow(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=1)
    member = (await register(api_client, registrar, worker(cohort_id)))["resource"]["href"]
    waiting = (await register(api_client, registrar, worker(cohort_id)))["resource"]["href"]
    today = business_today().isoformat()

    rejoin_member = await api_client.post(f"{member}/rejoin", headers=registrar.headers)
    assert_problem(rejoin_member, 409, "illegal-transition")
    leave_waiting = await api_client.post(
        f"{waiting}/leave", json={"reason": "withdrawal", "left_on": today},
        headers=registrar.headers,
    )  # fmt: skip
    assert_problem(leave_waiting, 409, "illegal-transition")
    bad_kpj = await api_client.put(f"{member}/kpj", json={"kpj": "12"}, headers=registrar.headers)
    assert field_errors(assert_problem(bad_kpj, 422, "validation-failed")) == {"kpj"}
    bad_month = await api_client.post(
        f"{member}/funder", json={"funder": "mandiri", "from_month": "2026-13"},
        headers=registrar.headers,
    )  # fmt: skip
    assert field_errors(assert_problem(bad_month, 422, "validation-failed")) == {"from_month"}

    left = await api_client.post(
        f"{member}/leave", json={"reason": "moved_away", "left_on": today},
        headers=registrar.headers,
    )  # fmt: skip
    assert left.json()["events"] == [
        "ParticipantLeft", "SlotFreed", "PromotedFromWaitlist", "ParticipantEnrolled"
    ]  # fmt: skip
    twice = await api_client.post(
        f"{member}/leave", json={"reason": "moved_away", "left_on": today},
        headers=registrar.headers,
    )  # fmt: skip
    assert_problem(twice, 409, "illegal-transition")
    funder_after_leaving = await api_client.post(
        f"{member}/funder", json={"funder": "mandiri", "from_month": "2026-12"},
        headers=registrar.headers,
    )  # fmt: skip
    assert_problem(funder_after_leaving, 409, "illegal-transition")

    rejoined = await api_client.post(f"{member}/rejoin", headers=registrar.headers)
    assert rejoined.json()["events"] == [
        "ParticipantWaitlisted", "WaitlistJoined"
    ], rejoined.text  # the slot went to the next in line  # fmt: skip
    shown = await read_after(api_client, waiting, left.json()["position"], registrar, read_models)
    assert shown.json()["standing"]["status"] in ("active", "in_arrears")
    again = await api_client.get(
        f"{member}?min_position={rejoined.json()['position']}", headers=registrar.headers
    )
    assert again.json()["standing"]["status"] == "waitlisted"


async def test_unknown_and_malformed_participants(
    api_client: Client, officers: dict[str, Officer]
) -> None:
    headers = officers["supervisor"].headers
    unknown = "00000000-0000-5000-8000-000000000000"
    for path in ("", "/coverage?on=2026-01-01", "/contributions"):
        assert_problem(
            await api_client.get(f"/participants/{unknown}{path}", headers=headers), 404,
            "not-found",
        )  # fmt: skip
    writer = officers["registrar"].headers
    assert_problem(
        await api_client.post(f"/participants/{unknown}/rejoin", headers=writer), 404,
        "not-found",
    )  # fmt: skip
    assert (await api_client.get("/participants/not-a-uuid", headers=headers)).status_code == 400
    never = "1708014107850001"
    assert_problem(
        await api_client.get(f"/participants/by-nik/{never}", headers=headers), 404, "not-found"
    )
    invalid = await api_client.get("/participants/by-nik/1708019907850001", headers=headers)
    assert field_errors(assert_problem(invalid, 422, "validation-failed")) == {"nik"}
    assert_problem(
        await api_client.get("/participants/by-kpj/99999999999", headers=headers), 404,
        "not-found",
    )  # fmt: skip
    no_date = await api_client.get(f"/participants/{unknown}/coverage", headers=headers)
    assert no_date.status_code == 400
    odd_date = await api_client.get(
        f"/participants/{unknown}/coverage", params={"on": "2026-02-30"}, headers=headers
    )
    assert odd_date.status_code == 400


# -- kecamatan scope -----------------------------------------------------------------------------


async def test_a_scoped_user_sees_and_changes_only_their_kecamatan(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels, cohort: str
) -> None:
    scoped = officers["registrar@17.08.01"]
    mine = await register(api_client, scoped, worker(cohort, "17.08.01"))
    outside = await api_client.post(
        "/participants", json=worker(cohort, "17.08.02"), headers=scoped.headers
    )
    assert_problem(outside, 403, "out-of-scope")
    theirs = await register(api_client, officers["registrar"], worker(cohort, "17.08.02"))
    await read_models()

    assert (
        await api_client.get(mine["resource"]["href"], headers=scoped.headers)
    ).status_code == 200
    for path in ("", "/contributions", "/coverage?on=2026-01-01"):
        response = await api_client.get(theirs["resource"]["href"] + path, headers=scoped.headers)
        assert_problem(response, 404, "not-found")
    change = await api_client.put(
        f"{theirs['resource']['href']}/kpj", json={"kpj": "25010009999"}, headers=scoped.headers
    )
    assert_problem(change, 404, "not-found")
    listed = await api_client.get(
        "/participants", params={"cohort_id": cohort, "limit": 200},
        headers=officers["auditor@17.08.01"].headers,
    )  # fmt: skip
    ids = {p["participant_id"] for p in listed.json()["items"]}
    assert mine["resource"]["id"] in ids and theirs["resource"]["id"] not in ids
    assert {p["kecamatan"] for p in listed.json()["items"]} == {"17.08.01"}


# -- search --------------------------------------------------------------------------------------


async def test_search_pages_by_cursor_without_repeats_or_gaps(
    api_client: Client,
    officers: dict[str, Officer],
    read_models: ReadModels,
    sealed_store: EventStore,
    api_settings: Settings,
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=6)
    ids = []
    for n in range(8):
        kecamatan = "17.08.03" if n % 2 else "17.08.04"
        body = worker(cohort_id, kecamatan, name=f"Budi Santoso {n}" if n < 3 else f"Wati {n}")
        ids.append((await register(api_client, registrar, body))["resource"]["id"])
    members, waiting = ids[:6], ids[6:]
    await pay_this_month(sealed_store, api_settings, members[0], f"BPU-{members[0]}")
    left = await api_client.post(
        f"/participants/{members[1]}/leave",
        json={"reason": "death", "left_on": business_today().isoformat()},
        headers=registrar.headers,
    )  # fmt: skip
    assert "PromotedFromWaitlist" in left.json()["events"]
    members, waiting = [members[0], *members[2:], waiting[0]], waiting[1:]
    await read_models()

    async def walk(**query: object) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            params = {"cohort_id": cohort_id, "limit": 2, **query}
            response = await api_client.get(
                "/participants", params=params | ({"cursor": cursor} if cursor else {}),
                headers=officers["finance"].headers,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 2
            found += [p["participant_id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    everyone = await walk()
    assert everyone == sorted(ids) and len(set(everyone)) == len(ids)
    assert await walk(name="budi santoso") == sorted([i for i in ids[:3]])
    assert await walk(name="%") == []  # wildcards are taken literally
    assert await walk(kecamatan="170803") == sorted(ids[1::2])
    assert await walk(status="deceased") == [ids[1]]
    assert await walk(status="waitlisted") == sorted(waiting)
    unpaid = sorted(members[1:])
    expected = {"active": sorted([members[0]]), "in_arrears": []}
    expected[unpaid_this_month_status()] = sorted(expected[unpaid_this_month_status()] + unpaid)
    assert await walk(status="active") == expected["active"]
    assert await walk(status="in_arrears") == expected["in_arrears"]
    assert await walk(status="membership_ended") == []
    a_desa = (await api_client.get(f"/participants/{ids[0]}", headers=registrar.headers)).json()
    assert ids[0] in await walk(desa=a_desa["desa"])

    shown = await api_client.get(
        "/participants", params={"cohort_id": cohort_id, "status": "deceased"},
        headers=officers["finance"].headers,
    )  # fmt: skip
    assert shown.json()["items"][0]["standing"]["status"] == "deceased"
    for wrong in ({"status": "asleep"}, {"limit": 201}, {"limit": 0}, {"cursor": "%%%"},
                  {"name": ""}, {"name": "x\u0000"}):  # fmt: skip
        response = await api_client.get(
            "/participants", params=wrong, headers=officers["finance"].headers
        )
        assert response.status_code == 400, (wrong, response.text)


# -- coverage and contributions ------------------------------------------------------------------


async def test_coverage_and_contributions_from_the_read_model(
    api_client: Client,
    officers: dict[str, Officer],
    read_models: ReadModels,
    sealed_store: EventStore,
    api_settings: Settings,
    cohort: str,
) -> None:
    registrar = officers["registrar"]
    payer = (await register(api_client, registrar, worker(cohort)))["resource"]["id"]
    position = await pay_this_month(sealed_store, api_settings, payer, f"BPU-{payer}")
    today = business_today()
    this = Month.of(today)

    contributions = await read_after(
        api_client, f"/participants/{payer}/contributions", position, officers["finance"],
        read_models,
    )  # fmt: skip
    assert contributions.status_code == 200, contributions.text
    found = contributions.json()
    assert found["standing"]["status"] == "active"
    months = {m["month"]: m for m in found["months"]}
    assert months[str(this)]["amount_paid"] == MONTHLY
    late = due_date(this) < today
    assert months[str(this)]["status"] == ("paid_late" if late else "paid_on_time")
    assert [p["reference"] for p in found["payments"]] == [f"BPU-{payer}"]
    assert found["payments"][0]["amount"] == MONTHLY and found["credit"] == 0

    on_today = await api_client.get(
        f"/participants/{payer}/coverage", params={"on": today.isoformat()},
        headers=officers["claim_officer"].headers,
    )  # fmt: skip
    covered = on_today.json()
    assert covered["month"] == str(this) and covered["period"] == 1
    assert covered["payment_reference"] == f"BPU-{payer}"
    if late:  # paid today, after the due date: today is not covered, tomorrow is
        assert (covered["covered"], covered["reason"]) == (False, "paid_after_day")
    else:
        assert (covered["covered"], covered["reason"]) == (True, "paid_on_time")
    before = await api_client.get(
        f"/participants/{payer}/coverage", params={"on": "2020-01-01"},
        headers=officers["claim_officer"].headers,
    )  # fmt: skip
    assert (before.json()["covered"], before.json()["reason"]) == (False, "not_a_member")
    assert before.json()["explanation"]


# -- imports -------------------------------------------------------------------------------------

HEADER = "nik,nama,tanggal_lahir,jenis_kelamin,no_hp,kecamatan,desa,pekerjaan,penghasilan"


def csv_row(body: dict[str, Any], **changes: str) -> str:
    born = datetime.fromisoformat(body["birth_date"])
    cells = {
        "nik": body["nik"], "nama": body["name"], "tanggal_lahir": f"{born:%d/%m/%Y}",
        "jenis_kelamin": body["sex"], "no_hp": body["phone"], "kecamatan": body["kecamatan"],
        "desa": body["desa"], "pekerjaan": body["occupation"], "penghasilan": "Rp1.000.000",
    } | changes  # fmt: skip
    return ",".join(cells[c] for c in HEADER.split(","))


async def test_import_a_spreadsheet_and_report_every_refused_row(
    api_client: Client, officers: dict[str, Officer], read_models: ReadModels, api_store: EventStore
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=2)
    bodies = [worker(cohort_id) for _ in range(4)]
    lines = [HEADER, *(csv_row(b) for b in bodies[:3]),
             csv_row(bodies[3], nik="123", penghasilan="banyak")]  # fmt: skip
    content = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
    files = {"file": ("daftar.csv", content, "text/csv")}
    url, form = "/participants/imports", {"cohort_id": cohort_id}
    key = registrar.headers | {"Idempotency-Key": f"impor-{cohort_id}"}

    response = await api_client.post(url, data=form, files=files, headers=key)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["enrolled"], report["waitlisted"]) == (4, 2, 1)
    assert report["already_registered"] == 0
    (rejected,) = report["rejected"]
    assert rejected["row"] == 5 and "*" in rejected["nik"]
    assert {e["field"] for e in rejected["errors"]} == {"penghasilan"}
    replay = await api_client.post(url, data=form, files=files, headers=key)
    assert replay.json() == report
    assert await events_in(api_store, f"cohort-{cohort_id}") == 2 + 3

    rerun = await api_client.post(url, data=form, files=files, headers=registrar.headers)
    assert (rerun.json()["already_registered"], rerun.json()["enrolled"]) == (3, 0)
    assert rerun.json()["position"] == 0
    listed = await read_after(
        api_client, f"/participants?cohort_id={cohort_id}", report["position"], registrar,
        read_models,
    )  # fmt: skip
    assert sorted(p["nik"] for p in listed.json()["items"]) == sorted(b["nik"] for b in bodies[:3])

    sheet = Workbook()
    rows = sheet.active
    assert rows is not None
    rows.append(HEADER.split(","))
    extra = worker(cohort_id)
    rows.append(csv_row(extra).split(","))
    xlsx = io.BytesIO()
    sheet.save(xlsx)
    from_excel = await api_client.post(
        url, data=form, headers=registrar.headers,
        files={"file": ("daftar.xlsx", xlsx.getvalue(), "application/octet-stream")},
    )  # fmt: skip
    assert from_excel.status_code == 200, from_excel.text
    assert (from_excel.json()["rows"], from_excel.json()["waitlisted"]) == (1, 1)


async def test_an_unreadable_list_registers_nobody(
    api_client: Client, officers: dict[str, Officer], api_store: EventStore
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=5)
    url, form = "/participants/imports", {"cohort_id": cohort_id}
    no_income = HEADER.rsplit(",", 1)[0] + "\n" + csv_row(worker(cohort_id)).rsplit(",", 1)[0]
    for name, content in (
        ("daftar.csv", no_income.encode()),
        ("daftar.xlsx", b"not a zip file"),
        ("daftar.csv", b"\xff\xfe\x00n\x00i\x00k"),
    ):
        response = await api_client.post(
            url, data=form, files={"file": (name, content)}, headers=registrar.headers
        )
        assert_problem(response, 422, "unreadable-file")
    outside = "\n".join([HEADER, csv_row(worker(cohort_id, "17.08.02"))]).encode()
    scoped = await api_client.post(
        url, data=form, files={"file": ("daftar.csv", outside)},
        headers=officers["registrar@17.08.01"].headers,
    )  # fmt: skip
    assert "row 2" in assert_problem(scoped, 403, "out-of-scope")["detail"]
    bad_cohort = await api_client.post(
        url, data={"cohort_id": "no/such"}, files={"file": ("d.csv", outside)},
        headers=registrar.headers,
    )  # fmt: skip
    assert_problem(bad_cohort, 400, "invalid-request")
    as_field = (
        b'--b\r\nContent-Disposition: form-data; name="cohort_id"\r\n\r\n' + cohort_id.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n\x89PNG\r\n--b--\r\n'
    )  # fmt: skip
    not_a_file = await api_client.post(
        url, content=as_field,
        headers=registrar.headers | {"Content-Type": "multipart/form-data; boundary=b"},
    )  # fmt: skip
    assert_problem(not_a_file, 400, "invalid-request")
    assert await events_in(api_store, f"cohort-{cohort_id}") == 2
    finance = await api_client.post(
        url, data=form, files={"file": ("d.csv", outside)}, headers=officers["finance"].headers
    )
    assert_problem(finance, 403, "forbidden")


def test_the_bodies_list_what_the_write_side_accepts() -> None:
    """The enums in the OpenAPI document are the write side's own lists."""

    def choices(struct: type, field: str) -> set[str]:
        annotated = typing.get_type_hints(struct, include_extras=True)[field]
        return set(typing.get_args(typing.get_args(annotated)[0]))

    assert choices(LeaveRequest, "reason") == set(LEAVING_REASONS)
    assert choices(FunderRequest, "funder") == set(FUNDERS)
