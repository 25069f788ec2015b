"""Accidents and claims through HTTP against the real app, PostgreSQL and Redis: a JKK claim from
the Stage I report to its payment with the second approval by a supervisor, a JKM claim through
return, rejection and reopening, refusals (409 with the domain's reason, 403, 404, validation),
the board and its filters, a claim's SLA as of a date, masking and kecamatan scope."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import uuid4

import pytest

from events.store import EventStore
from services.access import Role, mask_nik, mask_phone
from services.claim_decider import claim_stream, jkk_claim_id, jkm_claim_id
from services.domain.calendar import JAKARTA, business_date
from services.registration import Registrar
from services.streams import death_stream
from services.web.client import ApiRefused
from services.web.wording import refusal
from tests.api.conftest import Officer
from tests.api.test_payments_api import (
    DUE,
    CatchUp,
    Client,
    Cohort,
    assert_problem,
    block,
    enrolled_cohort,
    registrar,  # noqa: F401 - the module's registrar fixture
    this_month,
    user,
)

JKK_DEATH = [
    "ktp",
    "kpj_card",
    "accident_report",
    "doctor_statement",
    "bank_account",
    "death_certificate",
    "heir_statement",
    "heir_ktp",
    "family_card",
]
JKK_RECOVERED = ["ktp", "kpj_card", "accident_report", "doctor_statement", "bank_account"]
JKM = [
    "ktp",
    "kpj_card",
    "death_certificate",
    "heir_statement",
    "heir_ktp",
    "family_card",
    "bank_account",
]
HEIR_NIK = "1708014101850002"
WITNESSES = [{"name": "Rudi Hartono", "phone": "081277788899"}, {"name": "Sari Wulandari"}]


@pytest.fixture(scope="module")
async def covered(
    api_client: Client,
    officers: dict[str, Officer],
    registrar: Registrar,  # noqa: F811
) -> Cohort:
    """Two members enrolled today, each in another kecamatan, this month and the next paid
    by the sponsor on the first of the month (on time: covered from today)."""
    cohort = await enrolled_cohort(registrar, 2)
    paid = await api_client.post(
        "/payments",
        json=block(cohort.cohort_id, 2 * 2 * DUE, [this_month(), this_month() + 1]),
        headers=officers["finance"].headers,
    )
    assert paid.status_code == 201, paid.text
    return cohort


async def someone(registrar: Registrar) -> str:  # noqa: F811
    """A member of a cohort of their own, enrolled today (contributions unpaid): a death of
    their own to claim."""
    return (await enrolled_cohort(registrar, 1)).members[0]


@pytest.fixture(scope="module")
async def budi(api_store: EventStore) -> Officer:
    """A second claim officer."""
    return await user(api_store, Role.CLAIM_OFFICER)


def accident_time() -> datetime:
    """A moment ago, but today in Jakarta (the members joined today)."""
    now = datetime.now(UTC)
    midnight = datetime.combine(business_date(now), time(0, 0, 1), JAKARTA)
    return max(now - timedelta(minutes=2), midnight)


async def post(client: Client, path: str, officer: Officer, body: Any = None) -> dict[str, Any]:
    """A command that must succeed; its result."""
    response = await client.post(path, json=body, headers=officer.headers)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()  # type: ignore[no-any-return]


async def jkk_claim(
    client: Client, officer: Officer, participant_id: str, outcome: str = "death"
) -> str:
    """Stage I and Stage II (death, unless said otherwise): the JKK claim filed. A death is
    claimed once: one death per participant."""
    report = await post(
        client,
        "/accidents",
        officer,
        {
            "participant_id": participant_id,
            "occurred_at": accident_time().isoformat(),
            "kind": "at_work",
            "place": "Gudang Pasar Ujung Karang",
            "chronology": "Terjatuh dari tangga gudang\nsaat bongkar muat",
            "witnesses": WITNESSES,
        },
    )
    accident_id = report["resource"]["id"]
    assert report["events"] == ["AccidentReported"]
    filed = await post(
        client,
        f"/accidents/{accident_id}/outcome",
        officer,
        {
            "doctor_statement_at": datetime.now(UTC).isoformat(),
            "outcome": outcome,
        },
    )
    assert filed["events"] == ["AccidentOutcomeReported", "ClaimFiled"]
    assert filed["resource"] == {
        "kind": "claim",
        "id": jkk_claim_id(accident_id),
        "href": f"/claims/{jkk_claim_id(accident_id)}",
    }
    return str(filed["resource"]["id"])


# -- a JKK claim from the accident to its payment -----------------------------------------------


async def test_a_jkk_claim_from_stage_one_to_payment_with_four_eyes(
    api_client: Client,
    officers: dict[str, Officer],
    budi: Officer,
    covered: Cohort,
    read_models: CatchUp,
) -> None:
    ani, supervisor = officers["claim_officer"], officers["supervisor"]
    claim_id = await jkk_claim(api_client, ani, covered.members[0])
    path = f"/claims/{claim_id}"

    await read_models()
    fresh = (await api_client.get(path, headers=ani.headers)).json()
    assert (fresh["kind"], fresh["state"], fresh["officer"]) == ("JKK", "reported", None)
    assert fresh["missing_documents"] == JKK_DEATH
    assert fresh["sla"] is None and fresh["decision"] is None

    # assignment: an officer takes it; another cannot take it over; a supervisor reassigns
    taken = await post(api_client, f"{path}/assignment", ani, {"officer": ani.username})
    assert taken["events"] == ["ClaimAssigned"]
    again = await post(api_client, f"{path}/assignment", ani, {"officer": ani.username})
    assert again["events"] == [] and again["position"] == taken["position"]
    grab = await api_client.post(
        f"{path}/assignment", json={"officer": budi.username}, headers=budi.headers
    )
    assert "a supervisor reassigns it" in assert_problem(grab, 409, "illegal-transition")["detail"]
    denied = await api_client.post(
        f"{path}/reassignment", json={"officer": budi.username}, headers=budi.headers
    )
    assert "claims_reassign" in assert_problem(denied, 403, "forbidden")["detail"]
    moved = await post(api_client, f"{path}/reassignment", supervisor, {"officer": budi.username})
    assert moved["events"] == ["ClaimAssigned"]
    await post(api_client, f"{path}/reassignment", supervisor, {"officer": ani.username})
    nobody = await api_client.post(
        f"{path}/reassignment", json={"officer": "tidak-ada"}, headers=supervisor.headers
    )
    assert assert_problem(nobody, 422, "validation-failed")["errors"][0]["field"] == "officer"

    # documents: submitted while incomplete it waits; the last one submits it
    waiting = await post(api_client, f"{path}/submission", ani)
    assert waiting["events"] == ["ClaimDocumentsIncomplete"]
    for document in ["npwp", *JKK_DEATH[:-1]]:
        received = await post(
            api_client,
            f"{path}/documents",
            ani,
            {"document": document, "reference": f"arsip/{document}"},
        )
        assert received["events"] == ["ClaimDocumentReceived"]
    early = await api_client.post(f"{path}/decision", json={}, headers=ani.headers)
    assert (
        "only from under_verification" in assert_problem(early, 409, "illegal-transition")["detail"]
    )
    complete = await post(api_client, f"{path}/documents", ani, {"document": JKK_DEATH[-1]})
    assert complete["events"] == ["ClaimDocumentReceived", "ClaimSubmitted"]

    started = await post(api_client, f"{path}/verification", ani)
    assert started["events"] == ["ClaimVerificationStarted"]
    no_heirs = await api_client.post(f"{path}/decision", json={}, headers=ani.headers)
    assert "name them first" in assert_problem(no_heirs, 409, "illegal-transition")["detail"]
    named = await post(
        api_client,
        f"{path}/heirs",
        ani,
        {
            "heirs": [
                {"name": "Siti Aminah", "nik": HEIR_NIK, "relation": "spouse"},
            ]
        },
    )
    assert named["events"] == ["ClaimHeirsNamed"]
    proposed = await post(api_client, f"{path}/decision", ani, {})
    assert proposed["events"] == ["ClaimApprovalProposed"]

    # the second approval: not a claim officer's right; a supervisor gives it
    refused = await api_client.post(f"{path}/second-approval", headers=budi.headers)
    assert "claims_second_approval" in assert_problem(refused, 403, "forbidden")["detail"]
    approved = await post(api_client, f"{path}/second-approval", supervisor)
    assert approved["events"] == ["ClaimApproved"]
    twice = await api_client.post(f"{path}/second-approval", headers=supervisor.headers)
    assert (
        "only from awaiting_second_approval"
        in assert_problem(twice, 409, "illegal-transition")["detail"]
    )

    await read_models()
    shown = (
        await api_client.get(
            path, params={"min_position": approved["position"]}, headers=supervisor.headers
        )
    ).json()
    assert (shown["state"], shown["total"], shown["missing_documents"]) == (
        "approved",
        70_000_000,
        [],
    )
    assert (shown["proposed_by"], shown["approved_by"]) == (
        f"user:{ani.username}",
        f"user:{supervisor.username}",
    )
    decision = shown["decision"]
    assert (decision["outcome"], decision["officer"], decision["first_officer"]) == (
        "approved",
        f"user:{supervisor.username}",
        f"user:{ani.username}",
    )
    assert {line["kind"] for line in decision["lines"]} == {"death", "funeral", "periodic"}
    assert all(line["formula"] for line in decision["lines"])
    assert decision["eligibility"]["covered"] is True
    assert shown["heirs"] == [
        {"name": "Siti Aminah", "nik": HEIR_NIK, "relation": "spouse", "payee": True}
    ]
    audited = (await api_client.get(path, headers=officers["auditor"].headers)).json()
    assert [h["nik"] for h in audited["heirs"]] == [mask_nik(HEIR_NIK)]  # no personal data read
    assert shown["sla"]["working_days"] == 7 and shown["sla_status"] == "ok"
    assert shown["days_open"] == 0 and shown["accrued_penalty"] == 0

    # as of ten days after the deadline, unpaid: breached, the penalty accrues (1% a day)
    late_day = datetime.fromisoformat(shown["sla"]["deadline"]).date() + timedelta(days=10)
    late = (
        await api_client.get(path, params={"as_of": late_day.isoformat()}, headers=ani.headers)
    ).json()
    days_late = late["sla"]["working_days_late"]
    assert late["sla_status"] == "breached" and late["sla"]["breached"] and days_late > 0
    assert late["accrued_penalty"] == days_late * 700_000
    assert late["penalty_line"]["amount"] == late["accrued_penalty"]
    assert "Rp70.000.000" in late["penalty_line"]["formula"]

    paid = await post(
        api_client,
        f"{path}/payment",
        ani,
        {"reference": "TRF-JKK-1", "paid_at": datetime.now(UTC).isoformat()},
    )
    assert paid["events"] == ["ClaimPaid"]
    repeat = await post(
        api_client,
        f"{path}/payment",
        ani,
        {"reference": "TRF-JKK-1", "paid_at": datetime.now(UTC).isoformat()},
    )
    assert repeat["events"] == []
    reopened = await post(api_client, f"{path}/reopening", ani, {"reason": "ahli waris baru"})
    assert reopened["events"] == ["ClaimReopened"]

    await read_models()
    final = (await api_client.get(path, headers=ani.headers)).json()
    assert final["state"] == "reopened" and final["paid_amount"] == 70_000_000


# -- a JKM claim through return, rejection and reopening ----------------------------------------


async def test_a_jkm_claim_returned_rejected_and_reopened(
    api_client: Client, officers: dict[str, Officer], covered: Cohort
) -> None:
    ani = officers["claim_officer"]
    participant_id = covered.members[1]
    filed = await post(
        api_client,
        "/claims/death",
        ani,
        {
            "participant_id": participant_id,
            "died_on": business_date(datetime.now(UTC)).isoformat(),
        },
    )
    claim_id = jkm_claim_id(participant_id)
    assert (filed["resource"]["id"], filed["events"]) == (claim_id, ["ClaimFiled"])
    duplicate = await api_client.post(
        "/claims/death",
        headers=ani.headers,
        json={
            "participant_id": participant_id,
            "died_on": business_date(datetime.now(UTC)).isoformat(),
        },
    )
    assert_problem(duplicate, 409, "duplicate")

    path = f"/claims/{claim_id}"
    await post(api_client, f"{path}/assignment", ani, {"officer": ani.username})
    for document in JKM:
        await post(api_client, f"{path}/documents", ani, {"document": document})
    keyed = ani.headers | {"Idempotency-Key": f"kirim-{uuid4()}"}
    submitted = await api_client.post(f"{path}/submission", headers=keyed)
    replayed = await api_client.post(f"{path}/submission", headers=keyed)
    assert submitted.json()["events"] == ["ClaimSubmitted"]
    assert replayed.json() == submitted.json()

    returned = await post(
        api_client,
        f"{path}/return",
        ani,
        {"missing": ["bank_account"], "reason": "rekening tidak terbaca"},
    )
    assert returned["events"] == ["ClaimReturned"]
    reject = await api_client.post(f"{path}/rejection", json={"reason": "x"}, headers=ani.headers)
    detail = assert_problem(reject, 409, "illegal-transition")["detail"]
    assert "cannot reject from state 'returned'" in detail
    resubmitted = await post(api_client, f"{path}/documents", ani, {"document": "bank_account"})
    assert resubmitted["events"] == ["ClaimDocumentReceived", "ClaimSubmitted"]
    await post(api_client, f"{path}/verification", ani)
    rejected = await post(api_client, f"{path}/rejection", ani, {"reason": "bukan peserta aktif"})
    assert rejected["events"] == ["ClaimRejected"]
    reopened = await post(api_client, f"{path}/reopening", ani, {"reason": "bukti baru"})
    assert reopened["events"] == ["ClaimReopened"]

    assessment = await api_client.get(f"{path}/assessment", headers=ani.headers)
    assert assessment.status_code == 200, assessment.text
    found = assessment.json()
    assert found["eligible"] is True and found["eligibility"]["covered"] is True
    assert [line["kind"] for line in found["lines"]] == ["funeral"]  # under 3 months a member


# -- a person dies once ------------------------------------------------------------------------


async def stage_one(client: Client, officer: Officer, participant_id: str) -> str:
    report = await post(
        client, "/accidents", officer,
        {"participant_id": participant_id, "occurred_at": accident_time().isoformat(),
         "kind": "at_work", "place": "Gudang", "chronology": "Terjatuh", "witnesses": WITNESSES},
    )  # fmt: skip
    return str(report["resource"]["id"])


def death_refused(response: Any, participant_id: str, claim_id: str, kind: str) -> str:
    """A 409 naming the claim that stands for the death; its Indonesian sentence."""
    problem = assert_problem(response, 409, "death-already-claimed")
    assert f"already claimed by {kind} claim '{claim_id}'" in problem["detail"]
    assert "a person dies once" in problem["detail"]
    assert (problem["participant_id"], problem["claim_id"], problem["claim_kind"]) == (
        participant_id, claim_id, kind,
    )  # fmt: skip
    return refusal(ApiRefused(409, problem))


async def test_a_death_is_claimed_once_until_its_claim_is_rejected(
    api_client: Client,
    officers: dict[str, Officer],
    api_store: EventStore,
    registrar: Registrar,  # noqa: F811
) -> None:
    ani = officers["claim_officer"]
    today = business_date(datetime.now(UTC)).isoformat()

    # a JKK claim for an accident that ended in death: no JKM claim for the same death
    died_at_work = await someone(registrar)
    jkk_id = await jkk_claim(api_client, ani, died_at_work)
    refused = await api_client.post(
        "/claims/death", headers=ani.headers,
        json={"participant_id": died_at_work, "died_on": today},
    )  # fmt: skip
    said = death_refused(refused, died_at_work, jkk_id, "JKK")
    assert said.startswith("Kematian peserta ini sudah diajukan dalam klaim JKK (kecelakaan kerja")
    assert '"Dilaporkan"' in said and "Tidak ada yang dicatat." in said
    assert await api_store.stream_version(claim_stream(jkm_claim_id(died_at_work))) == 0
    assert await api_store.stream_version(death_stream(died_at_work)) == 1

    # a JKM claim: no JKK claim for the same death, and the Stage II report is not recorded
    died = await someone(registrar)
    jkm_id = jkm_claim_id(died)
    await post(api_client, "/claims/death", ani, {"participant_id": died, "died_on": today})
    accident_id = await stage_one(api_client, ani, died)
    stage_two = {"doctor_statement_at": datetime.now(UTC).isoformat(), "outcome": "death"}
    refused = await api_client.post(
        f"/accidents/{accident_id}/outcome", json=stage_two, headers=ani.headers
    )
    said = death_refused(refused, died, jkm_id, "JKM")
    assert "klaim JKM (meninggal dunia bukan karena kecelakaan kerja)" in said
    accident = (await api_client.get(f"/accidents/{accident_id}", headers=ani.headers)).json()
    assert (accident["outcome"], accident["claim_id"]) == (None, None)
    assert await api_store.stream_version(claim_stream(jkk_claim_id(accident_id))) == 0
    again = await api_client.post("/claims/death", headers=ani.headers,
                                  json={"participant_id": died, "died_on": today})  # fmt: skip
    assert_problem(again, 409, "duplicate")  # a second JKM claim: the same claim

    # the JKM claim rejected (the death was a work accident): the JKK claim is filed...
    path = f"/claims/{jkm_id}"
    await post(api_client, f"{path}/assignment", ani, {"officer": ani.username})
    for document in JKM:
        await post(api_client, f"{path}/documents", ani, {"document": document})
    await post(api_client, f"{path}/submission", ani)
    await post(api_client, f"{path}/verification", ani)
    await post(api_client, f"{path}/rejection", ani, {"reason": "kecelakaan kerja"})
    filed = await post(api_client, f"/accidents/{accident_id}/outcome", ani, stage_two)
    assert filed["events"] == ["AccidentOutcomeReported", "ClaimFiled"]
    assert filed["resource"]["id"] == jkk_claim_id(accident_id)
    # ...and the rejected JKM claim is not reopened while the JKK claim stands
    reopening = await api_client.post(
        f"{path}/reopening", json={"reason": "bukti baru"}, headers=ani.headers
    )
    death_refused(reopening, died, jkk_claim_id(accident_id), "JKK")


# -- refusals ----------------------------------------------------------------------------------


async def test_invalid_reports_and_commands_are_problems(
    api_client: Client,
    officers: dict[str, Officer],
    covered: Cohort,
    registrar: Registrar,  # noqa: F811
) -> None:
    ani = officers["claim_officer"]
    incomplete = await api_client.post(
        "/accidents",
        headers=ani.headers,
        json={
            "participant_id": covered.members[0],
            "occurred_at": accident_time().isoformat(),
            "kind": "commuting",
            "traffic": True,
            "place": "Jalan Lintas Kepahiang",
            "chronology": "Tertabrak truk",
            "witnesses": WITNESSES[:1],
        },
    )
    errors = assert_problem(incomplete, 422, "validation-failed")["errors"]
    assert {e["field"] for e in errors} == {"witnesses", "police_report"}

    odd_kind = await api_client.post(
        "/accidents",
        headers=ani.headers,
        json={
            "participant_id": covered.members[0],
            "occurred_at": accident_time().isoformat(),
            "kind": "at_home",
            "place": "x",
            "chronology": "x",
        },
    )
    assert assert_problem(odd_kind, 400, "invalid-request")["errors"][0]["field"] == "kind"
    nul = await api_client.post(
        "/accidents",
        headers=ani.headers,
        json={
            "participant_id": covered.members[0],
            "occurred_at": accident_time().isoformat(),
            "kind": "at_work",
            "place": "Gudang\u0000",
            "chronology": "x",
        },
    )
    assert_problem(nul, 400, "invalid-request")
    unknown = await api_client.post(
        "/accidents",
        headers=ani.headers,
        json={
            "participant_id": str(uuid4()),
            "occurred_at": accident_time().isoformat(),
            "kind": "at_work",
            "place": "x",
            "chronology": "x",
            "witnesses": WITNESSES,
        },
    )
    assert_problem(unknown, 404, "not-found")
    no_accident = await api_client.post(
        f"/accidents/{uuid4()}/outcome",
        headers=ani.headers,
        json={"doctor_statement_at": datetime.now(UTC).isoformat(), "outcome": "recovered"},
    )
    assert_problem(no_accident, 404, "not-found")

    claim_id = await jkk_claim(api_client, ani, await someone(registrar))
    path = f"/claims/{claim_id}"
    paper = await api_client.post(
        f"{path}/documents", json={"document": "paspor"}, headers=ani.headers
    )
    assert assert_problem(paper, 400, "invalid-request")["errors"][0]["field"] == "document"
    heirs = await api_client.post(
        f"{path}/heirs",
        headers=ani.headers,
        json={
            "heirs": [{"name": "Siti", "nik": "1234", "relation": "spouse"}],
        },
    )
    errors = assert_problem(heirs, 422, "validation-failed")["errors"]
    assert errors[0]["field"] == "heirs[0].nik"
    nothing_missing = await api_client.post(
        f"{path}/return", headers=ani.headers, json={"missing": [], "reason": "x"}
    )
    assert_problem(nothing_missing, 400, "invalid-request")
    unknown_claim = await api_client.post(f"/claims/{uuid4()}/submission", headers=ani.headers)
    assert_problem(unknown_claim, 404, "not-found")
    finance = await api_client.post(f"{path}/submission", headers=officers["finance"].headers)
    assert "claims_work" in assert_problem(finance, 403, "forbidden")["detail"]


# -- reading -------------------------------------------------------------------------------------


async def test_the_board_filters_pages_and_masks(
    api_client: Client,
    officers: dict[str, Officer],
    budi: Officer,
    covered: Cohort,
    read_models: CatchUp,
) -> None:
    """Budi's claims only (the session's database holds others' too)."""
    ani = officers["claim_officer"]
    claims = [await jkk_claim(api_client, ani, covered.members[0], "recovered") for _ in range(3)]
    for claim_id in claims:
        await post(api_client, f"/claims/{claim_id}/assignment", ani, {"officer": budi.username})
    submitted = claims[0]
    for document in ["npwp", *JKK_RECOVERED]:
        await post(api_client, f"/claims/{submitted}/documents", budi, {"document": document})
    await post(api_client, f"/claims/{submitted}/submission", budi)
    await read_models()

    async def board(**params: Any) -> dict[str, Any]:
        response = await api_client.get(
            "/claims",
            params={"officer": budi.username, **params},
            headers=officers["auditor"].headers,
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    everything = await board()
    ids = [c["claim_id"] for c in everything["items"]]
    assert set(ids) == set(claims) and ids[0] == submitted  # soonest deadline first
    entry = everything["items"][0]
    assert (entry["state"], entry["sla_status"], entry["working_days_left"]) == (
        "submitted",
        "ok",
        7,
    )
    assert entry["kecamatan"] == covered.kecamatan[0]
    assert entry["participant_name"]

    seen, cursor = [], None
    while True:
        page = await board(limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [c["claim_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids

    assert [c["claim_id"] for c in (await board(state="submitted"))["items"]] == [submitted]
    assert {c["claim_id"] for c in (await board(state=["reported", "submitted"]))["items"]} == (
        set(claims)
    )
    assert [c["claim_id"] for c in (await board(sla="ok"))["items"]] == [submitted]
    assert (await board(sla="breached"))["items"] == []
    far = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    breached = (await board(sla="breached", as_of=far, limit=1))["items"]
    assert [c["claim_id"] for c in breached] == [submitted]
    assert breached[0]["working_days_late"] > 0
    assert (await board(kecamatan=covered.kecamatan[1]))["items"] == []
    mine = await board(participant_id=covered.members[0])
    assert {c["claim_id"] for c in mine["items"]} == set(claims)
    assert (await board(participant_id=covered.members[1]))["items"] == []
    other_officer = await api_client.get(
        "/claims", params={"officer": ani.username, "state": "nonsense"}, headers=ani.headers
    )
    assert_problem(other_officer, 400, "invalid-request")
    assert_problem(
        await api_client.get("/claims", params={"cursor": "W10"}, headers=ani.headers),
        400,
        "bad-cursor",
    )

    # NIK and phone in clear for the claim officer, masked for the auditor
    path = f"/claims/{submitted}"
    clear = (await api_client.get(path, headers=ani.headers)).json()["participant"]
    masked = (await api_client.get(path, headers=officers["auditor"].headers)).json()
    assert masked["participant"]["nik"] == mask_nik(clear["nik"]) != clear["nik"]
    assert masked["participant"]["phone"].count("*") == len(clear["phone"]) - 6
    assert masked["participant"]["participant_id"] == covered.members[0]


async def test_a_scoped_officer_sees_and_works_only_claims_of_their_kecamatan(
    api_client: Client,
    officers: dict[str, Officer],
    api_store: EventStore,
    covered: Cohort,
    read_models: CatchUp,
) -> None:
    ani = officers["claim_officer"]
    claim_id = await jkk_claim(api_client, ani, covered.members[0], "recovered")
    here = await user(api_store, Role.CLAIM_OFFICER, [covered.kecamatan[0]])
    elsewhere = await user(api_store, Role.CLAIM_OFFICER, [covered.kecamatan[1]])
    await read_models()
    path = f"/claims/{claim_id}"

    assert (await api_client.get(path, headers=here.headers)).status_code == 200
    assert_problem(await api_client.get(path, headers=elsewhere.headers), 404, "not-found")
    hidden = await api_client.post(
        f"{path}/assignment", json={"officer": elsewhere.username}, headers=elsewhere.headers
    )
    assert_problem(hidden, 404, "not-found")
    not_theirs = await api_client.post(
        f"{path}/assignment", json={"officer": elsewhere.username}, headers=here.headers
    )
    assert "kecamatan" in assert_problem(not_theirs, 422, "validation-failed")["detail"]
    taken = await post(api_client, f"{path}/assignment", here, {"officer": here.username})
    assert taken["events"] == ["ClaimAssigned"]
    report = await api_client.post(
        "/accidents",
        headers=elsewhere.headers,
        json={
            "participant_id": covered.members[0],
            "occurred_at": accident_time().isoformat(),
            "kind": "at_work",
            "place": "x",
            "chronology": "x",
            "witnesses": WITNESSES,
        },
    )
    assert_problem(report, 404, "not-found")

    await read_models()
    board = await api_client.get(
        "/claims", params={"officer": here.username}, headers=elsewhere.headers
    )
    assert board.json()["items"] == []
    mine = await api_client.get("/claims", params={"officer": here.username}, headers=here.headers)
    assert [c["claim_id"] for c in mine.json()["items"]] == [claim_id]


async def test_an_accident_reads_back_as_reported_with_witness_phones_masked_by_role(
    api_client: Client,
    officers: dict[str, Officer],
    covered: Cohort,
    read_models: CatchUp,
) -> None:
    ani = officers["claim_officer"]
    occurred = accident_time()
    report = await post(
        api_client, "/accidents", ani,
        {"participant_id": covered.members[0], "occurred_at": occurred.isoformat(),
         "kind": "commuting", "place": "Jalan Lintas Kepahiang", "chronology": "Terserempet",
         "witnesses": WITNESSES, "traffic": True, "police_report": "LP/9/XI/2026"},
    )  # fmt: skip
    accident_id = report["resource"]["id"]
    assert report["resource"]["href"] == f"/accidents/{accident_id}"
    await read_models()

    seen = await api_client.get(f"/accidents/{accident_id}", headers=ani.headers)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert (body["kind"], body["place"], body["traffic"], body["police_report"]) == (
        "commuting", "Jalan Lintas Kepahiang", True, "LP/9/XI/2026",
    )  # fmt: skip
    assert body["participant"]["participant_id"] == covered.members[0]
    assert [w["phone"] for w in body["witnesses"]] == ["081277788899", None]
    assert (body["late"], body["reported_by"], body["outcome"], body["claim_id"]) == (
        False, f"user:{ani.username}", None, None,
    )  # fmt: skip
    assert body["last_position"] == report["position"]

    masked = (
        await api_client.get(f"/accidents/{accident_id}", headers=officers["auditor"].headers)
    ).json()
    assert masked["witnesses"][0]["phone"] != "081277788899"
    assert masked["witnesses"][0]["phone"] == mask_phone("081277788899")
    assert masked["participant"]["nik"] == mask_nik(body["participant"]["nik"])

    await post(
        api_client, f"/accidents/{accident_id}/outcome", ani,
        {"doctor_statement_at": datetime.now(UTC).isoformat(), "outcome": "recovered"},
    )  # fmt: skip
    after = (await api_client.get(f"/accidents/{accident_id}", headers=ani.headers)).json()
    assert after["outcome"]["outcome"] == "recovered"
    assert after["claim_id"] == jkk_claim_id(accident_id)

    # the claim's and the participant's timelines, for those who read claims / participants
    await read_models()
    claim_timeline = await api_client.get(
        f"/claims/{after['claim_id']}/timeline", headers=ani.headers
    )
    assert claim_timeline.status_code == 200, claim_timeline.text
    entries = claim_timeline.json()["items"]
    assert "ClaimFiled" in {e["event_type"] for e in entries}
    assert all(e["summary"] and e["actor"] for e in entries)
    clerk = officers["registrar"].headers
    person = await api_client.get(f"/participants/{covered.members[0]}/timeline", headers=clerk)
    assert person.status_code == 200, person.text
    assert "ParticipantRegistered" in {e["event_type"] for e in person.json()["items"]}
    assert_problem(
        await api_client.get(f"/claims/{after['claim_id']}/timeline", headers=clerk), 403,
        "forbidden",
    )  # fmt: skip

    missing = await api_client.get(f"/accidents/{uuid4()}", headers=ani.headers)
    assert_problem(missing, 404, "not-found")
    refused = await api_client.get(
        f"/accidents/{accident_id}", headers=officers["registrar"].headers
    )
    assert_problem(refused, 403, "forbidden")
