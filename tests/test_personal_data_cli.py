"""`jaga personal-data erase`, `rotate-master-key` and `new-keys`, run as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

from events.catalog import registry
from events.keyring import Keyring
from events.personal import ERASED, MasterKeys
from events.store import NO_STREAM, Context, EventStore
from events.types import EventRegistry
from services import bootstrap
from services.access import Principal, Role
from services.bootstrap import migrate_database
from services.config import Settings
from services.users import CreateUser
from tests.events.model import Enrolled

JAGA = str(Path(sys.executable).with_name("jaga"))


def jaga(
    args: list[str], database_url: str, data_dir: Path, master: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:1/0",  # never contacted by these commands' work
        "JAGA_DATA_DIR": str(data_dir),
        "JAGA_MASTER_KEYS": master,
        "JAGA_LOOKUP_KEY": "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
    }
    return subprocess.run([JAGA, *args], env=env, capture_output=True, text=True, timeout=120)


async def _account(store: EventStore, username: str, role: Role) -> str:
    accounts = bootstrap.accounts(Settings(), store)
    command = CreateUser(username=username, display_name=username, roles=[role.value])
    operator = Principal("operator", frozenset({Role.ADMIN}))
    await accounts.create(command, "kopi-kepahiang-2025", operator, Context(actor="admin:op"))
    return username


async def test_erase_then_rotate_from_the_command_line(
    scratch_database_url: str, tmp_path: Path
) -> None:
    """Rotation re-wraps every key in the database, so it runs in a database of its own."""
    migrated_database_url = scratch_database_url
    await migrate_database(migrated_database_url)
    k1 = MasterKeys.generate("k1")
    store = await EventStore.connect(
        migrated_database_url, EventRegistry((*registry.types, Enrolled)), MasterKeys.parse(k1)
    )
    try:
        pid = str(uuid4())
        await store.append(
            f"participant-{pid}",
            [
                Enrolled(
                    participant_id=pid, nik="1708035508900001", name="Ani", phone=None, desa="d"
                )
            ],
            NO_STREAM,
            context=Context(actor="registrar:test"),
        )

        not_admin = await _account(store, "budi", Role.AUDITOR)
        refused = jaga(
            ["personal-data", "erase", pid, "--reason", "retention over", "--actor", not_admin],
            migrated_database_url, tmp_path, k1,
        )  # fmt: skip
        assert refused.returncode == 1 and "not an active administrator" in refused.stderr
        stranger = jaga(
            ["personal-data", "erase", pid, "--reason", "retention over", "--actor", "siapa"],
            migrated_database_url, tmp_path, k1,
        )  # fmt: skip
        assert stranger.returncode == 1 and "no user account 'siapa'" in stranger.stderr
        (event,) = await store.read_stream(f"participant-{pid}")
        assert event.data.name == "Ani"  # type: ignore[attr-defined]

        await _account(store, "ani", Role.ADMIN)
        erased = jaga(
            ["personal-data", "erase", pid, "--reason", "retention over", "--actor", "ani"],
            migrated_database_url, tmp_path, k1,
        )  # fmt: skip
        assert erased.returncode == 0, erased.stderr
        assert "Erased the personal data" in erased.stderr
        (event,) = await store.read_stream(f"participant-{pid}")
        assert event.data.name == ERASED  # type: ignore[attr-defined]
        (record,) = await store.read_stream(f"personal_data-{pid}")
        assert record.actor == "user:ani"

        again = jaga(
            ["personal-data", "erase", pid, "--reason", "twice", "--actor", "ani"],
            migrated_database_url, tmp_path, k1,
        )  # fmt: skip
        assert again.returncode == 1 and "already erased" in again.stderr

        k2 = MasterKeys.generate("k2")
        rotated = jaga(
            ["personal-data", "rotate-master-key"], migrated_database_url, tmp_path, f"{k2},{k1}"
        )
        assert rotated.returncode == 0, rotated.stderr
        assert "Re-wrapped" in rotated.stderr
        assert await Keyring(store.pool, MasterKeys.parse(k2)).rotate() == 0
    finally:
        await store.close()


def test_new_keys_prints_a_usable_pair(tmp_path: Path) -> None:
    import base64

    done = subprocess.run(
        [JAGA, "personal-data", "new-keys", "--key-id", "k7"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    values = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert set(values) == {"JAGA_MASTER_KEYS", "JAGA_LOOKUP_KEY"}
    assert MasterKeys.parse(values["JAGA_MASTER_KEYS"]).active_id == "k7"
    assert len(base64.b64decode(values["JAGA_LOOKUP_KEY"])) == 32
    again = subprocess.run(
        [JAGA, "personal-data", "new-keys"], capture_output=True, text=True, timeout=60
    )
    assert again.stdout != done.stdout  # fresh keys every time
