"""`jaga users create`: the first administrator of a fresh install, made on the server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

from events.catalog import registry
from events.personal import MasterKeys
from events.store import EventStore
from services.access import Principal, Role
from services.auth import Accounts
from services.domain.regions import default_regions

JAGA = str(Path(sys.executable).with_name("jaga"))
PASSWORD = "kopi-kepahiang-2025"


def create(
    args: list[str], password: str, database_url: str, data_dir: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:1/0",  # never contacted
        "JAGA_DATA_DIR": str(data_dir),
        "JAGA_MASTER_KEYS": MasterKeys.generate("k1"),
        "JAGA_LOOKUP_KEY": "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
    }
    return subprocess.run(
        [JAGA, "users", "create", *args], input=f"{password}\n", env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


async def test_the_first_administrator_is_made_with_a_password_from_stdin(
    migrated_database_url: str, tmp_path: Path
) -> None:
    username = f"root{uuid4().hex[:6]}"
    args = [username, "--role", "admin", "--role", "auditor", "--display-name", "Admin Dinsos",
            "--actor", "setup"]  # fmt: skip

    made = create(args, PASSWORD, migrated_database_url, tmp_path)

    assert made.returncode == 0, made.stderr
    assert f"User {username} created: admin, auditor in every kecamatan." in made.stderr
    assert PASSWORD not in made.stdout + made.stderr
    store = await EventStore.connect(migrated_database_url, registry, min_size=1, max_size=2)
    try:
        accounts = Accounts(store, default_regions(), token_lifetime=timedelta(hours=1))
        issued = await accounts.login(username, PASSWORD)
        recorded = await store.read_stream(f"user-{username}")
    finally:
        await store.close()
    assert issued.principal == Principal(username, frozenset({Role.ADMIN, Role.AUDITOR}))
    assert {r.actor for r in recorded} == {"admin:setup"}


async def test_a_short_password_or_an_unknown_role_is_refused(
    migrated_database_url: str, tmp_path: Path
) -> None:
    username = f"sari{uuid4().hex[:6]}"
    base = [username, "--display-name", "Sari", "--actor", "setup"]

    short = create([*base, "--role", "registrar"], "pendek", migrated_database_url, tmp_path)
    assert short.returncode == 1
    assert "password: 10 to 256 characters" in short.stderr

    unknown = create([*base, "--role", "king"], PASSWORD, migrated_database_url, tmp_path)
    assert unknown.returncode == 2 and "king" in unknown.stderr
