"""The case board and a claim's page in a real browser, as the officers use them: a JKK claim
from the accident report to its payment with a supervisor's second approval, refusals said in
Indonesian with the input kept, what each role may see and do, and the board's filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from playwright.async_api import Locator, Page, expect

from services.claim_decider import jkk_claim_id
from services.domain.calendar import JAKARTA, business_date
from tests.api.conftest import worker
from tests.api.test_cohorts_api import cohort_body
from tests.api.test_payments_api import DUE, block, this_month
from tests.web.conftest import Site, login, screenshot

JKK_DOCUMENTS = ["ktp", "kpj_card", "accident_report", "doctor_statement", "bank_account"]
"""The checklist of a JKK claim without a traffic accident or a death."""
WITNESSES = [{"name": "Rudi Hartono"}, {"name": "Sari Wulandari"}]


async def paid_cohort(site: Site, size: int) -> tuple[list[dict[str, Any]], str]:
    """Workers of a cohort of their own, enrolled today, this month paid by the sponsor: the
    registration bodies (with their participant ids) and the payment's reference."""
    cohort = cohort_body(quota=size)
    await site.api("admin").post("/cohorts", cohort)
    await site.api("admin").post(f"/cohorts/{cohort['cohort_id']}/open")
    people = []
    for _ in range(size):
        body = worker(cohort["cohort_id"])
        registered = await site.api("registrar").post("/participants", body)
        people.append(body | {"participant_id": registered["resource"]["id"]})
    payment = block(cohort["cohort_id"], size * DUE, [this_month()])
    await site.api("finance").post("/payments", payment)
    return people, str(payment["reference"])


def jakarta_minute(ago: timedelta) -> datetime:
    """A moment `ago` in Asia/Jakarta, to the minute, but today (the workers joined today)."""
    now = datetime.now(UTC).astimezone(JAKARTA)
    moment = max(now - ago, now.replace(hour=0, minute=1))
    return moment.replace(second=0, microsecond=0)


async def filed_claim(site: Site, participant_id: str) -> str:
    """Stage I and Stage II (recovered) through the API: the JKK claim filed."""
    report = await site.api("claim_officer").post("/accidents", {
        "participant_id": participant_id, "occurred_at": jakarta_minute(timedelta(minutes=20))
        .isoformat(), "kind": "at_work", "place": "Pasar Kepahiang",
        "chronology": "Tertimpa karung saat bongkar muat", "witnesses": WITNESSES,
    })  # fmt: skip
    accident_id = report["resource"]["id"]
    await site.api("claim_officer").post(f"/accidents/{accident_id}/outcome", {
        "doctor_statement_at": datetime.now(UTC).isoformat(), "outcome": "recovered",
    })  # fmt: skip
    return jkk_claim_id(accident_id)


async def relogin(page: Page, site: Site, role: str) -> None:
    await page.context.clear_cookies()
    await login(page, site, role)


async def done(page: Page, message: str | re.Pattern[str]) -> None:
    """The command went through: its message shows on the page it redirected to."""
    await expect(page.get_by_role("status")).to_have_text(message)
    assert "min_position=" in page.url


def state_of(page: Page) -> Locator:
    return page.get_by_test_id("claim-state")


async def receive(page: Page, document: str, message: str | re.Pattern[str]) -> None:
    await page.get_by_label("Dokumen yang diterima").select_option(document)
    await page.get_by_role("button", name="Terima dokumen").click()
    await done(page, message)


async def decide_medical(page: Page, billed: str) -> None:
    await page.get_by_label("Biaya pengobatan ditagihkan (Rp)").fill(billed)
    await page.get_by_role("button", name="Putuskan klaim").click()


# -- a claim from the accident to its payment ----------------------------------------------------


