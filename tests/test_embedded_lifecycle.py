"""embedded_services in-process: ownership, reuse, and recovering from stale state."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis

from services.config import Settings
from services.embedded import embedded_services, runtime_file
from services.embedded_state import read_state
from services.local_postgres import SYSTEM_USER
from tests.support import servers_on

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the module, so initdb runs once."""
    return tmp_path_factory.mktemp("lifecycle") / "data"


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


def _select_one(url: str) -> int:
    async def query() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT 1"))
        finally:
            await conn.close()

    return asyncio.run(query())


def test_inner_user_reuses_servers_and_leaves_them_to_the_owner(data_dir: Path) -> None:
    with embedded_services(_settings(data_dir)) as outer:
        assert outer.started == ("postgres", "valkey")
        with embedded_services(_settings(data_dir)) as inner:
            assert inner.started == ()
            assert (inner.database_url, inner.redis_url) == (outer.database_url, outer.redis_url)
        assert _select_one(outer.database_url) == 1
        assert redis.Redis.from_url(outer.redis_url).ping()
        assert set(read_state(data_dir)) == {"postgres", "valkey"}
    assert not runtime_file(data_dir).exists()
    assert servers_on(data_dir) == []


def test_configured_urls_start_nothing(tmp_path: Path) -> None:
    configured = {"database_url": "postgresql://example/db", "redis_url": "redis://example/0"}
    settings = Settings(**configured, data_dir=tmp_path / "x")
    with embedded_services(settings) as resolved:
        assert resolved.database_url == "postgresql://example/db"
        assert resolved.redis_url == "redis://example/0"
        assert resolved.started == ()
    assert not (tmp_path / "x").exists()


def test_stale_postmaster_pid_does_not_block_start(data_dir: Path) -> None:
    # A zombie of the server's own account answers kill(pid, 0), so PostgreSQL alone
    # would refuse to start ("lock file already exists"), as after a SIGKILLed postmaster
    # on a machine whose init does not reap orphans.
    account = SYSTEM_USER if os.geteuid() == 0 else None
    zombie = subprocess.Popen(["true"], user=account)
    while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.01)
    with embedded_services(_settings(data_dir)):
        pass  # make sure the cluster exists
    pgdata = data_dir / "postgres" / "data"
    (pgdata / "postmaster.pid").write_text(
        f"{zombie.pid}\n{pgdata}\n{int(time.time())}\n5432\n\n127.0.0.1\n  0 0\nready   \n"
    )
    try:
        with embedded_services(_settings(data_dir)) as resolved:
            assert resolved.started == ("postgres", "valkey")
            assert _select_one(resolved.database_url) == 1
    finally:
        zombie.wait()
    assert servers_on(data_dir) == []


def test_unrecorded_leftover_servers_are_replaced(data_dir: Path) -> None:
    """Servers running on the data dir but missing from runtime.json are stopped first."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from services.config import Settings
        from services.embedded import embedded_services
        with embedded_services(Settings(data_dir=Path({str(data_dir)!r}))):
            print("up", flush=True)
            time.sleep(600)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "up"
        leftovers = {proc.pid for proc in servers_on(data_dir)}
        assert len(leftovers) == 2
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    runtime_file(data_dir).unlink()

    with embedded_services(_settings(data_dir)) as resolved:
        assert resolved.started == ("postgres", "valkey")
        assert {proc.pid for proc in servers_on(data_dir)}.isdisjoint(leftovers)
        assert _select_one(resolved.database_url) == 1
    assert servers_on(data_dir) == []
