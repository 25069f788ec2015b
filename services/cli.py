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
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from services.config import Settings, SettingsError
from services.embedded import EmbeddedServerError, ResolvedServices, embedded_services
from services.shutdown import ShutdownSignals

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