async def test_a_claim_from_the_accident_to_payment_with_the_second_approval(
    page: Page, site: Site
) -> None:
    [person], payment_reference = await paid_cohort(site, 1)
    officer, supervisor = site.users["claim_officer"], site.users["supervisor"]

    # find the worker by NIK, report the accident (Stage I), then the doctor's outcome
    await login(page, site, "claim_officer")
    await page.goto("/app/participants")
    await page.get_by_label("NIK, KPJ atau nama").fill(person["nik"])
    await page.get_by_role("button", name="Cari", exact=True).click()
    await page.wait_for_url(f"**/app/participants/{person['participant_id']}**")
    await page.get_by_role("link", name="Laporkan kecelakaan").click()
    occurred = jakarta_minute(timedelta(minutes=30))
    await page.get_by_label("Tanggal kecelakaan").fill(occurred.date().isoformat())
    await page.get_by_label("Jam kecelakaan (WIB)").fill(f"{occurred:%H:%M}")
    await page.get_by_label("Jenis kecelakaan").select_option(label="Kecelakaan di tempat kerja")
    await page.get_by_label("Tempat kejadian").fill("Gudang Pasar Ujung Karang")
    await page.get_by_label("Kronologi kejadian").fill("Terjatuh dari tangga saat bongkar muat")
    await page.get_by_label("Nama saksi 1").fill("Rudi Hartono")
    await page.get_by_label("Nama saksi 2").fill("Sari Wulandari")
    await page.get_by_role("button", name="Simpan laporan tahap I").click()
    await expect(page.get_by_role("status")).to_have_text("Laporan kecelakaan tahap I tersimpan.")
    statement = jakarta_minute(timedelta(0))
    await page.get_by_label("Tanggal surat keterangan dokter").fill(statement.date().isoformat())
    await page.get_by_label("Jam surat keterangan dokter (WIB)").fill(f"{statement:%H:%M}")
    await page.get_by_label("Hasil pemeriksaan dokter").select_option(label="Sembuh")
    await page.get_by_role("button", name="Simpan laporan tahap II dan ajukan klaim JKK").click()
    await page.wait_for_url(re.compile(r"/app/claims/[0-9a-f-]{36}\?min_position=\d+$"))
    claim_url = page.url.split("?")[0]

    # the claim as filed: the worker, covered on the accident date by the sponsor's payment
    await expect(state_of(page)).to_have_text("Dilaporkan")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(person["name"])
    coverage = page.get_by_test_id("coverage")
    await expect(coverage).to_contain_text("Terlindungi")
    await expect(coverage).to_contain_text(payment_reference)
    await expect(page.get_by_test_id("participant-nik")).to_have_text(person["nik"])
    await expect(page.get_by_role("button", name="Mulai verifikasi")).to_have_count(0)

    # take it, submit it: it waits for the documents, the last one submits it
    await page.get_by_role("button", name="Ambil klaim ini").click()
    await done(page, "Klaim Anda ambil: Anda petugasnya.")
    await expect(page.get_by_test_id("claim-officer")).to_have_text(officer)
    await page.get_by_role("button", name="Ajukan klaim").click()
    await done(page, "Dokumen belum lengkap: klaim menunggu dokumen yang kurang.")
    await expect(state_of(page)).to_have_text("Dokumen belum lengkap")
    for document in JKK_DOCUMENTS[:-1]:
        await receive(page, document, re.compile(r"^Dokumen diterima: [^.]+\.$"))
    await receive(page, JKK_DOCUMENTS[-1], re.compile("Dokumen lengkap, klaim diajukan"))
    await expect(state_of(page)).to_have_text("Diajukan")
    await expect(page.get_by_test_id("documents")).not_to_contain_text("Kurang")
    await expect(page.get_by_test_id("sla")).to_contain_text(re.compile(r"\d hari kerja lagi"))
    await page.get_by_role("button", name="Mulai verifikasi").click()
    await done(page, "Verifikasi dimulai.")

    # above the four-eyes threshold without an NPWP: refused in Indonesian, the bills kept
    await decide_medical(page, "60.000.000")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("NPWP diperlukan")
    await expect(alert).not_to_contain_text("is above")
    await expect(page.get_by_label("Biaya pengobatan ditagihkan (Rp)")).to_have_value("60.000.000")
    await expect(state_of(page)).to_have_text("Dalam verifikasi")

    # returned for the NPWP; submitting again before it is in is refused
    await page.get_by_text("Kembalikan untuk dokumen yang kurang").click()
    await page.get_by_label("NPWP").check()
    await page.get_by_label("Alasan pengembalian").fill("Manfaat di atas batas, perlu NPWP")
    await page.get_by_role("button", name="Kembalikan klaim").click()
    await done(page, "Klaim dikembalikan untuk dokumen yang kurang.")
    await expect(state_of(page)).to_have_text("Dikembalikan")
    await page.get_by_role("button", name="Ajukan klaim").click()
    await expect(page.get_by_role("alert")).to_contain_text("dokumen masih kurang: NPWP")
    await receive(page, "npwp", re.compile("Dokumen lengkap, klaim diajukan"))
    await page.get_by_role("button", name="Mulai verifikasi").click()
    await done(page, "Verifikasi dimulai.")
    await decide_medical(page, "60.000.000")
    await done(page, "Persetujuan pertama tercatat. Klaim menunggu persetujuan kedua.")
    await expect(state_of(page)).to_have_text("Menunggu persetujuan kedua")
    lines = page.get_by_test_id("benefit-lines")
    await expect(lines).to_contain_text("Biaya pengobatan dan perawatan")
    await expect(lines).to_contain_text("Rp60.000.000 sesuai tagihan (tanpa batas)")
    await expect(page.get_by_test_id("benefit-total")).to_have_text("Rp60.000.000")
    await expect(page.get_by_role("button", name="Berikan persetujuan kedua")).to_have_count(0)

    # the supervisor gives the second approval
    await relogin(page, site, "supervisor")
    await page.goto(claim_url)
    await page.get_by_role("button", name="Berikan persetujuan kedua").click()
    await done(page, "Persetujuan kedua tercatat: klaim disetujui.")
    await expect(state_of(page)).to_have_text("Disetujui")
    await expect(page.get_by_test_id("decision")).to_contain_text(
        f"oleh {supervisor}, diusulkan oleh {officer}"
    )
    await expect(page.get_by_role("button", name="Catat pembayaran")).to_have_count(0)

    # the officer records the payment
    await relogin(page, site, "claim_officer")
    await page.goto(claim_url)
    transfer = f"TRF-{uuid4().hex[:8]}"
    await page.get_by_label("Nomor referensi transfer").fill(transfer)
    await page.get_by_role("button", name="Catat pembayaran").click()
    await done(page, "Pembayaran tercatat: klaim dibayar.")
    await expect(state_of(page)).to_have_text("Dibayar")
    await expect(page.get_by_test_id("decision")).to_contain_text("Rp60.000.000 pada")
    await expect(page.get_by_test_id("sla")).to_contain_text("tepat waktu")
    await expect(page.get_by_test_id("timeline")).to_contain_text("Klaim dibayar")
    await screenshot(page, "claim.png")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing spills over
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "claim-phone.png")
    await page.set_viewport_size({"width": 1280, "height": 800})

    # the auditor reads the whole timeline, who did what, and may change nothing
    await relogin(page, site, "auditor")
    await page.goto(claim_url)
    await expect(state_of(page)).to_have_text("Dibayar")
    await expect(page.get_by_test_id("read-only")).to_be_visible()
    await expect(page.locator("form[action^='/app/claims/']")).to_have_count(0)
    timeline = page.get_by_test_id("timeline")
    rows = {
        "Klaim dibayar: Rp60.000.000": officer,
        f"Klaim disetujui oleh {supervisor}": supervisor,
        f"Persetujuan pertama oleh {officer}": officer,
        "Klaim dikembalikan": officer,
        f"Klaim ditugaskan kepada {officer}": officer,
    }
    for summary, actor in rows.items():
        row = timeline.get_by_role("row").filter(has_text=summary).first
        await expect(row).to_contain_text(actor)
    await expect(page.get_by_test_id("participant-nik")).not_to_have_text(person["nik"])


