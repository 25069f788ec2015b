"""`jaga up` on the embedded default runs the API, a worker and the scheduler; Ctrl-C stops
them all and the servers; after a kill -9 of `jaga up` its children stop by themselves."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest

from services.processes import is_alive, wait_gone
from tests.support import servers_on
from tests.test_embedded import STOP_TIMEOUT, Jaga, _free_port

pytestmark = pytest.mark.slow


def children(jaga: Jaga) -> dict[str, psutil.Process]:
    """The worker and scheduler processes of a `jaga up`, by subcommand."""
    found = {}
    for child in psutil.Process(jaga.proc.pid).children():
        words = child.cmdline()
        for name in ("worker", "scheduler"):
            if name in words:
                found[name] = child
    return found


def started(data_dir: Path, runs: list[Jaga]) -> Jaga:
    jaga = Jaga(data_dir, _free_port(), data_dir.parent / f"up-{len(runs)}.log", command="up")
    runs.append(jaga)
    jaga.wait_ready()
    deadline = time.monotonic() + 30
    while not ("worker running" in jaga.output() and "scheduler running" in jaga.output()):
        assert time.monotonic() < deadline, jaga.output()
        time.sleep(0.1)
    assert set(children(jaga)) == {"worker", "scheduler"}, jaga.output()
    return jaga


def test_up_runs_api_worker_and_scheduler_and_stops_them_all(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runs: list[Jaga] = []
    try:
        crashed = started(data_dir, runs)
        orphans = list(children(crashed).values())
        crashed.proc.kill()  # kill -9: no cleanup in `jaga up` itself
        crashed.proc.wait()
        assert wait_gone(orphans, STOP_TIMEOUT) == [], crashed.output()

        jaga = started(data_dir, runs)  # adopts the servers the crashed one left running
        family = list(children(jaga).values())
        jaga.proc.send_signal(signal.SIGINT)  # Ctrl-C, to `jaga up` alone
        assert jaga.proc.wait(STOP_TIMEOUT) == 0, jaga.output()
        assert "Stopped cleanly." in jaga.output()
        assert not [p for p in family if is_alive(p)]
        assert servers_on(data_dir) == [], jaga.output()
    finally:
        for run in runs:
            if run.proc.poll() is None:
                run.proc.kill()
        for proc in servers_on(data_dir):
            proc.kill()
