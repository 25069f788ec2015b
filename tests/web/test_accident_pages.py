"""Reporting an accident in a real browser: the Stage I form (refused without the second
witness, the input kept), the accident page, the Stage II form filing the JKK claim, the JKM
death claim, and who may not report."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from playwright.async_api import Page, expect

from services.claim_decider import jkk_claim_id, jkm_claim_id
from services.domain.calendar import JAKARTA
from services.domain.indonesian import tanggal
from tests.api.conftest import worker
from tests.api.test_cohorts_api import cohort_body
from tests.api.test_payments_api import DUE, block, this_month
from tests.web.conftest import Site, login

PLACE = "Gudang Pasar Ujung Karang"
CHRONOLOGY = "Terjatuh dari tangga gudang saat bongkar muat"


async def paid_participant(site: Site) -> str:
    """A worker of a cohort of their own, enrolled today, this month paid by the sponsor."""
    cohort = cohort_body(quota=1)
    await site.api("admin").post("/cohorts", cohort)
    await site.api("admin").post(f"/cohorts/{cohort['cohort_id']}/open")
    registered = await site.api("registrar").post("/participants", worker(cohort["cohort_id"]))
    await site.api("finance").post("/payments", block(cohort["cohort_id"], DUE, [this_month()]))
    return str(registered["resource"]["id"])


@pytest.fixture
async def participant_id(site: Site) -> str:
    return await paid_participant(site)


def jakarta_minute(ago: timedelta) -> datetime:
    """A moment `ago` in Asia/Jakarta, to the minute (as the form's time input takes it)."""
    return (datetime.now(UTC) - ago).astimezone(JAKARTA).replace(second=0, microsecond=0)


async def test_a_work_accident_from_stage_one_to_the_jkk_claim(
    page: Page, site: Site, participant_id: str
) -> None:
    occurred = jakarta_minute(timedelta(minutes=30))
    await login(page, site, "claim_officer")
    await page.goto(f"/app/accidents/new?participant_id={participant_id}")
    await expect(page.get_by_role("heading", name="Laporan kecelakaan tahap I")).to_be_visible()
    who = page.get_by_role("region", name="Peserta")
    await expect(who).to_contain_text("Pekerja")
    await expect(who).to_contain_text("Aktif")

    await page.get_by_label("Tanggal kecelakaan").fill(occurred.date().isoformat())
    await page.get_by_label("Jam kecelakaan (WIB)").fill(f"{occurred:%H:%M}")
    await page.get_by_label("Jenis kecelakaan").select_option(label="Kecelakaan di tempat kerja")
    await page.get_by_label("Tempat kejadian").fill(PLACE)
    await page.get_by_label("Kronologi kejadian").fill(CHRONOLOGY)
    await page.get_by_label("Nama saksi 1").fill("Rudi Hartono")
    await page.get_by_label("Telepon saksi 1").fill("081277788899")
    await page.get_by_label("Keterangan saksi 1").fill("Melihat korban jatuh")
    await page.get_by_role("button", name="Simpan laporan tahap I").click()

    # one witness is not enough for a work accident: said in Indonesian, the input kept
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_text("Sebutkan dua orang saksi beserta namanya")).to_be_visible()
    await expect(page.get_by_label("Tempat kejadian")).to_have_value(PLACE)
    await expect(page.get_by_label("Kronologi kejadian")).to_have_value(CHRONOLOGY)
    await expect(page.get_by_label("Nama saksi 1")).to_have_value("Rudi Hartono")
    await expect(page.get_by_label("Jenis kecelakaan")).to_have_value("at_work")
    assert "/app/accidents/new" in page.url

    await page.get_by_label("Nama saksi 2").fill("Sari Wulandari")
    await page.get_by_role("button", name="Simpan laporan tahap I").click()
    await expect(page.get_by_role("status")).to_have_text("Laporan kecelakaan tahap I tersimpan.")
    match = re.search(r"/app/accidents/([0-9a-f-]{36})\?min_position=\d+$", page.url)
    assert match, page.url
    accident_id = match.group(1)
    await expect(page.get_by_role("heading", name="Laporan kecelakaan", exact=True)).to_be_visible()
    await expect(page.get_by_text(accident_id)).to_be_visible()

    # Stage II: the disability % asked for only with a partial disability
    percent = page.get_by_label("Persentase cacat (%)")
    await expect(percent).to_be_hidden()
    await page.get_by_label("Hasil pemeriksaan dokter").select_option(label="Cacat sebagian")
    await expect(percent).to_be_visible()
    statement = jakarta_minute(timedelta(0))
    await page.get_by_label("Tanggal surat keterangan dokter").fill(statement.date().isoformat())
    await page.get_by_label("Jam surat keterangan dokter (WIB)").fill(f"{statement:%H:%M}")
    await percent.fill("10")
    await page.get_by_label("Keterangan cacat").fill("Kehilangan ruas jari telunjuk kanan")
    await page.get_by_role("button", name="Simpan laporan tahap II dan ajukan klaim JKK").click()
    claim_id = jkk_claim_id(accident_id)
    await page.wait_for_url(f"**/app/claims/{claim_id}?min_position=*")
    await expect(page.get_by_role("status")).to_have_text("Klaim JKK diajukan.")

    # back on the accident: the claim is linked, no second Stage II form
    await page.goto(f"/app/accidents/{accident_id}")
    await expect(page.get_by_role("link", name="Buka klaim JKK")).to_have_attribute(
        "href", f"/app/claims/{claim_id}"
    )
    await expect(page.get_by_role("region", name="Tahap I: kejadian")).to_contain_text(
        tanggal(occurred.date())
    )
    await expect(page.get_by_role("button", name=re.compile("tahap II"))).to_have_count(0)

    # the officer reads the report back; so does the auditor
    await expect(page.get_by_role("region", name="Tahap I: kejadian")).to_contain_text(PLACE)
    await page.context.clear_cookies()
    await login(page, site, "auditor")
    await page.goto(f"/app/accidents/{accident_id}")
    stage_one = page.get_by_role("region", name="Tahap I: kejadian")
    await expect(stage_one).to_contain_text("Kecelakaan di tempat kerja")
    await expect(stage_one).to_contain_text(tanggal(occurred.date()))
    await expect(stage_one).to_contain_text(f"{occurred:%H.%M} WIB")
    await expect(stage_one).to_contain_text(PLACE)
    await expect(stage_one).to_contain_text(CHRONOLOGY)
    await expect(stage_one).to_contain_text(f"oleh {site.users['claim_officer']}")
    await expect(stage_one).to_contain_text("Tepat waktu")
    await expect(stage_one.get_by_role("row", name=re.compile("Rudi Hartono"))).to_contain_text(
        "Melihat korban jatuh"
    )
    await expect(stage_one.get_by_role("row", name=re.compile("Sari Wulandari"))).to_be_visible()
    stage_two = page.get_by_role("region", name="Tahap II: hasil pemeriksaan dokter")
    await expect(stage_two).to_contain_text("Cacat sebagian (10%)")
    await expect(stage_two).to_contain_text("Kehilangan ruas jari telunjuk kanan")


