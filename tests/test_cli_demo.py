"""`jaga demo seed`: the people of the demo are users, who log in and find their claims."""

from __future__ import annotations

import re
from pathlib import Path

from litestar.testing import AsyncTestClient

from bench.synthetic import DEMO_ACCOUNTS
from events.catalog import registry
from events.personal import MasterKeys
from events.store import EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services.app import create_app
from services.bootstrap import migrate_database
from services.config import Settings
from tests.projections.conftest import catch_up
from tests.test_personal_data_cli import jaga

LOOKUP_KEY = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"  # the one `jaga` above passes
OFFICERS = ("ani", "budi", "citra", "dedi")
SYSTEMS = {"cashier:bpd-bengkulu", "cashier:rekonsiliasi", "bpjs:kepahiang", "admin:demo-seed"}
"""Actors that are no person: the bank, the reconciliation run, BPJS, the seeding operator."""


async def test_the_demo_officers_log_in_and_find_their_claims_on_the_board(
    scratch_database_url: str, tmp_path: Path, redis_url: str, redis_namespace: str
) -> None:
    await migrate_database(scratch_database_url)
    keys = MasterKeys.generate("k1")

    seeded = jaga(["demo", "seed", "--participants", "40", "--months", "4", "--seed", "11"],
                  scratch_database_url, tmp_path, keys)  # fmt: skip

    assert seeded.returncode == 0, seeded.stderr
    made = re.search(r"Demo accounts made, password (\S+): (.*)", seeded.stderr)
    assert made is not None, seeded.stderr
    password = made[1]
    assert made[2] == ", ".join(f"{a.username} ({a.role})" for a in DEMO_ACCOUNTS)
    assert (seeded.stdout + seeded.stderr).count(password) == 1
    store = await EventStore.connect(
        scratch_database_url, registry, MasterKeys.parse(keys), min_size=1, max_size=4
    )
    try:
        await catch_up(ProjectionRunner(store, all_projections()))
        actors = {r["actor"] for r in await store.pool.fetch("SELECT DISTINCT actor FROM events")}
        rows = await store.pool.fetch("SELECT claim_id, officer FROM rm.claims")
    finally:
        await store.close()
    people = {f"user:{a.username}" for a in DEMO_ACCOUNTS}
    assert actors - SYSTEMS <= people
    assert {f"user:{name}" for name in (*OFFICERS, "dewi", "rina", "hendra")} <= actors
    assigned = {r["claim_id"]: r["officer"] for r in rows if r["officer"] is not None}
    assert set(assigned.values()) == {f"user:{name}" for name in OFFICERS}

    settings = Settings(
        master_keys=keys, lookup_key=LOOKUP_KEY, redis_namespace=f"{redis_namespace}:demo"
    )
    async with AsyncTestClient(create_app(settings, scratch_database_url, redis_url)) as client:
        for name in OFFICERS:
            login = await client.post("/auth/token", json={"username": name, "password": password})
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            board = await client.get("/claims", params={"officer": name, "limit": 200},
                                     headers=headers)  # fmt: skip
            assert board.status_code == 200, board.text
            found = {c["claim_id"]: c["officer"] for c in board.json()["items"]}
            mine = {claim for claim, officer in assigned.items() if officer == f"user:{name}"}
            assert found and set(found) == mine
            assert set(found.values()) == {f"user:{name}"}

    again = jaga(["demo", "seed", "--participants", "1", "--months", "1", "--seed", "12"],
                 scratch_database_url, tmp_path, keys)  # fmt: skip

    assert again.returncode == 0, again.stderr
    assert "Demo accounts made" not in again.stderr
    there = ", ".join(a.username for a in DEMO_ACCOUNTS)
    assert f"Accounts already there, left as they are: {there}" in again.stderr
