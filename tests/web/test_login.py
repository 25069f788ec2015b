"""Logging in and out in a real browser; strangers are sent to the login form."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.web.conftest import PASSWORD, Site, login


async def test_a_stranger_is_sent_to_the_login_form_and_back(page: Page, site: Site) -> None:
    await page.goto("/app/claims?state=submitted")
    await expect(page.get_by_role("heading", name="Masuk ke Jaga")).to_be_visible()
    await page.get_by_label("Nama pengguna").fill(site.users["claim_officer"])
    await page.get_by_label("Kata sandi").fill("salah-sekali")
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")

    await page.get_by_label("Kata sandi").fill(PASSWORD)  # the form kept where to go back to
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_test_id("who")).to_contain_text(site.users["claim_officer"])
    await expect(page.get_by_test_id("who")).to_contain_text("Petugas klaim")
    assert page.url.endswith("/app/claims?state=submitted")


async def test_logging_out_ends_the_session(page: Page, site: Site) -> None:
    await login(page, site, "auditor")
    await expect(page.get_by_test_id("who")).to_contain_text("Auditor")
    await page.get_by_role("button", name="Keluar").click()
    await expect(page.get_by_role("heading", name="Masuk ke Jaga")).to_be_visible()
    await page.goto("/app/claims")
    await expect(page.get_by_role("heading", name="Masuk ke Jaga")).to_be_visible()


async def test_each_role_starts_where_its_work_is_and_sees_only_its_menu(
    page: Page, site: Site
) -> None:
    menu = page.get_by_role("navigation", name="Menu utama")
    for role, home, shown, hidden in [
        ("claim_officer", "/app/claims", ["Klaim", "Peserta"], ["Kohort", "Audit"]),
        ("finance", "/app/cohorts", ["Peserta", "Kohort"], ["Klaim", "Audit"]),
        ("registrar", "/app/participants", ["Peserta", "Kohort"], ["Klaim", "Audit"]),
        ("auditor", "/app/claims", ["Klaim", "Peserta", "Kohort", "Audit"], []),
    ]:
        await page.context.clear_cookies()
        await login(page, site, role)
        assert page.url.endswith(home), (role, page.url)
        for name in shown:
            await expect(menu.get_by_role("link", name=name, exact=True)).to_be_visible()
        for name in hidden:
            await expect(menu.get_by_role("link", name=name, exact=True)).to_have_count(0)
        await page.goto("/")
        assert page.url.endswith(home), (role, page.url)
