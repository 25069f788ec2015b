"""The cohort pages in a real browser: the list, and a cohort's dashboard with its quota and
waiting list, the due-and-paid chart with its table, and arrears per village, for a cohort
set up through the API (more registrations than the quota, a sponsor's block payment)."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
from playwright.async_api import Page, expect

from services.domain.calendar import JAKARTA, Month, business_date, due_date
from services.domain.regions import Desa, default_regions
from services.web.format import bulan
from tests.web.conftest import Site, login, screenshot

DUE = 16_800
"""A month of JKK + JKM at the minimum declared income."""
QUOTA = 3
_numbers = itertools.count(random.randrange(20_000_000, 90_000_000, 1000))
KECAMATAN = "17.08.01"
VILLAGES = sorted(
    (d for d in default_regions().desa.values() if d.kecamatan_code == KECAMATAN),
    key=lambda d: d.code,
)[:2]
KECAMATAN_NAME = default_regions().kecamatan[KECAMATAN].name


def today() -> date:
    return business_date(datetime.now(UTC))


def cohort_body(quota: int = QUOTA) -> dict[str, Any]:
    """A cohort of our own covering this month and the next two (Asia/Jakarta)."""
    this = Month.of(today())
    return {
        "cohort_id": f"web{uuid4().hex[:10]}",
        "name": f"Kohort uji {uuid4().hex[:6]}",
        "sponsor": "APBD Kabupaten Kepahiang",
        "budget_year": this.year,
        "quota": quota,
        "programmes": ["JKK", "JKM"],
        "coverage_start": this.first_day.isoformat(),
        "coverage_end": (this + 2).last_day.isoformat(),
        "budget_allocation": 100_000_000,
        "legal_basis": ["Inpres 2/2021"],
    }


def worker_body(cohort_id: str, village: Desa) -> dict[str, Any]:
    """POST /participants for a new worker of `village`: a NIK no other test uses, whose birth
    date and sex agree with the body."""
    n = next(_numbers)
    born = date(1960, 1, 1) + timedelta(days=(n * 37) % 14000)
    sex = "P" if n % 2 else "L"
    day = born.day + (40 if sex == "P" else 0)
    kecamatan = village.kecamatan_code
    return {
        "cohort_id": cohort_id,
        "nik": f"1708{kecamatan[-2:]}{day:02d}{born:%m%y}{n % 9999 + 1:04d}",
        "name": f"Pekerja {uuid4().hex[:8]}",
        "birth_date": born.isoformat(),
        "sex": sex,
        "phone": f"08{5300000000 + n % 10**9}",
        "kecamatan": kecamatan,
        "desa": village.code,
        "occupation": "ojek",
        "declared_income": 1_000_000,
    }


def block(cohort_id: str, months: list[Month], amount: int) -> dict[str, Any]:
    """A sponsor's payment for the whole cohort, received a minute ago."""
    return {
        "reference": f"SP2D-{uuid4().hex[:10]}",
        "payer": "APBD Kabupaten Kepahiang",
        "payer_kind": "sponsor",
        "channel": "bank_transfer",
        "amount": amount,
        "paid_at": (datetime.now(JAKARTA) - timedelta(minutes=1)).isoformat(),
        "months": [str(m) for m in months],
        "cohort_id": cohort_id,
    }


@dataclass
class Cohort:
    cohort_id: str
    name: str
    members: list[dict[str, Any]]
    """Registration bodies of the members, in order: two of VILLAGES[0], one of VILLAGES[1]."""
    waiting: list[dict[str, Any]]
    """Those beyond the quota, in order."""


async def cohort_with_waiting_list(site: Site) -> Cohort:
    """An open cohort whose quota is taken, with two workers on its waiting list."""
    body = cohort_body()
    await site.api("admin").post("/cohorts", body)
    await site.api("admin").post(f"/cohorts/{body['cohort_id']}/open")
    homes = [VILLAGES[0], VILLAGES[0], VILLAGES[1], VILLAGES[1], VILLAGES[0]]
    people = [worker_body(body["cohort_id"], village) for village in homes]
    for person in people:
        await site.api("registrar").post("/participants", person)
    return Cohort(body["cohort_id"], body["name"], people[:QUOTA], people[QUOTA:])


