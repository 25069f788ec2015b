"""POST /participants/{id}/leave refuses a leaving dated after today (Asia/Jakarta) or before
the current enrolment was made: 422 validation-failed naming left_on, nothing recorded; the
pages say it in Indonesian. A worker whose membership starts later (registered before the
cohort's cover starts) may leave before it starts: the slot goes to the next in line.
Through the real app (services/api is not changed here)."""

from __future__ import annotations

from datetime import timedelta

from events.catalog import ParticipantEnrolled, ParticipantLeft
from events.store import EventStore
from services.api.common import business_today
from services.domain.calendar import Month
from services.web.client import ApiRefused
from services.web.wording import refusal
from tests.api.conftest import Officer, worker
from tests.api.test_cohorts_api import (
    Client,
    ReadModels,
    assert_problem,
    cohort_body,
    events_in,
    open_cohort,
    read_after,
    register,
)


async def test_a_leaving_dated_after_today_or_before_the_membership_is_refused(
    api_client: Client, officers: dict[str, Officer], api_store: EventStore
) -> None:
    registrar = officers["registrar"]
    cohort_id, _ = await open_cohort(api_client, officers["admin"], quota=2)
    member = (await register(api_client, registrar, worker(cohort_id)))["resource"]
    stream = f"participant-{member['id']}"
    before = await events_in(api_store, stream)
    today = business_today()  # the cohort's coverage started this month: enrolled today

    async def leave(day: str) -> dict[str, object]:
        response = await api_client.post(
            f"{member['href']}/leave", json={"reason": "withdrawal", "left_on": day},
            headers=registrar.headers,
        )  # fmt: skip
        return assert_problem(response, 422, "validation-failed")

    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    ahead = await leave(tomorrow.isoformat())
    assert ahead["errors"] == [
        {"field": "left_on", "reason": f"{tomorrow} is after today, {today}"}
    ]
    early = await leave(yesterday.isoformat())
    assert early["errors"] == [
        {"field": "left_on",
         "reason": f"{yesterday} is before the current enrolment, made on {today}"}
    ]  # fmt: skip
    assert await events_in(api_store, stream) == before  # nothing recorded

    said = refusal(ApiRefused(422, ahead))
    assert "sesudah hari ini" in said and "tanggal keluar" in said.lower()
    assert "after today" not in said
    said = refusal(ApiRefused(422, early))
    assert "lebih awal dari tanggal pendaftaran kepesertaan yang sekarang" in said

    left = await api_client.post(
        f"{member['href']}/leave", json={"reason": "withdrawal", "left_on": today.isoformat()},
        headers=registrar.headers,
    )  # fmt: skip
    assert left.status_code == 200, left.text
    assert left.json()["events"][0] == "ParticipantLeft"


async def test_registered_before_the_cover_starts_a_worker_leaves_and_the_next_is_promoted(
    api_client: Client, officers: dict[str, Officer], api_store: EventStore,
    read_models: ReadModels,
) -> None:  # fmt: skip
    # Given a cohort of one whose cover starts on the first of next month, a worker registered
    # today who took the slot (their membership starts then) and one who waits,
    registrar = officers["registrar"]
    today = business_today()
    starts = Month.of(today) + 1
    body = cohort_body(
        quota=1, coverage_start=starts.first_day.isoformat(),
        coverage_end=(starts + 2).last_day.isoformat(),
    )  # fmt: skip
    created = await api_client.post("/cohorts", json=body, headers=officers["admin"].headers)
    assert created.status_code == 201, created.text
    opened = await api_client.post(
        f"/cohorts/{body['cohort_id']}/open", headers=officers["admin"].headers
    )
    assert opened.status_code == 200, opened.text
    member = (await register(api_client, registrar, worker(body["cohort_id"])))["resource"]
    waiting = (await register(api_client, registrar, worker(body["cohort_id"])))["resource"]
    # when the member gets a formal job today, before their membership starts,
    left = await api_client.post(
        f"{member['href']}/leave", json={"reason": "formal_employee", "left_on": str(today)},
        headers=registrar.headers,
    )  # fmt: skip
    # then the leaving is recorded, naming the membership it cancels, the slot frees and the
    # worker who waited is promoted, their membership starting when the cover does;
    assert left.status_code == 200, left.text
    assert left.json()["events"] == [
        "ParticipantLeft", "SlotFreed", "PromotedFromWaitlist", "ParticipantEnrolled"
    ]  # fmt: skip
    (leaving,) = [r.data for r in await api_store.read_stream(f"participant-{member['id']}")
                  if isinstance(r.data, ParticipantLeft)]  # fmt: skip
    assert (leaving.left_on, leaving.enrolled_on) == (today, starts.first_day)
    promoted = (await api_store.read_stream(f"participant-{waiting['id']}"))[-1].data
    assert isinstance(promoted, ParticipantEnrolled)
    assert (promoted.enrolled_on, promoted.decided_on) == (starts.first_day, today)
    # the read model shows the leaver left, never a member, and the next one enrolled.
    gone = await read_after(api_client, member["href"], left.json()["position"], registrar,
                            read_models)  # fmt: skip
    assert gone.json()["standing"]["status"] == "left"
    assert gone.json()["standing"]["member_since"] is None
    covered = await api_client.get(
        f"{member['href']}/coverage?on={starts.first_day}", headers=registrar.headers
    )
    assert covered.status_code == 200, covered.text
    assert covered.json()["covered"] is False and covered.json()["period"] is None
    shown = await api_client.get(waiting["href"], headers=registrar.headers)
    assert shown.json()["standing"]["status"] == "active"
    assert shown.json()["enrolled_on"] == starts.first_day.isoformat()
