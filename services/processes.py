"""Small process and port helpers for supervising local servers.

A bare pid is not an identity (pids get reused), so processes are named by
pid plus start time. Zombies count as dead: on machines whose init never
reaps orphans, an exited server lingers as a zombie forever.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterable

import msgspec
import psutil

_SAME_START = 0.05  # seconds; psutil start times are jiffy-precise


class ProcessRef(msgspec.Struct, frozen=True):
    """A process identified by pid and start time, safe against pid reuse."""

    pid: int
    started: float

    @classmethod
    def current(cls) -> ProcessRef:
        """This process."""
        return cls(pid=os.getpid(), started=psutil.Process().create_time())

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        """The live process `pid`, or None if there is none."""
        try:
            proc = psutil.Process(pid)
            started = proc.create_time()
        except psutil.Error:
            return None
        return cls(pid=pid, started=started) if is_alive(proc) else None

    def process(self) -> psutil.Process | None:
        """The live process this refers to, or None if it has exited."""
        try:
            proc = psutil.Process(self.pid)
            same = abs(proc.create_time() - self.started) < _SAME_START
        except psutil.Error:
            return None
        return proc if same and is_alive(proc) else None

    def alive(self) -> bool:
        """Whether the process still runs (not exited, not a zombie)."""
        return self.process() is not None


def is_alive(proc: psutil.Process) -> bool:
    """True unless the process has exited or is a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def cmdline_tokens(proc: psutil.Process) -> list[str]:
    """Command line split into words, also for servers that rewrite their title."""
    try:
        return " ".join(proc.cmdline()).split()
    except psutil.Error:
        return []


def find_processes(token: str, name: str | None = None) -> list[psutil.Process]:
    """Other live processes with the word `token` in their command line (and named `name`)."""
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.pid == me or (name is not None and proc.info["name"] != name):
            continue
        if token in cmdline_tokens(proc) and is_alive(proc):
            found.append(proc)
    return found


def wait_gone(procs: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until the processes have exited; return those still alive at the timeout.

    psutil's own wait treats a zombie that nobody reaps as alive, hence this loop.
    """
    pending = list(procs)
    deadline = time.monotonic() + timeout
    while True:
        for proc in pending:
            with contextlib.suppress(psutil.Error, ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)  # reap our own children
        pending = [proc for proc in pending if is_alive(proc)]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.05)


def terminate(
    procs: Iterable[psutil.Process], timeout: float = 30.0, sig: int = signal.SIGTERM
) -> None:
    """Send `sig`, wait up to `timeout`, then SIGKILL whatever is left."""
    procs = list(procs)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)
    for proc in wait_gone(procs, timeout):
        with contextlib.suppress(psutil.Error):
            proc.kill()
    wait_gone(procs, 5.0)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind `host:port` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """`preferred` if it is free (stable URLs across restarts), else any free port."""
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def accepts_connections(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """Whether something listens on `host:port`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
