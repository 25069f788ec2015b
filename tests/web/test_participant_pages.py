"""The participant pages in a real browser: finding a participant by NIK, KPJ-less name search
(live with htmx, and without JavaScript), their contribution months as a calendar strip, the
masking of NIKs by role, the sections each role may read, and a phone-sized screen."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.api.conftest import worker
from tests.web.conftest import Site, login, screenshot

JAKARTA = ZoneInfo("Asia/Jakarta")
DUE = 16_800
"""A month of JKK + JKM at the minimum declared income (Rp1.000.000)."""
BULAN = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)  # fmt: skip
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Member:
    participant_id: str
    nik: str
    name: str


@dataclass(frozen=True)
class Cohort:
    cohort_id: str
    surname: str
    """Shared by every member's name: a name search finds them all, and nobody else."""
    members: list[Member]
    reference: str
    """The sponsor's payment for this month."""
    first_day: date
    deceased: Member
    """Another member (not of `surname`), whose heirs filed a JKM claim."""
    claim_id: str


def _first_day_of_this_month() -> date:
    return datetime.now(UTC).astimezone(JAKARTA).date().replace(day=1)


def _cohort_body(cohort_id: str, first_day: date) -> dict[str, Any]:
    """A cohort covering this month and the eleven after it."""
    end = date(first_day.year + 1, first_day.month, 1) - timedelta(days=1)
    return {
        "cohort_id": cohort_id, "name": f"Pekerja rentan uji {cohort_id}",
        "sponsor": "APBD Kabupaten Kepahiang", "budget_year": first_day.year, "quota": 10,
        "programmes": ["JKK", "JKM"], "coverage_start": first_day.isoformat(),
        "coverage_end": end.isoformat(), "budget_allocation": 100_000_000,
        "legal_basis": ["Inpres 2/2021"],
    }  # fmt: skip


@pytest.fixture(scope="module")
async def cohort(site: Site) -> Cohort:
    """Two enrolled workers of a cohort of our own, this month paid by the sponsor on the 1st."""
    first_day = _first_day_of_this_month()
    cohort_id = f"webp{uuid4().hex[:10]}"
    admin = site.api("admin")
    await admin.post("/cohorts", _cohort_body(cohort_id, first_day))
    await admin.post(f"/cohorts/{cohort_id}/open")
    surname = f"Wulandari{uuid4().hex[:6]}"
    members = []
    for given in ("Sari", "Rina"):
        body = worker(cohort_id, name=f"{given} {surname}")
        answer = await site.api("registrar").post("/participants", body)
        members.append(Member(answer["resource"]["id"], body["nik"], body["name"]))
    reference = f"SP2D-{uuid4().hex[:10]}"
    paid_at = datetime.combine(first_day, time(0, 0, 1), JAKARTA)
    await site.api("finance").post("/payments", {
        "reference": reference, "payer": "APBD Kabupaten Kepahiang", "payer_kind": "sponsor",
        "channel": "bank_transfer", "amount": len(members) * DUE,
        "paid_at": paid_at.isoformat(), "months": [f"{first_day:%Y-%m}"], "cohort_id": cohort_id,
    })  # fmt: skip
    body = worker(cohort_id, name=f"Dewi Lestari{uuid4().hex[:6]}")
    answer = await site.api("registrar").post("/participants", body)
    deceased = Member(answer["resource"]["id"], body["nik"], body["name"])
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    death = {"participant_id": deceased.participant_id, "died_on": today.isoformat()}
    claim_id = await _file_death_claim(site, death)
    return Cohort(cohort_id, surname, members, reference, first_day, deceased, claim_id)


async def _file_death_claim(site: Site, body: dict[str, Any]) -> str:
    """As the claim officer; waited for as the auditor (SiteApi.post waits through GET
    /cohorts, which a claim officer may not read)."""
    officer = site.api("claim_officer")
    async with httpx.AsyncClient(base_url=site.base_url, timeout=30) as client:
        response = await client.post("/claims/death", json=body, headers=officer.headers)
    assert response.status_code == 201, response.text
    await site.api("auditor").wait_for(response.json()["position"])
    claim_id: str = response.json()["resource"]["id"]
    return claim_id


def _tanggal(day: date) -> str:
    return f"{day.day} {BULAN[day.month - 1]} {day.year}"


def _masked(nik: str) -> str:
    return f"{nik[:4]}{'*' * 8}{nik[-4:]}"