# -- who may see what ----------------------------------------------------------------------------


async def test_finance_may_not_open_the_claims(page: Page, site: Site) -> None:
    await login(page, site, "finance")
    await page.goto("/app/claims")
    await expect(page.get_by_role("heading", name="Tidak dapat ditampilkan")).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_text(re.compile(r"tidak (berhak|mengizinkan)"))
    await expect(page.get_by_test_id("claim-card")).to_have_count(0)


async def test_a_supervisor_reassigns_but_does_not_work_the_claim(page: Page, site: Site) -> None:
    [person], _ = await paid_cohort(site, 1)
    claim_id = await filed_claim(site, person["participant_id"])
    await login(page, site, "supervisor")
    await page.goto(f"/app/claims/{claim_id}")
    await expect(page.get_by_role("button", name="Ambil klaim ini")).to_have_count(0)
    await expect(page.get_by_role("button", name="Terima dokumen")).to_have_count(0)

    await page.get_by_text("Alihkan ke petugas lain").click()
    await page.get_by_label("Petugas baru (nama pengguna)").fill("tidak-ada-orangnya")
    await page.get_by_role("button", name="Alihkan klaim").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_label("Petugas baru (nama pengguna)")).to_have_value(
        "tidak-ada-orangnya"
    )
    colleague = site.users["claim_officer2"]
    await page.get_by_label("Petugas baru (nama pengguna)").fill(colleague)
    await page.get_by_role("button", name="Alihkan klaim").click()
    await done(page, f"Klaim dialihkan kepada {colleague}.")
    await expect(page.get_by_test_id("claim-officer")).to_have_text(colleague)