async def test_the_dashboard_shows_quota_waiting_list_chart_and_arrears_per_village(
    page: Page, site: Site
) -> None:
    cohort = await cohort_with_waiting_list(site)
    this = Month.of(today())
    # the sponsor pays next month for every member; this month stays unpaid
    async with httpx.AsyncClient(base_url=site.base_url, timeout=30) as client:
        paid = await client.post(
            "/payments",
            json=block(cohort.cohort_id, [this + 1], QUOTA * DUE),
            headers={"Authorization": f"Bearer {site.tokens['finance']}"},
        )
    assert paid.status_code == 201, paid.text

    await login(page, site, "finance")
    await page.goto("/app/cohorts")
    await expect(page.get_by_role("heading", name="Kohort", exact=True)).to_be_visible()
    await page.get_by_role("link", name=cohort.name).click()
    await expect(page.get_by_role("heading", name=cohort.name)).to_be_visible()
    await expect(page.get_by_test_id("quota-used")).to_have_text("3 dari 3 kuota terpakai")
    await expect(page.get_by_test_id("waitlisted")).to_have_text("2 orang")

    # the payment's effect, read after its position
    await page.goto(f"/app/cohorts/{cohort.cohort_id}?min_position={paid.json()['position']}")
    chart = page.get_by_role("img", name="Iuran jatuh tempo dan dibayar per bulan")
    await expect(chart).to_be_visible()
    await expect(chart.locator("g.bar")).to_have_count(3)
    months = page.get_by_role("table", name="Iuran per bulan")
    for month, paid_amount, short in ((this, "Rp0", "Rp50.400"), (this + 1, "Rp50.400", "Rp0"),
                                      (this + 2, "Rp0", "Rp50.400")):  # fmt: skip
        row = months.get_by_role("row", name=bulan(month))
        await expect(row.get_by_role("cell")).to_have_text(["3", "Rp50.400", paid_amount, short])
    paid_bar = chart.locator(f'g.bar[data-month="{this + 1}"]')
    due_height = await paid_bar.locator("rect.due").get_attribute("height")
    await expect(paid_bar.locator("rect.paid")).to_have_attribute("height", str(due_height))
    unpaid_bar = chart.locator(f'g.bar[data-month="{this}"]')
    await expect(unpaid_bar.locator("rect.paid")).to_have_attribute("height", "0.0")

    waiting = page.get_by_role("table", name="Daftar tunggu")
    for place, person in enumerate(cohort.waiting, start=1):
        row = waiting.get_by_role("row").filter(has_text=person["name"])
        await expect(row.get_by_role("cell").first).to_have_text(str(place))
        link = row.get_by_role("link", name=person["name"])
        await expect(link).to_have_attribute(
            "href", re.compile(r"^/app/participants/[0-9a-f-]{36}$")
        )

    villages = page.get_by_role("table", name="Tunggakan per desa")
    if today() > due_date(this):  # this month is past its due date, unpaid: in arrears
        first = villages.get_by_role("row", name=VILLAGES[0].name)
        await expect(first.get_by_role("cell")).to_have_text([KECAMATAN_NAME, "2", "2", "Rp33.600"])
        second = villages.get_by_role("row", name=VILLAGES[1].name)
        await expect(second.get_by_role("cell")).to_have_text(
            [KECAMATAN_NAME, "1", "1", "Rp16.800"]
        )
        await expect(page.get_by_test_id("payers-arrears")).to_contain_text("Rp50.400")
    else:  # this month is not due yet: nobody can be in arrears
        await expect(villages).to_contain_text("Tidak ada anggota yang menunggak.")
    await screenshot(page, "cohort-dashboard.png")


async def test_an_administrator_sees_the_budget_but_not_the_people(page: Page, site: Site) -> None:
    cohort = await cohort_with_waiting_list(site)
    await login(page, site, "admin")
    await page.goto(f"/app/cohorts/{cohort.cohort_id}")
    await expect(page.get_by_test_id("quota-used")).to_have_text("3 dari 3 kuota terpakai")
    await expect(
        page.get_by_role("img", name="Iuran jatuh tempo dan dibayar per bulan")
    ).to_be_visible()
    await expect(page.get_by_role("heading", name="Daftar tunggu", exact=True)).to_have_count(0)
    await expect(page.get_by_role("heading", name="Tunggakan per desa")).to_have_count(0)


async def test_an_unknown_cohort_is_a_page_in_indonesian(page: Page, site: Site) -> None:
    await login(page, site, "finance")
    response = await page.goto("/app/cohorts/nosuchcohort")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("alert")).to_have_text(re.compile("tidak ditemukan", re.I))
