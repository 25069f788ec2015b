"""Shared bookkeeping of the embedded servers in `<data_dir>/runtime.json`.

Several jaga processes may use one data dir at once (`jaga up` in one
terminal, `jaga migrate` in another). The file records, per server, where it
listens and which process owns it (started it and will stop it); a lock file
serialises every start and stop so two processes never race on one server.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

from services.processes import ProcessRef

log = logging.getLogger("jaga.embedded")

RUNTIME_FILE = "runtime.json"
LOCK_FILE = ".lock"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


class ServerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One running embedded server, as recorded in runtime.json."""

    url: str
    """What clients connect to (the `jaga` database for PostgreSQL)."""
    version: str
    server: ProcessRef
    """The server's main process (postmaster, valkey-server)."""
    owner: ProcessRef
    """The jaga process that will stop the server when it exits."""
    data: str
    log: str
    bin_dir: str | None = None
    """Client tools matching the server version (psql, pg_dump), when there are any."""


RuntimeState = dict[str, ServerRecord]

_decoder = msgspec.json.Decoder(RuntimeState)


def runtime_file(data_dir: Path) -> Path:
    """Path of the runtime.json that lists the embedded servers running on `data_dir`."""
    return data_dir / RUNTIME_FILE


def read_state(data_dir: Path) -> RuntimeState:
    """Current records; an unreadable file counts as empty (servers get re-checked anyway)."""
    path = runtime_file(data_dir)
    try:
        return _decoder.decode(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, msgspec.DecodeError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}


def write_state(data_dir: Path, state: RuntimeState) -> None:
    """Atomically replace runtime.json, or remove it when no server is left."""
    path = runtime_file(data_dir)
    if not state:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(state)) + b"\n")
    tmp.replace(path)


@contextlib.contextmanager
def state_lock(data_dir: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the data dir's start/stop lock.

    flock is released by the kernel when its holder dies, so a SIGKILLed
    jaga can never leave a stale lock behind.
    """
    with open(data_dir / LOCK_FILE, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedServerError(
                        f"another jaga process has held {data_dir / LOCK_FILE} for {timeout:.0f}s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
