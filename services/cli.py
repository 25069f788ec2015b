"""The `jaga` command line: migrate, serve the API, run everything, benchmark.

Every command resolves its servers the same way: configured URLs are used
as is, missing ones are started embedded in JAGA_DATA_DIR and stopped again
when the command exits (unless another jaga process started them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from services.config import Settings, SettingsError
from services.embedded import EmbeddedServerError, ResolvedServices, embedded_services
from services.shutdown import ShutdownSignals

if TYPE_CHECKING:
    from events.store import Context, EventStore

app = typer.Typer(
    name="jaga",
    help="Jaga: system of record for regency-funded BPJS Ketenagakerjaan cover.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
bench_app = typer.Typer(
    help="Measure Jaga's building blocks on this machine.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
personal_app = typer.Typer(
    help="Personal data (UU 27/2022): erasure by key destruction, master-key rotation.",
    no_args_is_help=True,
)
app.add_typer(personal_app, name="personal-data")

console = Console(stderr=True, soft_wrap=True)  # never wrap URLs in CI logs
log = logging.getLogger("jaga")


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)


@app.command()
def serve() -> None:
    """Migrate, then serve the HTTP API on JAGA_HOST:JAGA_PORT until Ctrl-C or SIGTERM."""
    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)
        _serve_api(settings, services)


@app.command()
def up() -> None:
    """Run Jaga locally: the API plus, in later issues, workers and scheduler.

    Embedded servers started here are stopped when it exits.
    """
    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)
        _serve_api(settings, services)


@bench_app.command("store")
def bench_store(
    seconds: Annotated[
        float | None, typer.Option(help="Measured seconds per figure (default: the bench's own).")
    ] = None,
) -> None:
    """Event store throughput against raw asyncpg, in a scratch database."""
    settings = _settings()
    with _services(settings) as services:
        from bench.store import main

        if seconds is None:
            main(services.database_url)
        else:
            main(services.database_url, seconds=seconds)


@personal_app.command("erase")
def personal_data_erase(
    subject: Annotated[str, typer.Argument(help="The data subject's id (e.g. a participant id).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail (recorded as an event).")],
    actor: Annotated[str, typer.Option(help="The administrator ordering the erasure.")],
) -> None:
    """Destroy a data subject's key: their personal values read as "dihapus" from then on."""
    from events.personal import PersonalDataError
    from services.personal_data import erase_subject

    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)

        async def run() -> None:
            store = await _event_store(settings, services)
            try:
                result = await erase_subject(store, subject, reason, _admin_context(actor))
            finally:
                await store.close()
            console.print(
                f"Erased the personal data of {subject} "
                f"(event at position {result.last_position} in {result.stream_id})."
            )

        try:
            asyncio.run(run())
        except PersonalDataError as exc:
            console.print(f"[red]Not erased:[/] {exc}")
            raise typer.Exit(1) from None


@personal_app.command("rotate-master-key")
def personal_data_rotate() -> None:
    """Re-wrap every subject key under the first key of JAGA_MASTER_KEYS (events untouched)."""
    from events.keyring import Keyring
    from events.store import init_connection
    from services.secrets import resolve_secrets

    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)

        async def run() -> int:
            import asyncpg

            pool = await asyncpg.create_pool(services.database_url, init=init_connection)
            try:
                return await Keyring(pool, resolve_secrets(settings).master()).rotate()
            finally:
                await pool.close()

        count = asyncio.run(run())
        console.print(f"Re-wrapped {count} subject key(s) under the active master key.")


# -- shared plumbing ---------------------------------------------------------------------------


def _settings() -> Settings:
    """Settings from the environment, plus logging and signal handling for the command."""
    ShutdownSignals().install()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        console.print(f"[red]Configuration error:[/] {exc}")
        raise typer.Exit(2) from None
    _configure_logging(settings.log_level)
    return settings


def _configure_logging(level: str) -> None:
    """Rich output on a terminal, plain timestamped lines in CI logs and files."""
    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(console=console, show_path=False, log_time_format="%H:%M:%S")
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


@contextlib.contextmanager
def _services(settings: Settings) -> Iterator[ResolvedServices]:
    """Resolve the servers; on Ctrl-C/SIGTERM stop what we started and exit 0."""
    try:
        with embedded_services(settings) as services:
            _print_services(services)
            yield services
    except KeyboardInterrupt:
        console.print("[green]Stopped cleanly.[/]")
        raise typer.Exit(0) from None
    except EmbeddedServerError as exc:
        console.print(f"[red]Could not start the embedded servers:[/] {exc}")
        raise typer.Exit(1) from None


def _print_services(services: ResolvedServices) -> None:
    for label, url, name in (
        ("PostgreSQL", services.database_url, "postgres"),
        ("Redis", services.redis_url, "valkey"),
    ):
        how = "embedded, stopped on exit" if name in services.started else "not ours to stop"
        console.print(f"[bold]{label:<10}[/] {url} [dim]({how})[/]", highlight=False)


async def _event_store(settings: Settings, services: ResolvedServices) -> EventStore:
    """The event store with every event type and the keyring for personal data."""
    from events.catalog import registry
    from events.store import EventStore
    from services.secrets import resolve_secrets

    master = resolve_secrets(settings).master()
    return await EventStore.connect(services.database_url, registry, master, min_size=1, max_size=4)


def _admin_context(actor: str) -> Context:
    from events.store import Context

    return Context(actor=f"admin:{actor}")


def _migrate(database_url: str) -> None:
    from events.migrations import migrate as apply_migrations

    applied = asyncio.run(apply_migrations(database_url))
    if applied:
        console.print(f"Applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        console.print("Database schema is up to date.")


def _serve_api(settings: Settings, services: ResolvedServices) -> None:
    import uvicorn

    from services.app import create_app

    config = uvicorn.Config(
        create_app(settings, services.database_url, services.redis_url),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our handlers; uvicorn's loggers propagate to them
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    asyncio.run(server.serve())
    if not server.started:
        console.print("[red]The API did not start (see the log above).[/]")
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
