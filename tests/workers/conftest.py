"""A deployment of the workers for tests: a scratch database, a Redis namespace, real `jaga
worker` / `jaga scheduler` processes on them, and the checks the tests share (caught up, read
models equal to a fresh rebuild)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from dramatiq.brokers.redis import RedisBroker

from events.catalog import registry
from events.personal import MasterKeys
from events.store import EventStore
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from services.bootstrap import migrate_database, projection_runner
from services.local_valkey import VALKEY_SERVER
from services.processes import accepts_connections, choose_port
from workers.broker import create_broker
from workers.supervisor import jaga_command

MASTER_KEYS = MasterKeys.generate("t1")
LOOKUP_KEY = base64.b64encode(b"lookup-key-of-the-worker-tests-32b").decode()
START_TIMEOUT = 30.0


class JagaProcess:
    """One `jaga` subcommand as a real process, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                jaga_command(*args), env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.proc.poll() is None, f"{self.args} exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} in {timeout}s:\n{self.output()}"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"{self.args} did not stop on SIGTERM:\n{self.output()}")
        return self.proc.returncode


class Deployment:
    """A scratch database and Redis namespace with jaga processes on them."""

    def __init__(self, database_url: str, redis_url: str, namespace: str, tmp: Path) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.namespace = namespace
        self.tmp = tmp
        self.processes: list[JagaProcess] = []
        self.store: EventStore

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "JAGA_REDIS_NAMESPACE": self.namespace,
            "JAGA_MASTER_KEYS": MASTER_KEYS,
            "JAGA_LOOKUP_KEY": LOOKUP_KEY,
            "JAGA_DATA_DIR": str(self.tmp / "data"),
            "JAGA_WAKE_INTERVAL": "0.5",
            "JAGA_LOG_LEVEL": "INFO",
        }

    def start(self, *args: str) -> JagaProcess:
        """Start `jaga <args>` and wait until it says it runs."""
        log = self.tmp / f"{len(self.processes)}-{'-'.join(args)}.log"
        process = JagaProcess(list(args), self.env, log)
        self.processes.append(process)
        process.wait_for("worker running" if args[0] == "worker" else "scheduler running")
        return process

    def broker(self) -> RedisBroker:
        return create_broker(self.redis_url, self.namespace)

    def runner(self) -> ProjectionRunner:
        return projection_runner(self.store)


@pytest.fixture
async def deployment(
    scratch_database_url: str, redis_url: str, redis_namespace: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    await migrate_database(scratch_database_url)
    namespace = f"{redis_namespace}-{uuid4().hex[:8]}"
    deployed = Deployment(scratch_database_url, redis_url, namespace, tmp_path)
    deployed.store = await EventStore.connect(
        scratch_database_url, registry, MasterKeys.parse(MASTER_KEYS), min_size=1, max_size=8
    )
    try:
        yield deployed
    finally:
        for process in deployed.processes:
            if process.proc.poll() is None:
                process.kill()
        await deployed.store.close()


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[Valkey]:
    server = Valkey(tmp_path / "valkey")
    try:
        yield server
    finally:
        server.stop()


class Valkey:
    """A Valkey of the test's own on a free port (the embedded server's binary), to stop and
    start again at will; no persistence, so a restart loses every queued message."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True)
        self.port = choose_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.root)]  # fmt: skip
        self.proc = subprocess.Popen(
            [str(VALKEY_SERVER), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not accepts_connections(self.port):
            assert time.monotonic() < deadline, "valkey did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGKILL: whatever it held is gone."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


async def read_models(store: EventStore) -> dict[str, list[str]]:
    """Every row of every rm.* table of every projection, as sorted JSON."""
    tables = [t for p in all_projections() for t in p.tables]
    assert tables, "no projection in projections/catalog.py: nothing to check"
    found = {}
    for table in tables:
        rows = await store.pool.fetch(f"SELECT row_to_json(t)::text FROM rm.{table} t")
        found[table] = sorted(r[0] for r in rows)
    return found


async def caught_up(store: EventStore, within: float) -> None:
    """Wait until every projection serves one build that has applied every event appended so
    far (no build under way, none stopped)."""
    runner = projection_runner(store)
    written = await store.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    deadline = time.monotonic() + within
    while True:
        status = await runner.status()
        assert not [s for s in status if s.state == "stopped"], status
        if sorted(s.name for s in status) == sorted(runner.projections) and all(
            s.state == "active" and s.position >= written for s in status
        ):
            return
        assert time.monotonic() < deadline, f"not caught up with {written} in {within}s: {status}"
        await asyncio.sleep(0.1)


async def rebuilt(store: EventStore) -> dict[str, list[str]]:
    """The read models as a fresh rebuild from position 0 makes them (in this process)."""
    runner = projection_runner(store)
    for name in runner.projections:
        await runner.rebuild(name)
    return await read_models(store)
