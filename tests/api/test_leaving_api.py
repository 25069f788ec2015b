"""POST /participants/{id}/leave refuses a leaving dated after today (Asia/Jakarta) or before
the current membership started: 422 validation-failed naming left_on, nothing recorded; the
pages say it in Indonesian. Through the real app (services/api is not changed here)."""

from __future__ import annotations

from datetime import timedelta

from events.store import EventStore
from services.api.common import business_today
from services.web.client import ApiRefused
from services.web.wording import refusal
from tests.api.conftest import Officer, worker
from tests.api.test_cohorts_api import Client, assert_problem, events_in, open_cohort, register


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
         "reason": f"{yesterday} is before the current membership started on {today}"}
    ]  # fmt: skip
    assert await events_in(api_store, stream) == before  # nothing recorded

    said = refusal(ApiRefused(422, ahead))
    assert "sesudah hari ini" in said and "tanggal keluar" in said.lower()
    assert "after today" not in said
    said = refusal(ApiRefused(422, early))
    assert "lebih awal dari awal kepesertaan yang sekarang" in said

    left = await api_client.post(
        f"{member['href']}/leave", json={"reason": "withdrawal", "left_on": today.isoformat()},
        headers=registrar.headers,
    )  # fmt: skip
    assert left.status_code == 200, left.text
    assert left.json()["events"][0] == "ParticipantLeft"