async def test_a_late_traffic_accident_needs_the_police_report(
    page: Page, site: Site, participant_id: str
) -> None:
    occurred = jakarta_minute(timedelta(hours=50))  # past the 2x24 hours: accepted, flagged
    await login(page, site, "claim_officer")
    await page.goto(f"/app/accidents/new?participant_id={participant_id}")
    police = page.get_by_label("Nomor laporan polisi")
    await expect(police).to_be_hidden()
    await page.get_by_label("Kecelakaan lalu lintas", exact=True).check()
    await expect(police).to_be_visible()
    await page.get_by_label("Tanggal kecelakaan").fill(occurred.date().isoformat())
    await page.get_by_label("Jam kecelakaan (WIB)").fill(f"{occurred:%H:%M}")
    await page.get_by_label("Jenis kecelakaan").select_option("commuting")
    await page.get_by_label("Tempat kejadian").fill("Jalan Lintas Kepahiang km 3")
    await page.get_by_label("Kronologi kejadian").fill("Motor tergelincir di tikungan")
    await page.get_by_label("Nama saksi 1").fill("Rudi Hartono")
    await page.get_by_label("Nama saksi 2").fill("Sari Wulandari")
    await page.get_by_role("button", name="Simpan laporan tahap I").click()
    await expect(page.get_by_text("wajib disertai nomor laporan polisi")).to_be_visible()
    await expect(police).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Kecelakaan lalu lintas", exact=True)).to_be_checked()

    await police.fill("LP/123/X/2026/Lantas")

    # the form sent twice (a double click, a retry) reports the accident once
    form = page.locator("form.accident-form")
    fields = await form.evaluate("f => Object.fromEntries(new FormData(f))")
    action = await form.get_attribute("action")
    assert action == f"/app/accidents/new?participant_id={participant_id}"
    sent = [await page.request.post(action, form=fields, max_redirects=0) for _ in range(2)]
    assert [r.status for r in sent] == [303, 303]
    assert sent[0].headers["location"] == sent[1].headers["location"]
    await page.goto(sent[1].headers["location"])
    await expect(page.get_by_role("status")).to_have_text("Laporan kecelakaan tahap I tersimpan.")
    position = page.url.rsplit("min_position=", 1)[1]
    timeline = await site.api("auditor").get(
        f"/audit/timeline/participant/{participant_id}", min_position=position
    )
    reported = [e for e in timeline["items"] if e["event_type"] == "AccidentReported"]
    assert len(reported) == 1
    assert "kecelakaan lalu lintas, terlambat" in reported[0]["summary"]

    accident_page = page.url
    await page.context.clear_cookies()
    await login(page, site, "auditor")
    await page.goto(accident_page)
    stage_one = page.get_by_role("region", name="Tahap I: kejadian")
    await expect(stage_one).to_contain_text("Ya, laporan polisi LP/123/X/2026/Lantas")
    await expect(stage_one.get_by_text(re.compile(r"^Terlambat \d+ jam$"))).to_be_visible()


