"""The audit endpoints against the real write side, PostgreSQL and Redis: a stream's events with
their envelope and masking by role, a participant's and a claim's state as of a business date and
as known at an instant, the chain check (and a tampered event it names), the streamed export,
and the audit timeline."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from events.store import Context, EventStore
from services import bootstrap
from services.access import BIRTH_DATE_MASK, Principal, Role, mask_nik, mask_phone
from services.api import audit
from services.api.common import encode_cursor
from services.claim_decider import jkk_claim_id
from services.claims import ClaimsDesk
from services.commands import (
    AssignClaim,
    ChangeFunder,
    ReceiveClaimDocument,
    ReportAccident,
    ReportAccidentOutcome,
    ReversePayment,
    StartVerification,
    SubmitClaim,
)
from services.config import Settings
from services.contributions import Cashier
from services.domain.policy import DEFAULT_POLICY
from services.registration import Registrar
from services.streams import participant_stream
from services.users import CreateUser
from tests.api.conftest import OFFICER_PASSWORD, Officer
from tests.api.test_auth_api import assert_problem
from tests.events.test_tamper import superuser_write
from tests.projections.test_claims import CHRONOLOGY, PLACE, WITNESSES, checklist, wib
from tests.services.conftest import make_registrar, open_cohort
from tests.services.test_contributions import block
from tests.services.workers import worker

Client = AsyncTestClient[Litestar]

REGISTERED_ON, PAID_ON, REVERSED_ON = date(2025, 10, 6), date(2025, 10, 10), date(2025, 11, 20)
ACCIDENT_ON, DOCUMENTS_COMPLETE_ON = date(2025, 11, 20), date(2025, 11, 28)


class History(NamedTuple):
    """A worker of kecamatan 17.08.01 enrolled on 6 October 2025, whose October to December
    the cohort paid on 10 October and the bank bounced on 20 November, with a JKK claim."""

    participant_id: str
    nik: str
    phone: str
    birth_date: str
    """ISO, as the registration records it."""
    payment_known_at: datetime
    """Recorded after the payment and before the reversal."""
    before_payment: datetime
    claim_id: str
    claim_submitted_known_at: datetime
    other_participant_id: str
    """Someone of another kecamatan."""


def at(day: date) -> Context:
    return Context(actor="admin:dinsos", occurred_at=wib(day))


async def recorded_now(store: EventStore) -> datetime:
    """An instant the database has passed: what was recorded by now is known at it."""
    now: datetime = await store.pool.fetchval("SELECT clock_timestamp()")
    await asyncio.sleep(0.01)
    return now


def officer(day: date) -> Context:
    return Context(actor="user:ani", occurred_at=wib(day))


async def dated_claim(desk: ClaimsDesk, participant_id: str) -> str:
    """A work accident on ACCIDENT_ON, reported the next day; Stage II (the JKK claim) six days
    after, assigned and submitted with every document but the last, which comes in on
    DOCUMENTS_COMPLETE_ON: each step happening on its day."""
    accident_id = str(uuid4())
    await desk.report_accident(
        ReportAccident(
            accident_id=accident_id, participant_id=participant_id,
            occurred_at=wib(ACCIDENT_ON, 8), kind="at_work", place=PLACE, chronology=CHRONOLOGY,
            witnesses=WITNESSES, reported_at=wib(ACCIDENT_ON + timedelta(days=1)),
        ),
        officer(ACCIDENT_ON + timedelta(days=1)),
    )  # fmt: skip
    stage_two = ACCIDENT_ON + timedelta(days=6)
    await desk.report_outcome(
        ReportAccidentOutcome(
            accident_id=accident_id, doctor_statement_at=wib(ACCIDENT_ON + timedelta(days=5)),
            outcome="partial_disability", reported_at=wib(stage_two), disability_percent=10,
        ),
        officer(stage_two),
    )  # fmt: skip
    claim_id = jkk_claim_id(accident_id)
    await desk.handle(AssignClaim(claim_id, "user:ani"), officer(stage_two))
    *first, last = checklist()
    for document, day in [(d, stage_two) for d in first] + [(last, DOCUMENTS_COMPLETE_ON)]:
        received = ReceiveClaimDocument(
            claim_id=claim_id, document=document, reference=f"arsip/{document}",
            received_at=wib(day),
        )  # fmt: skip
        await desk.handle(received, officer(day))
        if document == first[-1]:  # submitted while the last is missing: it waits for it
            await desk.handle(SubmitClaim(claim_id), officer(stage_two))
    return claim_id


@pytest.fixture(scope="module")
async def history(sealed_store: EventStore) -> History:
    registrar: Registrar = make_registrar(sealed_store)
    cohort_id = await open_cohort(registrar, at(date(2025, 10, 1)), quota=2)
    n = random.randrange(2_000_000, 9_000_000)
    person = next(w for w in map(worker, [cohort_id] * 500, range(n, n + 500))
                  if w.kecamatan == "17.08.01")  # fmt: skip
    other = next(w for w in map(worker, [cohort_id] * 500, range(n, n + 500))
                 if w.kecamatan != "17.08.01")  # fmt: skip
    member = (await registrar.register(person, at(REGISTERED_ON))).participant_id
    elsewhere = (await registrar.register(other, at(REGISTERED_ON))).participant_id
    reference = f"BPD-AUDIT-{uuid4().hex[:10]}"
    cashier = Cashier(sealed_store, registrar, DEFAULT_POLICY)
    before_payment = await recorded_now(sealed_store)
    await cashier.pay(block(cohort_id, 2 * 3 * 16_800, reference), at(PAID_ON))
    payment_known_at = await recorded_now(sealed_store)
    await cashier.reverse(ReversePayment(reference, "transfer ditolak bank"), at(REVERSED_ON))

    desk = ClaimsDesk(sealed_store, registrar, DEFAULT_POLICY)
    claim_id = await dated_claim(desk, member)
    submitted_known_at = await recorded_now(sealed_store)
    await desk.handle(StartVerification(claim_id), officer(date(2025, 12, 1)))
    return History(
        member, person.nik, person.phone, person.birth_date.isoformat(), payment_known_at,
        before_payment,
        claim_id, submitted_known_at, elsewhere,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def clear_auditor(api_store: EventStore) -> Officer:
    """An auditor who is also a registrar: may see personal data in clear."""
    accounts = bootstrap.accounts(Settings(), api_store)
    username = f"auditreg{uuid4().hex[:8]}"
    command = CreateUser(username=username, display_name="Audit", roles=["auditor", "registrar"])
    operator = Principal("operator", frozenset({Role.ADMIN}))
    await accounts.create(command, OFFICER_PASSWORD, operator, Context(actor="admin:operator"))
    return Officer(username, (await accounts.login(username, OFFICER_PASSWORD)).token)


async def get_json(client: Client, officer: Officer, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=officer.headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- a stream's events ---------------------------------------------------------------------------


async def test_a_streams_events_with_their_envelope_masked_for_the_auditor(
    api_client: Client,
    officers: dict[str, Officer],
    clear_auditor: Officer,
    history: History,
    sealed_store: EventStore,
) -> None:
    stream = participant_stream(history.participant_id)
    body = await get_json(api_client, officers["auditor"], f"/audit/streams/{stream}/events")
    recorded = await sealed_store.read_stream(stream)
    assert [e["type"] for e in body["items"]] == [r.type for r in recorded]
    assert body["next_cursor"] is None
    first, raw = body["items"][0], recorded[0]
    assert first["type"] == "ParticipantRegistered"
    assert (first["position"], first["version"], first["actor"]) == (raw.position, 1, raw.actor)
    assert first["occurred_at"] == wib(REGISTERED_ON).isoformat().replace("+00:00", "Z")
    assert first["hash"] == raw.hash.hex() and first["prev_hash"] is None
    assert body["items"][1]["prev_hash"] == first["hash"]
    assert first["correlation_id"] == str(raw.correlation_id)
    assert first["data"]["nik"] == mask_nik(history.nik) != history.nik
    assert first["data"]["phone"] == mask_phone(history.phone)
    assert first["data"]["birth_date"] == BIRTH_DATE_MASK
    # names and region codes are shown, as the participants API shows them to the auditor
    assert first["data"]["name"] == raw.data.name
    assert first["data"]["kecamatan"] == "17.08.01"
    assert "type" not in first["data"]

    clear = await get_json(api_client, clear_auditor, f"/audit/streams/{stream}/events")
    assert clear["items"][0]["data"]["nik"] == history.nik
    assert clear["items"][0]["data"]["phone"] == history.phone
    assert clear["items"][0]["data"]["birth_date"] == history.birth_date


def personal_values(history: History) -> list[str]:
    """What of the participant must never show in clear to a role without the right: the NIK,
    the phone, the birth date as recorded, written the Indonesian way, and in the NIK's middle
    digits (district and DDMMYY)."""
    born = date.fromisoformat(history.birth_date)
    return [history.nik, history.phone, history.birth_date, history.nik[4:12],
            f"{born:%d/%m/%Y}"]  # fmt: skip


async def test_an_auditor_sees_no_nik_birth_date_or_phone_anywhere_in_the_audit(
    api_client: Client,
    officers: dict[str, Officer],
    clear_auditor: Officer,
    history: History,
    read_models: Callable[[], Awaitable[None]],
    sealed_store: EventStore,
) -> None:
    """Given a registered participant with a claim, when the auditor (no personal-data right)
    reads their stream, their state as of a date and as known at an instant, their claim's
    accident and the JSONL and CSV exports, then no NIK, birth date or phone is in clear; a role
    with the right sees them in the same places."""
    await read_models()
    head = await sealed_store.head()
    auditor = officers["auditor"]
    stream = participant_stream(history.participant_id)
    claim = await get_json(api_client, auditor, f"/audit/claims/{history.claim_id}/state")
    accident = f"accident-{claim['accident_id']}"
    state = f"/audit/participants/{history.participant_id}/state"
    answers = [
        await api_client.get(url, params=params, headers=auditor.headers)
        for url, params in (
            (f"/audit/streams/{stream}/events", {}),
            (f"/audit/streams/{accident}/events", {}),
            (state, {}),
            (state, {"as_of": "2025-10-31", "known_at": history.payment_known_at.isoformat()}),
            ("/audit/export", {"stream_id": stream}),
            ("/audit/export", {"stream_id": stream, "format": "csv"}),
            ("/audit/export", {"stream_id": accident, "format": "csv"}),
            (f"/audit/timeline/participant/{history.participant_id}", {"min_position": head}),
        )
    ]
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text[:300] for a in answers]
    for answer in answers:
        leaked = [v for v in personal_values(history) if v in answer.text]
        assert not leaked, (str(answer.url), leaked)
        assert "081277788899" not in answer.text  # the witness's phone
    exported = answers[4].text + answers[5].text
    assert exported.count(BIRTH_DATE_MASK) == 2 and exported.count(mask_nik(history.nik)) == 2

    for fmt in ("jsonl", "csv"):
        clear = await api_client.get(
            "/audit/export", params={"stream_id": stream, "format": fmt},
            headers=clear_auditor.headers,
        )  # fmt: skip
        assert all(v in clear.text for v in (history.nik, history.phone, history.birth_date))


async def test_stream_events_page_with_cursors(
    api_client: Client, officers: dict[str, Officer], history: History
) -> None:
    auditor = officers["auditor"]
    url = f"/audit/streams/{participant_stream(history.participant_id)}/events"
    everything = [e["version"] for e in (await get_json(api_client, auditor, url))["items"]]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await get_json(api_client, auditor, url, **params)
        seen += [e["version"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything == list(range(1, len(everything) + 1))

    bad = await api_client.get(url, params={"cursor": "bm9wZQ"}, headers=auditor.headers)
    assert_problem(bad, 400, "bad-cursor")
    unknown = await api_client.get(
        f"/audit/streams/participant-{uuid4()}/events", headers=auditor.headers
    )
    assert "not found" in assert_problem(unknown, 404, "not-found")["detail"]
    malformed = await api_client.get("/audit/streams/nostream/events", headers=auditor.headers)
    assert assert_problem(malformed, 400, "invalid-request")["errors"][0]["field"] == "stream_id"


# -- states as of a date, as known at an instant ----------------------------------------------


async def test_a_participant_as_of_business_dates(
    api_client: Client, officers: dict[str, Officer], history: History
) -> None:
    auditor = officers["auditor"]
    url = f"/audit/participants/{history.participant_id}/state"

    october = await get_json(api_client, auditor, url, as_of="2025-10-31")
    assert (october["status"], october["status_as_of"]) == ("enrolled", "active")
    assert october["enrolled_on"] == "2025-10-06"
    assert october["coverage"]["covered"] is True
    assert october["coverage"]["reason"] == "paid_on_time"
    assert october["arrears_months"] == 0
    assert october["replay"]["as_of"] == "2025-10-31"
    assert [p["starts_on"] for p in october["periods"]] == ["2025-10-01"]

    # the bank bounced the payment on 20 November: as of the end of December, nothing is paid
    december = await get_json(api_client, auditor, url, as_of="2025-12-31")
    assert december["status_as_of"] == "in_arrears"
    assert december["arrears_months"] == 3
    assert december["arrears_amount"] == 3 * 16_800
    assert december["coverage"]["covered"] is False
    assert december["replay"]["events_applied"] == october["replay"]["events_applied"] + 1

    before = await api_client.get(url, params={"as_of": "2025-10-05"}, headers=auditor.headers)
    assert "no events as of 2025-10-05" in assert_problem(before, 404, "not-found")["detail"]


async def test_a_participant_as_known_at_an_instant(
    api_client: Client, officers: dict[str, Officer], history: History
) -> None:
    auditor = officers["auditor"]
    url = f"/audit/participants/{history.participant_id}/state"
    # known before the reversal was recorded: December looked paid then
    then = await get_json(
        api_client, auditor, url, as_of="2025-12-31", known_at=history.payment_known_at.isoformat()
    )
    assert then["status_as_of"] == "active"
    assert then["coverage"]["covered"] is True
    assert then["replay"]["known_at"] == history.payment_known_at.isoformat().replace("+00:00", "Z")
    # known before the payment was recorded: nothing paid yet
    earlier = await get_json(
        api_client, auditor, url, as_of="2025-12-31", known_at=history.before_payment.isoformat()
    )
    assert earlier["arrears_months"] == 3
    assert earlier["replay"]["events_applied"] == then["replay"]["events_applied"] - 1

    for params, field in (
        ({"known_at": "2025-12-31T10:00:00"}, "known_at"),  # no time zone
        ({"known_at": "0001-01-01T00:00:00+01:00"}, "known_at"),
        ({"as_of": "9999-12-31"}, "as_of"),
    ):
        refused = await api_client.get(url, params=params, headers=auditor.headers)
        assert assert_problem(refused, 400, "invalid-request")["errors"][0]["field"] == field


async def test_a_participants_funder_as_of_is_the_one_in_force_that_month(
    api_client: Client, officers: dict[str, Officer], sealed_store: EventStore
) -> None:
    """Both changes of funder recorded on 1 December 2025: mandiri from March 2026, the
    regency again from June. As of a date, the funder shown is the one in force that month,
    not the latest change known by then."""
    registrar = make_registrar(sealed_store)
    cohort_id = await open_cohort(registrar, at(date(2025, 10, 1)), quota=1)
    person = worker(cohort_id, random.randrange(2_000_000, 9_000_000))
    member = (await registrar.register(person, at(REGISTERED_ON))).participant_id
    for funder, from_month in (("mandiri", "2026-03"), ("apbd_kabupaten", "2026-06")):
        await registrar.change_funder(
            ChangeFunder(member, funder, from_month), at(date(2025, 12, 1))
        )
    url = f"/audit/participants/{member}/state"
    shown = {
        as_of: (await get_json(api_client, officers["auditor"], url, as_of=as_of))["funder"]
        for as_of in ("2026-02-28", "2026-03-01", "2026-05-31", "2026-06-01")
    }
    assert shown == {
        "2026-02-28": "apbd_kabupaten", "2026-03-01": "mandiri",
        "2026-05-31": "mandiri", "2026-06-01": "apbd_kabupaten",
    }  # fmt: skip


async def test_a_claim_as_of_and_as_known_at(
    api_client: Client, officers: dict[str, Officer], history: History
) -> None:
    auditor = officers["auditor"]
    url = f"/audit/claims/{history.claim_id}/state"
    now = await get_json(api_client, auditor, url)
    assert (now["kind"], now["participant_id"]) == ("JKK", history.participant_id)
    assert (now["status"], now["officer"]) == ("under_verification", "user:ani")
    assert now["event_on"] == ACCIDENT_ON.isoformat()
    assert now["missing_documents"] == []
    assert now["sla"]["documents_complete_on"] == DOCUMENTS_COMPLETE_ON.isoformat()
    assert now["sla"]["breached"] is True  # nothing paid within seven working days
    assert now["sla"]["working_days_late"] > 0

    # on 1 December the deadline was still ahead; verification started that day
    december = await get_json(api_client, auditor, url, as_of="2025-12-01")
    assert december["status"] == "under_verification"
    assert december["sla"]["working_days_left"] > 0 and not december["sla"]["breached"]
    assert december["sla"]["deadline"] == now["sla"]["deadline"]
    # as known before verification was recorded, it was merely submitted
    known = await get_json(
        api_client, auditor, url, as_of="2025-12-01",
        known_at=history.claim_submitted_known_at.isoformat(),
    )  # fmt: skip
    assert known["status"] == "submitted"
    assert known["replay"]["events_applied"] == december["replay"]["events_applied"] - 1
    # before the documents were complete, no SLA ran
    waiting = await get_json(api_client, auditor, url, as_of="2025-11-27")
    assert (waiting["status"], waiting["sla"]) == ("documents_incomplete", None)
    assert waiting["missing_documents"] == checklist()[-1:]

    unknown = await api_client.get(f"/audit/claims/{uuid4()}/state", headers=auditor.headers)
    assert_problem(unknown, 404, "not-found")


# -- kecamatan scope -------------------------------------------------------------------------------


async def test_a_scoped_auditor_sees_only_their_kecamatan(
    api_client: Client, officers: dict[str, Officer], history: History
) -> None:
    scoped = officers["auditor@17.08.01"]
    mine, theirs = history.participant_id, history.other_participant_id
    ok = await api_client.get(f"/audit/participants/{mine}/state", headers=scoped.headers)
    assert ok.status_code == 200, ok.text
    for url in (
        f"/audit/participants/{theirs}/state",
        f"/audit/streams/{participant_stream(theirs)}/events",
        f"/audit/timeline/participant/{theirs}",
    ):
        assert_problem(await api_client.get(url, headers=scoped.headers), 404, "not-found")
    claim = await api_client.get(f"/audit/claims/{history.claim_id}/state", headers=scoped.headers)
    assert claim.status_code == 200, claim.text
    for url in ("/audit/export", "/audit/verification", "/audit/timeline/cohort/kph2025"):
        response = await api_client.get(url, headers=scoped.headers)
        assert_problem(response, 403, "regency-wide-only")


# -- the chain check -------------------------------------------------------------------------------


async def test_verification_of_a_stream_and_of_the_log(
    api_client: Client, officers: dict[str, Officer], history: History, api_store: EventStore
) -> None:
    auditor = officers["auditor"]
    stream = participant_stream(history.participant_id)
    one = await get_json(api_client, auditor, "/audit/verification", stream_id=stream)
    assert one["ok"] is True and one["problems"] == []
    assert (one["stream_id"], one["streams_checked"]) == (stream, 1)
    assert one["events_checked"] == len(await api_store.read_stream(stream))
    whole = await get_json(api_client, auditor, "/audit/verification")
    assert whole["stream_id"] is None
    assert whole["events_checked"] > one["events_checked"] and whole["streams_checked"] > 1

    unknown = await api_client.get(
        "/audit/verification", params={"stream_id": f"claim-{uuid4()}"}, headers=auditor.headers
    )
    assert_problem(unknown, 404, "not-found")


async def test_verification_names_an_event_altered_behind_the_stores_back(
    api_client: Client, officers: dict[str, Officer], api_store: EventStore
) -> None:
    accounts = bootstrap.accounts(Settings(), api_store)
    username = f"korban{uuid4().hex[:8]}"
    operator = Principal("operator", frozenset({Role.ADMIN}))
    command = CreateUser(username=username, display_name="Korban", roles=["finance"])
    await accounts.create(command, OFFICER_PASSWORD, operator, Context(actor="admin:operator"))
    stream = f"user-{username}"
    victim = (await api_store.read_stream(stream))[0]
    await superuser_write(
        api_store, "UPDATE events SET actor = 'admin:intruder' WHERE position = $1",
        victim.position,
    )  # fmt: skip
    report = await get_json(
        api_client, officers["auditor"], "/audit/verification", stream_id=stream
    )
    assert report["ok"] is False
    (problem,) = report["problems"]
    assert (problem["stream_id"], problem["position"], problem["stream_version"]) == (
        stream, victim.position, 1,
    )  # fmt: skip
    assert "altered" in problem["problem"]


# -- export ----------------------------------------------------------------------------------------


async def test_export_of_a_stream_as_json_lines_and_csv(
    api_client: Client, officers: dict[str, Officer], history: History, sealed_store: EventStore
) -> None:
    auditor = officers["auditor"]
    stream = participant_stream(history.participant_id)
    recorded = await sealed_store.read_stream(stream)
    lines = await api_client.get(
        "/audit/export", params={"stream_id": stream}, headers=auditor.headers
    )
    assert lines.status_code == 200, lines.text
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    assert int(lines.headers["x-jaga-export-head"]) >= recorded[-1].position
    rows = [json.loads(line) for line in lines.text.splitlines()]
    assert [r["version"] for r in rows] == [r.stream_version for r in recorded]
    assert rows[0]["data"]["nik"] == mask_nik(history.nik)

    table = await api_client.get(
        "/audit/export", params={"stream_id": stream, "format": "csv"}, headers=auditor.headers
    )
    assert table.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(table.text)))
    assert tuple(parsed[0]) == audit.CSV_COLUMNS
    assert [int(r["position"]) for r in parsed] == [r.position for r in recorded]
    assert json.loads(parsed[0]["data"])["nik"] == mask_nik(history.nik)

    only = await api_client.get(
        "/audit/export",
        params={"stream_id": stream, "types": ["ContributionPaid", "ContributionReversed"]},
        headers=auditor.headers,
    )
    assert [json.loads(x)["type"] for x in only.text.splitlines()] == [
        "ContributionPaid", "ContributionReversed",
    ]  # fmt: skip


async def test_export_of_the_log_reads_page_by_page_up_to_the_head(
    api_client: Client,
    officers: dict[str, Officer],
    history: History,
    sealed_store: EventStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit, "EXPORT_PAGE", 3)  # many pages, even on a small log
    stream = participant_stream(history.participant_id)
    start = (await sealed_store.read_stream(stream))[0].position - 1
    types = ["ParticipantRegistered", "ParticipantEnrolled", "ContributionReversed"]
    response = await api_client.get(
        "/audit/export", params={"after": start, "types": types},
        headers=officers["auditor"].headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    rows = [json.loads(line) for line in response.text.splitlines()]
    head = int(response.headers["x-jaga-export-head"])
    expected = [
        e.position
        for e in (await sealed_store.read_all(start, batch_size=100_000, types=types)).events
        if e.position <= head
    ]
    assert [r["position"] for r in rows] == expected
    assert {r["type"] for r in rows} <= set(types)
    assert any(r["stream_id"] == stream and r["type"] == "ContributionReversed" for r in rows)
    assert all(r["position"] > start for r in rows)

    unknown = await api_client.get(
        "/audit/export", params={"types": ["NoSuchEvent"]}, headers=officers["auditor"].headers
    )
    assert "NoSuchEvent" in assert_problem(unknown, 400, "invalid-request")["detail"]


# -- the audit timeline ----------------------------------------------------------------------------


async def test_the_timeline_of_a_participant_and_a_claim(
    api_client: Client,
    officers: dict[str, Officer],
    history: History,
    read_models: Callable[[], Awaitable[None]],
    sealed_store: EventStore,
) -> None:
    await read_models()
    auditor = officers["auditor"]
    head = await sealed_store.head()
    url = f"/audit/timeline/participant/{history.participant_id}"
    body = await get_json(api_client, auditor, url, min_position=head)
    types = [e["event_type"] for e in body["items"]]
    assert types[:2] == ["ParticipantRegistered", "ParticipantEnrolled"]
    assert {"ContributionPaid", "ContributionReversed", "ClaimFiled"} <= set(types)
    positions = [e["position"] for e in body["items"]]
    assert positions == sorted(positions)
    assert all(e["summary"] for e in body["items"])
    assert history.nik not in json.dumps(body)

    first = await get_json(api_client, auditor, url, limit=1)
    rest = await get_json(api_client, auditor, url, cursor=first["next_cursor"], limit=200)
    assert [e["position"] for e in first["items"] + rest["items"]] == positions

    claim = await get_json(api_client, auditor, f"/audit/timeline/claim/{history.claim_id}")
    assert "ClaimVerificationStarted" in [e["event_type"] for e in claim["items"]]
    missing = await api_client.get(f"/audit/timeline/payment/{uuid4()}", headers=auditor.headers)
    assert_problem(missing, 404, "not-found")
    odd = await api_client.get(f"/audit/timeline/person/{uuid4()}", headers=auditor.headers)
    assert_problem(odd, 400, "invalid-request")


async def test_only_auditors_audit(api_client: Client, officers: dict[str, Officer]) -> None:
    for role in ("registrar", "finance", "claim_officer", "supervisor", "admin"):
        response = await api_client.get("/audit/verification", headers=officers[role].headers)
        assert "audit_read" in assert_problem(response, 403, "forbidden")["detail"]


async def test_a_forged_cursor_at_the_end_of_the_range_is_an_empty_page(
    api_client: Client, officers: dict[str, Officer], history: History
) -> None:
    url = f"/audit/streams/{participant_stream(history.participant_id)}/events"
    auditor = officers["auditor"]
    beyond = await get_json(api_client, auditor, url, cursor=encode_cursor([2**63 - 1]))
    assert (beyond["items"], beyond["next_cursor"]) == ([], None)
    before = await get_json(api_client, auditor, url, cursor=encode_cursor([-5]))
    assert before["items"][0]["version"] == 1  # from the first version, as without a cursor
