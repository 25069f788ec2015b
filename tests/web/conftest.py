"""The pages in a real browser: `jaga serve` and `jaga worker` as processes on a database of
their own, an account for each role, and Chromium driven by Playwright.

`site` is shared by the whole session (starting it costs seconds); each test gets a fresh
browser context (`page`), logs in as the role it needs, and sets up its data through the
HTTP API (`SiteApi`), as the regency's other tools would.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from events.catalog import registry
from events.personal import MasterKeys
from events.store import Context, EventStore
from services import bootstrap
from services.access import Principal, Role
from services.bootstrap import migrate_database
from services.config import Settings
from services.processes import choose_port
from services.users import CreateUser
from tests.conftest import with_path
from tests.web.browser import chromium_executable
from tests.workers.conftest import JagaProcess

MASTER_KEYS = MasterKeys.generate("web1")
LOOKUP_KEY = base64.b64encode(b"lookup-key-of-the-page-tests-32by").decode()
PASSWORD = "kopi-kepahiang-2025"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
"""Where `JAGA_SCREENSHOTS=1` keeps the pictures of the main pages the README shows."""


@dataclass
class Site:
    """Jaga running for the browser: its address, the accounts, the processes."""

    base_url: str
    database_url: str
    users: dict[str, str] = field(default_factory=dict)
    """Username per role name ("claim_officer", ...; "supervisor2" a second supervisor)."""
    tokens: dict[str, str] = field(default_factory=dict)
    processes: list[JagaProcess] = field(default_factory=list)

    def api(self, role: str) -> SiteApi:
        return SiteApi(self.base_url, self.tokens[role], self.tokens["auditor"])


class SiteApi:
    """The HTTP API as one role's tool uses it: commands that must succeed, waited for by the
    read models before the next page shows them."""

    def __init__(self, base_url: str, token: str, reader_token: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self._reader = {"Authorization": f"Bearer {reader_token}"}
        """Waiting for the read models needs a read every role may not have: the auditor's."""

    async def post(self, path: str, body: Any = None) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.post(path, json=body, headers=self.headers)
        assert response.status_code in (200, 201), (path, response.text)
        answer: dict[str, Any] = response.json()
        await self.wait_for(answer["position"])
        return answer

    async def get(self, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.get(path, params=params, headers=self.headers)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    async def wait_for(self, position: int, patience: float = 60.0) -> None:
        """Until every read model has reached `position` (the workers project it). The API
        waits 5 s per request; on a machine busy with other tests, ask again for a while."""
        deadline = time.monotonic() + patience
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            while True:
                response = await client.get(
                    "/cohorts", params={"min_position": position, "limit": 1},
                    headers=self._reader,
                )  # fmt: skip
                if response.status_code != 503 or time.monotonic() > deadline:
                    break
        assert response.status_code == 200, response.text


@pytest.fixture(scope="session")
async def site(
    database_url: str,
    redis_url: str,
    redis_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Site]:
    name = f"jaga_web_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_path(database_url, f"/{name}")
    await migrate_database(url)
    tmp = tmp_path_factory.mktemp("site")
    port = choose_port()
    env = {
        **os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url,
        "JAGA_REDIS_NAMESPACE": f"{redis_namespace}-web", "JAGA_MASTER_KEYS": MASTER_KEYS,
        "JAGA_LOOKUP_KEY": LOOKUP_KEY, "JAGA_DATA_DIR": str(tmp / "data"),
        "JAGA_WAKE_INTERVAL": "0.5", "JAGA_PORT": str(port), "JAGA_LOG_LEVEL": "INFO",
    }  # fmt: skip
    site = Site(f"http://127.0.0.1:{port}", url)
    try:
        worker = JagaProcess(["worker", "--threads", "4"], env, tmp / "worker.log")
        site.processes.append(worker)
        scheduler = JagaProcess(["scheduler"], env, tmp / "scheduler.log")
        site.processes.append(scheduler)
        api = JagaProcess(["serve"], env, tmp / "serve.log")
        site.processes.append(api)
        worker.wait_for("worker running")
        _wait_healthy(site.base_url, api)
        await _accounts(site)
        yield site
    finally:
        for process in reversed(site.processes):
            process.stop()
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _wait_healthy(base_url: str, process: JagaProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.proc.poll() is None, f"jaga serve exited:\n{process.output()}"
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"jaga serve not up in {timeout}s:\n{process.output()}"
        time.sleep(0.1)


async def _accounts(site: Site) -> None:
    """One account per role, and a second supervisor and claim officer."""
    store = await EventStore.connect(site.database_url, registry, min_size=1, max_size=2)
    try:
        accounts = bootstrap.accounts(Settings(), store)
        operator = Principal("operator", frozenset({Role.ADMIN}))
        wanted = [(role.value, role.value) for role in Role]
        wanted += [("supervisor2", "supervisor"), ("claim_officer2", "claim_officer")]
        for key, role in wanted:
            username = key.replace("_", "")
            command = CreateUser(username=username, display_name=key, roles=[role], kecamatan=[])
            await accounts.create(command, PASSWORD, operator, Context(actor="admin:operator"))
            site.users[key] = username
            site.tokens[key] = (await accounts.login(username, PASSWORD)).token
    finally:
        await store.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, site: Site) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) on a laptop-sized screen, in Jakarta."""
    context = await browser.new_context(
        base_url=site.base_url, viewport={"width": 1280, "height": 800}, locale="id-ID",
        timezone_id="Asia/Jakarta",
    )  # fmt: skip
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    yield opened
    await context.close()


async def login(page: Page, site: Site, role: str) -> None:
    """Log in through the form as the account of `role`; lands on the role's first page."""
    await page.goto("/app/login")
    await page.get_by_label("Nama pengguna").fill(site.users[role])
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(lambda url: "/app/login" not in url)
    await expect(page.get_by_test_id("who")).to_be_visible()


async def screenshot(page: Page, name: str) -> None:
    """A picture of the whole page: into docs/screenshots (the README's) when
    JAGA_SCREENSHOTS=1, else beside the test's other output, so a test run never changes the
    checkout. Either way it proves the page renders to an image."""
    folder = SCREENSHOTS if os.environ.get("JAGA_SCREENSHOTS") == "1" else _SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    image = await page.screenshot(path=folder / name, full_page=True)
    assert image.startswith(b"\x89PNG") and len(image) > 1000


_SCRATCH = Path(tempfile.gettempdir()) / "jaga-screenshots"