async def test_a_death_claim_lands_on_the_claim_page(
    page: Page, site: Site, participant_id: str
) -> None:
    died_on = jakarta_minute(timedelta(0)).date()
    await login(page, site, "claim_officer")
    await page.goto(f"/app/accidents/death?participant_id={participant_id}")
    await expect(page.get_by_role("heading", name="Klaim JKM (kematian)")).to_be_visible()
    await page.get_by_label("Tanggal meninggal").fill((died_on + timedelta(days=2)).isoformat())
    await page.get_by_role("button", name="Ajukan klaim JKM").click()
    await expect(page.get_by_text("Tanggal meninggal harus sudah lewat")).to_be_visible()

    await page.get_by_label("Tanggal meninggal").fill(died_on.isoformat())
    await page.get_by_role("button", name="Ajukan klaim JKM").click()
    await page.wait_for_url(f"**/app/claims/{jkm_claim_id(participant_id)}?min_position=*")
    await expect(page.get_by_role("status")).to_have_text("Klaim JKM diajukan.")


async def test_an_auditor_gets_no_form_and_a_stranger_no_participant(
    page: Page, site: Site, participant_id: str
) -> None:
    await login(page, site, "auditor")
    await page.goto(f"/app/accidents/new?participant_id={participant_id}")
    await expect(page.get_by_role("alert")).to_have_text(
        "Anda tidak berhak melaporkan kecelakaan atau mengajukan klaim."
    )
    await expect(page.get_by_role("button", name="Simpan laporan tahap I")).to_have_count(0)

    await page.context.clear_cookies()
    await login(page, site, "claim_officer")
    for unknown in (str(uuid4()), "tidak-ada"):
        response = await page.goto(f"/app/accidents/new?participant_id={unknown}")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("alert")).to_contain_text("tidak ditemukan")