async def _search(page: Page, text: str) -> None:
    await page.goto("/app/participants")
    await page.get_by_label("NIK, KPJ atau nama").fill(text)


async def test_a_nik_opens_the_participant_with_their_paid_month(
    page: Page, site: Site, cohort: Cohort
) -> None:
    sari = cohort.members[0]
    await login(page, site, "registrar")
    await _search(page, sari.nik)
    await page.wait_for_url(f"**/app/participants/{sari.participant_id}")

    await expect(page.get_by_role("heading", name=sari.name, level=1)).to_be_visible()
    await expect(page.get_by_test_id("nik")).to_have_text(sari.nik)  # the registrar: in clear
    await expect(page.get_by_test_id("standing")).to_contain_text("Aktif")
    await expect(page.get_by_test_id("funder")).to_have_text(
        "APBD Kabupaten Kepahiang (sponsor kohort)"
    )

    month = page.get_by_test_id(f"month-{cohort.first_day:%Y-%m}")
    this_month = f"{BULAN[cohort.first_day.month - 1]} {cohort.first_day.year}"
    await expect(month).to_contain_text(this_month)
    await expect(month).to_contain_text("Lunas")
    await expect(month).to_contain_text("Rp16.800 dari Rp16.800")
    await expect(month).to_contain_text(f"Dibayar {_tanggal(cohort.first_day)}")
    await expect(month).to_contain_text(cohort.reference)

    payment = page.get_by_role("row").filter(has_text=cohort.reference)
    await expect(payment).to_contain_text("Rp16.800")
    await expect(payment).to_contain_text(_tanggal(cohort.first_day))
    await expect(payment).to_contain_text("Berlaku")

    # the registrar reads the timeline but neither claims nor reminders, nor reports accidents
    for hidden in ("Klaim", "Pengingat iuran"):
        await expect(page.get_by_role("heading", name=hidden, exact=True)).to_have_count(0)
    await expect(page.get_by_role("heading", name="Riwayat", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="Laporkan kecelakaan")).to_have_count(0)
    await screenshot(page, "participant.png")


async def test_a_name_lists_the_participants_live_with_masked_niks_for_finance(
    page: Page, site: Site, cohort: Cohort
) -> None:
    await login(page, site, "finance")
    await _search(page, cohort.surname.lower())  # no button pressed: htmx answers the typing

    rows = page.get_by_role("table").get_by_role("row")
    await expect(rows).to_have_count(1 + len(cohort.members))
    for member in cohort.members:
        row = rows.filter(has_text=member.name)
        await expect(row).to_contain_text(_masked(member.nik))
        await expect(row).not_to_contain_text(member.nik)
        await expect(row).to_contain_text("Aktif")
    await expect(page).to_have_url(re.compile(f"q={cohort.surname.lower()}"))  # shareable

    await page.get_by_label("Status").select_option(label="Menunggak")
    await expect(page.get_by_role("status")).to_have_text(
        "Tidak ada peserta yang cocok dengan pencarian ini."
    )
    await page.get_by_label("Status").select_option(label="Aktif")
    await expect(rows).to_have_count(1 + len(cohort.members))
    await screenshot(page, "participant-search.png")

    await rows.get_by_role("link", name=cohort.members[1].name).click()
    await expect(page.get_by_test_id("nik")).to_have_text(_masked(cohort.members[1].nik))
    await expect(page.get_by_role("heading", name="Pengingat iuran")).to_be_visible()


async def test_the_search_works_without_javascript(
    browser: Browser, site: Site, cohort: Cohort
) -> None:
    context = await browser.new_context(base_url=site.base_url, java_script_enabled=False)
    page = await context.new_page()
    try:
        await login(page, site, "claim_officer")
        await _search(page, cohort.surname)
        await page.get_by_role("button", name="Cari").click()
        rows = page.get_by_role("table").get_by_role("row")
        await expect(rows).to_have_count(1 + len(cohort.members))
        await expect(rows.filter(has_text=cohort.members[0].name)).to_contain_text(
            cohort.members[0].nik  # a claim officer identifies workers: NIKs in clear
        )
    finally:
        await context.close()