# -- the board -----------------------------------------------------------------------------------


async def test_the_board_filters_by_officer_and_sla(page: Page, site: Site) -> None:
    """Two claims: one submitted (its deadline running) worked by one officer, one still
    waiting for documents worked by another. Filters narrow the board; with JavaScript the
    list swaps in place and the address follows."""
    [first, second], _ = await paid_cohort(site, 2)
    running = await filed_claim(site, first["participant_id"])
    waiting = await filed_claim(site, second["participant_id"])
    ani, budi = site.users["claim_officer"], site.users["claim_officer2"]
    await site.api("claim_officer").post(f"/claims/{running}/assignment", {"officer": ani})
    for document in JKK_DOCUMENTS:
        await site.api("claim_officer").post(f"/claims/{running}/documents",
                      {"document": document})  # fmt: skip
    await site.api("claim_officer").post(f"/claims/{running}/submission")
    await site.api("claim_officer2").post(f"/claims/{waiting}/assignment", {"officer": budi})

    await login(page, site, "claim_officer")
    cards = page.get_by_test_id("claim-card")
    first_card = cards.filter(has_text=first["name"])
    second_card = cards.filter(has_text=second["name"])
    await expect(first_card).to_contain_text(
        re.compile(r"\d hari kerja lagi\s+\(batas \d+ \w+ \d{4}\)")
    )
    await expect(first_card).to_contain_text("Diajukan")
    await expect(second_card).to_contain_text("Belum berjalan: dokumen belum lengkap")
    await expect(second_card).to_contain_text(site.users["claim_officer2"])

    # by officer, without JavaScript's help: the GET form's address
    await page.goto(f"/app/claims?officer={site.users['claim_officer2']}")
    await expect(second_card).to_be_visible()
    await expect(first_card).to_have_count(0)

    # SLA breached (as of three weeks on, unpaid): only the claim whose deadline runs
    later = business_date(datetime.now(UTC)) + timedelta(days=21)
    await page.goto(f"/app/claims?as_of={later.isoformat()}")
    await page.get_by_label("Status SLA").select_option(label="Melewati SLA")
    await page.wait_for_url(re.compile(r"sla=breached"))
    await expect(first_card).to_contain_text(re.compile(r"terlambat \d+ hari kerja"))
    await expect(first_card).to_have_class(re.compile("is-breached"))
    await expect(second_card).to_have_count(0)
    await expect(page.get_by_role("heading", name="Papan klaim")).to_have_count(1)  # swapped
    await screenshot(page, "claim-board.png")

    await page.get_by_label("Petugas").fill(site.users["claim_officer2"])
    await page.get_by_role("button", name="Terapkan saringan").click()
    await expect(
        page.get_by_text("Tidak ada klaim yang cocok dengan saringan ini.")
    ).to_be_visible()
    await expect(cards).to_have_count(0)
