"""The audit pages in a real browser: a participant's stream history, their state as known
before and after a payment, the hash chain's verification, the JSON Lines export, and the
refusal of roles without audit rights."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from services.access import mask_nik
from services.domain.calendar import JAKARTA, Month
from services.web.audit import chain_problem, chain_verdict
from services.web.client import ApiRefused
from services.web.wording import refusal
from tests.web.conftest import Site, login, screenshot
from tests.web.test_cohort_pages import DUE, VILLAGES, block, cohort_body, today, worker_body


async def participant_paid_after(site: Site) -> tuple[str, dict[str, Any], datetime, str]:
    """A member of a new cohort, and a payment for them recorded after a known instant: the
    participant id, their registration, that instant (Jakarta, whole seconds) and the
    payment's reference."""
    body = cohort_body(quota=5)
    await site.api("admin").post("/cohorts", body)
    await site.api("admin").post(f"/cohorts/{body['cohort_id']}/open")
    person = worker_body(body["cohort_id"], VILLAGES[0])
    registered = await site.api("registrar").post("/participants", person)
    await asyncio.sleep(1.2)
    known = datetime.now(JAKARTA).replace(microsecond=0)
    await asyncio.sleep(1.2)
    payment = block(body["cohort_id"], [Month.of(today())], DUE)
    payment["paid_at"] = (datetime.now(JAKARTA) - timedelta(seconds=5)).isoformat()
    await site.api("finance").post("/payments", payment)
    return registered["resource"]["id"], person, known, payment["reference"]


async def test_an_auditor_reads_history_state_verification_and_export(
    page: Page, site: Site, tmp_path: Path
) -> None:
    participant_id, person, known, reference = await participant_paid_after(site)
    stream = f"participant-{participant_id}"
    await login(page, site, "auditor")
    await page.goto("/app/audit")

    # (a) the stream's history, personal data masked for the auditor
    await page.get_by_label("ID aliran", exact=True).fill(stream)
    await page.get_by_role("button", name="Tampilkan riwayat").click()
    events = page.get_by_role("table", name="Kejadian aliran")
    await expect(events).to_contain_text("ParticipantRegistered")
    await expect(events).to_contain_text("ContributionPaid")
    await expect(events).to_contain_text(reference)
    await expect(events).to_contain_text(mask_nik(person["nik"]))
    await expect(events).not_to_contain_text(person["nik"])
    await expect(events).to_contain_text(site.users["registrar"])
    rows = await events.locator("tbody tr").count()
    assert rows >= 3
    await screenshot(page, "audit-stream.png")

    # (d) the stream's export: JSON Lines of exactly these events, downloaded
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Unduh aliran ini sebagai JSON Lines").click()
    download = await download_info.value
    saved = tmp_path / "export.jsonl"
    await download.save_as(saved)
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert {e["stream_id"] for e in lines} == {stream}
    assert [e["version"] for e in lines] == list(range(1, rows + 1))
    assert {"ParticipantRegistered", "ContributionPaid"} <= {e["type"] for e in lines}
    assert all(person["nik"] not in json.dumps(e) for e in lines)

    # (b) the state as known before the payment was recorded, then as known now
    await page.get_by_label("ID peserta atau klaim").fill(participant_id)
    await page.get_by_label("Diketahui pada tanggal").fill(known.date().isoformat())
    await page.get_by_label("Jam (WIB)").fill(known.strftime("%H:%M:%S"))
    await page.get_by_role("button", name="Hitung keadaan").click()
    await expect(page.get_by_test_id("paid-by")).to_have_text("belum ada pembayaran")
    before = int(await page.get_by_test_id("events-applied").inner_text())

    await page.get_by_label("Diketahui pada tanggal").fill("")
    await page.get_by_label("Jam (WIB)").fill("")
    await page.get_by_role("button", name="Hitung keadaan").click()
    await expect(page.get_by_test_id("paid-by")).to_contain_text(reference)
    after = int(await page.get_by_test_id("events-applied").inner_text())
    assert after == before + 1  # the share of the payment

    await page.get_by_label("Per tanggal", exact=True).fill(
        (today() - timedelta(days=1)).isoformat()
    )
    await page.get_by_role("button", name="Hitung keadaan").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Tidak ada kejadian peserta ini sampai tanggal dan saat yang dipilih."
    )

    # (c) the hash chain: the participant's stream, then the whole log
    verify = page.get_by_label("ID aliran (kosongkan untuk seluruh log)").first
    await verify.fill(stream)
    await page.get_by_role("button", name="Periksa rantai").click()
    await expect(page.get_by_test_id("chain-verdict")).to_have_text(
        f"Rantai hash utuh: {rows} kejadian di 1 aliran diperiksa."
    )
    await page.get_by_label("ID aliran (kosongkan untuk seluruh log)").first.fill("")
    await page.get_by_role("button", name="Periksa rantai").click()
    await expect(page.get_by_test_id("chain-verdict")).to_have_text(
        re.compile(r"^Rantai hash utuh: \d+ kejadian di \d+ aliran diperiksa\.$")
    )
    await screenshot(page, "audit.png")


@pytest.mark.parametrize("role", ["finance", "claim_officer"])
async def test_a_role_without_audit_rights_is_refused_in_indonesian(
    page: Page, site: Site, role: str
) -> None:
    await login(page, site, role)
    response = await page.goto("/app/audit")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_have_text(
        "Halaman audit hanya untuk auditor. Anda tidak berhak melihatnya."
    )
    await expect(page.get_by_role("button", name="Tampilkan riwayat")).to_have_count(0)

    response = await page.goto("/app/audit/verification")  # the API itself refuses
    assert response is not None and response.status == 403
    async with httpx.AsyncClient(base_url=site.base_url) as client:
        answer = await client.get("/audit/verification", headers=site.api(role).headers)
    assert answer.status_code == 403
    await expect(page.get_by_role("alert")).to_have_text(refusal(ApiRefused(403, answer.json())))


def test_a_broken_chain_is_named_in_indonesian() -> None:
    check = {
        "ok": False, "events_checked": 12, "streams_checked": 3,
        "problems": [{"stream_id": "claim-c1", "stream_version": 4, "position": 99,
                      "problem": "hash does not match the stored event (event altered)"}],
    }  # fmt: skip
    assert (
        chain_verdict(check) == "Rantai hash rusak di 1 aliran (12 kejadian di 3 aliran diperiksa)."
    )
    assert chain_problem(check["problems"][0]) == (
        "aliran claim-c1, versi 4, posisi 99: hash tidak cocok dengan kejadian yang tersimpan "
        "(kejadian diubah)"
    )
    missing = {"stream_id": "cohort-k", "stream_version": 2, "position": None,
               "problem": "version 2 is missing (next stored version is 3)"}  # fmt: skip
    assert chain_problem(missing) == (
        "aliran cohort-k, versi 2: versi 2 hilang (versi berikutnya yang tersimpan: 3)"
    )