async def test_an_unknown_nik_is_not_found_in_indonesian(
    page: Page, site: Site, cohort: Cohort
) -> None:
    stranger = worker(cohort.cohort_id)["nik"]  # a valid NIK nobody registered
    await login(page, site, "registrar")
    await _search(page, stranger)
    await expect(page.get_by_role("status")).to_contain_text(
        f"Peserta dengan NIK {stranger} tidak ditemukan"
    )
    await _search(page, "12345")
    await expect(page.get_by_role("status")).to_contain_text("bukan NIK (16 digit) maupun KPJ")


async def test_each_role_sees_the_sections_it_may_read(
    page: Page, site: Site, cohort: Cohort
) -> None:
    sari = cohort.members[0]
    await login(page, site, "auditor")
    await page.goto(f"/app/participants/{sari.participant_id}")
    await expect(page.get_by_test_id("nik")).to_have_text(_masked(sari.nik))
    timeline = page.get_by_role("list").filter(has_text=site.users["registrar"])
    await expect(timeline.first).to_be_visible()  # who registered her, in the audit timeline
    await expect(page.get_by_role("heading", name="Klaim", exact=True)).to_be_visible()
    await expect(page.get_by_text("Belum ada klaim.")).to_be_visible()
    await expect(page.get_by_role("link", name="Laporkan kecelakaan")).to_have_count(0)

    await page.context.clear_cookies()
    await login(page, site, "claim_officer")
    await page.goto(f"/app/participants/{sari.participant_id}")
    report = page.get_by_role("link", name="Laporkan kecelakaan")
    await expect(report).to_have_attribute(
        "href", f"/app/accidents/new?participant_id={sari.participant_id}"
    )
    await expect(page.get_by_role("link", name="Klaim JKM (meninggal dunia)")).to_have_attribute(
        "href", f"/app/accidents/death?participant_id={sari.participant_id}"
    )
    await expect(page.get_by_role("heading", name="Riwayat")).to_be_visible()

    await page.goto(f"/app/participants/{cohort.deceased.participant_id}")
    claim = page.get_by_role("row").filter(has_text="JKM (kematian)")
    await expect(claim.get_by_role("link", name=cohort.claim_id)).to_have_attribute(
        "href", f"/app/claims/{cohort.claim_id}"
    )


async def test_the_pages_fit_a_phone(page: Page, site: Site, cohort: Cohort) -> None:
    await page.set_viewport_size(PHONE)
    await login(page, site, "auditor")
    await _search(page, cohort.surname)
    await expect(page.get_by_role("table").get_by_role("row")).to_have_count(3)
    assert await _page_width(page) <= PHONE["width"] + 4
    await page.get_by_role("link", name=cohort.members[0].name).click()
    month = page.get_by_test_id(f"month-{cohort.first_day:%Y-%m}")
    await expect(month).to_contain_text("Lunas")
    assert await _page_width(page) <= PHONE["width"] + 4
    await screenshot(page, "participant-phone.png")


async def _page_width(page: Page) -> int:
    """The page's width (px): wider than the screen means sideways scrolling of the page
    itself; tables scroll inside their own frame instead."""
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width


async def test_a_long_name_search_pages_on_with_berikutnya(page: Page, site: Site) -> None:
    """27 namesakes: 25 on the first page, the last 2 after "Berikutnya", none twice."""
    first_day = _first_day_of_this_month()
    cohort_id = f"webq{uuid4().hex[:10]}"
    admin = site.api("admin")
    await admin.post("/cohorts", {**_cohort_body(cohort_id, first_day), "quota": 30})
    await admin.post(f"/cohorts/{cohort_id}/open")
    surname = f"Halaman{uuid4().hex[:6]}"
    registrar = site.api("registrar")
    for n in range(27):
        await registrar.post("/participants", worker(cohort_id, name=f"Warga{n:02d} {surname}"))

    await login(page, site, "registrar")
    await page.goto(f"/app/participants?q={surname}")
    rows = page.get_by_role("table").locator("tbody tr")
    await expect(rows).to_have_count(25)
    first = set(await rows.locator("td:first-child").all_inner_texts())
    await page.get_by_role("link", name="Berikutnya").click()
    await expect(rows).to_have_count(2)
    rest = set(await rows.locator("td:first-child").all_inner_texts())
    assert not first & rest
    assert first | rest == {f"Warga{n:02d} {surname}" for n in range(27)}
    assert "cursor=" in page.url  # htmx pushed the page's address
    await expect(page.get_by_role("link", name="Berikutnya")).to_have_count(0)
