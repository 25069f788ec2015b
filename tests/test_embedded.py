"""`jaga serve` as a real process on the embedded default (no DATABASE_URL / REDIS_URL).

Proves what a user relies on: it comes up ready, stops cleanly on SIGTERM
with no server left behind, keeps data across restarts, survives a SIGKILL
of a previous run, and a second jaga process reuses the servers without
stopping them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis

from tests.support import servers_on

pytestmark = pytest.mark.slow

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class Jaga:
    """One `jaga` process on a given data dir and port, with its output in a log file."""

    def __init__(self, data_dir: Path, port: int, log: Path, command: str = "serve") -> None:
        self.data_dir = data_dir
        self.port = port
        self.log = log
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env |= {"JAGA_DATA_DIR": str(data_dir), "JAGA_PORT": str(port), "JAGA_LOG_LEVEL": "INFO"}
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [*_jaga(), command], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        base = f"http://127.0.0.1:{self.port}"
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"jaga exited early:\n{self.output()}"
            try:
                health = httpx.get(f"{base}/health", timeout=1)
                ready = httpx.get(f"{base}/ready", timeout=3)
                if health.status_code == ready.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"jaga not ready within {START_TIMEOUT:.0f}s:\n{self.output()}")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"jaga did not stop within {STOP_TIMEOUT:.0f}s:\n{self.output()}")

    def runtime(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "runtime.json").read_text())


def _jaga() -> list[str]:
    script = Path(sys.executable).with_name("jaga")
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_clean_stop(jaga: Jaga) -> None:
    assert jaga.terminate() == 0, jaga.output()
    assert "Stopped cleanly." in jaga.output()
    assert not (jaga.data_dir / "runtime.json").exists()
    assert servers_on(jaga.data_dir) == [], jaga.output()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cleanup(data_dir: Path) -> Any:
    """Whatever a failing test leaves running on its data dir is killed afterwards."""
    started: list[Jaga] = []
    yield started
    for jaga in started:
        if jaga.proc.poll() is None:
            jaga.proc.kill()
            jaga.proc.wait()
    for proc in servers_on(data_dir):
        proc.kill()


def _start(data_dir: Path, cleanup: list[Jaga], command: str = "serve", port: int = 0) -> Jaga:
    log = data_dir.parent / f"jaga-{len(cleanup)}-{command}.log"
    jaga = Jaga(data_dir, port or _free_port(), log, command)
    cleanup.append(jaga)
    return jaga


async def _write_probe(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE persistence_probe (note text)")
        await conn.execute("INSERT INTO persistence_probe VALUES ('kept')")
    finally:
        await conn.close()


async def _read_probe(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [row["note"] for row in await conn.fetch("SELECT note FROM persistence_probe")]
    finally:
        await conn.close()


def test_serve_stops_cleanly_and_keeps_data(data_dir: Path, cleanup: list[Jaga]) -> None:
    first = _start(data_dir, cleanup)
    first.wait_ready()
    runtime = first.runtime()
    assert set(runtime) == {"postgres", "valkey"}
    assert runtime["postgres"]["url"].endswith("/jaga")
    assert runtime["valkey"]["url"].startswith("redis://")
    assert len(servers_on(data_dir)) == 2
    asyncio.run(_write_probe(runtime["postgres"]["url"]))
    redis.Redis.from_url(runtime["valkey"]["url"]).set("persistence-probe", "kept")
    _assert_clean_stop(first)

    second = _start(data_dir, cleanup)
    second.wait_ready()
    runtime = second.runtime()
    assert asyncio.run(_read_probe(runtime["postgres"]["url"])) == ["kept"]
    assert redis.Redis.from_url(runtime["valkey"]["url"]).get("persistence-probe") == b"kept"
    _assert_clean_stop(second)


def test_start_after_sigkill_adopts_the_orphans(data_dir: Path, cleanup: list[Jaga]) -> None:
    killed = _start(data_dir, cleanup)
    killed.wait_ready()
    orphans = {name: record["server"]["pid"] for name, record in killed.runtime().items()}
    killed.proc.kill()
    killed.proc.wait()
    assert len(servers_on(data_dir)) == 2  # the servers outlive a SIGKILLed jaga ...

    successor = _start(data_dir, cleanup)
    successor.wait_ready()
    runtime = successor.runtime()
    assert {name: record["server"]["pid"] for name, record in runtime.items()} == orphans
    assert {record["owner"]["pid"] for record in runtime.values()} == {successor.proc.pid}
    _assert_clean_stop(successor)  # ... and the adopter stops them


def test_second_process_reuses_servers_and_leaves_them_running(
    data_dir: Path, cleanup: list[Jaga]
) -> None:
    owner = _start(data_dir, cleanup)
    owner.wait_ready()
    before = owner.runtime()

    guest = _start(data_dir, cleanup, command="migrate")
    assert guest.proc.wait(START_TIMEOUT) == 0, guest.output()
    assert "not ours to stop" in guest.output()

    assert owner.runtime() == before
    assert httpx.get(f"http://127.0.0.1:{owner.port}/ready", timeout=3).status_code == 200
    _assert_clean_stop(owner)
