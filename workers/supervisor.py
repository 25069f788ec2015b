"""Child processes that live as long as the jaga process that started them.

`jaga up` runs the API itself and the worker and scheduler as children; `jaga worker
--processes N` runs N worker children. Children start in their own session, so a Ctrl-C in
the terminal reaches the parent alone, which then stops them in order (API first, then the
children, then the embedded servers). A child that dies is started again (with back-off if
it keeps dying). A child whose parent is gone (kill -9) stops by itself instead of running on
against servers nobody owns (`parent_gone`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType

log = logging.getLogger("jaga.supervisor")

PARENT_ENV = "JAGA_PARENT_PID"
STOP_TIMEOUT = 40.0
"""Seconds a child gets to stop after SIGTERM (a worker lets actors finish for 30 s)."""


def jaga_command(*args: str) -> list[str]:
    """The command line of a jaga subcommand, run by this interpreter."""
    return [sys.executable, "-m", "services.cli", *args]


def parent_gone() -> bool:
    """Whether this process was started by a supervisor that has since died."""
    expected = os.environ.get(PARENT_ENV)
    return expected is not None and os.getppid() != int(expected)


def wait_while_parent_lives() -> None:
    """Block until the supervisor that started this process is gone (forever if none did);
    Ctrl-C / SIGTERM end it sooner, as KeyboardInterrupt (services/shutdown.py)."""
    while not parent_gone():
        time.sleep(0.5)
    log.warning("the process that started this one is gone; stopping")


class _Child:
    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.proc: subprocess.Popen[bytes] | None = None
        self.failures = 0
        self.started_at = 0.0
        self.restart_at = 0.0
        """When to start it again after it died (0: not dead, or not noticed yet)."""


class Supervisor:
    """Runs `children` (name -> command line) with `env` while the `with` block runs."""

    def __init__(self, children: Mapping[str, list[str]], env: Mapping[str, str]) -> None:
        self.children = [_Child(name, argv) for name, argv in children.items()]
        self.env = {**env, PARENT_ENV: str(os.getpid())}
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_children, name="supervisor")
        self._lock = threading.Lock()

    def __enter__(self) -> Supervisor:
        for child in self.children:
            self._start(child)
        self._watch.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._watch.join()
        self.stop()

    def stop(self) -> None:
        """SIGTERM every child, wait, then SIGKILL any still running."""
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in %.0fs; killing it", proc.pid, STOP_TIMEOUT)
                proc.kill()
                proc.wait()

    def _start(self, child: _Child) -> None:
        with self._lock:
            child.proc = subprocess.Popen(
                child.argv, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True
            )
            child.started_at = time.monotonic()
        log.info("%s started (pid %d)", child.name, child.proc.pid)

    def _watch_children(self) -> None:
        while not self._stop.wait(0.5):
            now = time.monotonic()
            for child in self.children:
                assert child.proc is not None
                code = child.proc.poll()
                if code is None:
                    if child.failures and now - child.started_at > 60:
                        child.failures = 0  # it stayed up: forget earlier crashes
                elif child.restart_at == 0:
                    delay = min(30.0, 2.0**child.failures)
                    child.failures += 1
                    child.restart_at = now + delay
                    log.warning("%s (pid %d) exited with %s; starting it again in %.0fs",
                                child.name, child.proc.pid, code, delay)  # fmt: skip
                elif now >= child.restart_at:
                    child.restart_at = 0
                    self._start(child)
