"""The `jaga` command line: migrate, serve the API, run everything, benchmark.

Every command resolves its servers the same way: configured URLs are used
as is, missing ones are started embedded in JAGA_DATA_DIR and stopped again
when the command exits (unless another jaga process started them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from services.access import Role
from services.config import Settings, SettingsError
from services.embedded import EmbeddedServerError, ResolvedServices, embedded_services
from services.shutdown import ShutdownSignals

if TYPE_CHECKING:
    from events.store import Context, EventStore
    from workers.supervisor import Supervisor

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
cohorts_app = typer.Typer(help="Cohorts: funded intakes of workers.", no_args_is_help=True)
app.add_typer(cohorts_app, name="cohorts")
import_app = typer.Typer(help="Import data handed over by the regency.", no_args_is_help=True)
app.add_typer(import_app, name="import")
personal_app = typer.Typer(
    help="Personal data (UU 27/2022): erasure by key destruction, master-key rotation.",
    no_args_is_help=True,
)
app.add_typer(personal_app, name="personal-data")
users_app = typer.Typer(help="Officers' accounts for the HTTP API.", no_args_is_help=True)
app.add_typer(users_app, name="users")
projections_app = typer.Typer(
    help="Read models: state and lag, catch-up, rebuilds without downtime.", no_args_is_help=True
)
app.add_typer(projections_app, name="projections")
jobs_app = typer.Typer(
    help="Scheduled jobs (premium reminders, claim SLA watch), on demand.", no_args_is_help=True
)
app.add_typer(jobs_app, name="jobs")
demo_app = typer.Typer(help="Synthetic data for demonstrations.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")

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
def up(
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run Jaga locally: the API, the workers and the scheduler (child processes).

    On Ctrl-C / SIGTERM the API stops first, then the children, then the embedded servers
    started here.
    """
    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)
        children = {"worker": ["worker", "--processes", str(workers)], "scheduler": ["scheduler"]}
        with _children(services, children):
            _serve_api(settings, services)


@app.command()
def worker(
    processes: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    threads: Annotated[int, typer.Option(min=1, help="Actors running at once per process.")] = 8,
) -> None:
    """Run the Dramatiq workers: projections, rebuilds, premium reminders, claim SLA watch."""
    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)
        if processes == 1:
            from workers.worker import run_worker

            run_worker(settings, services.database_url, services.redis_url, threads=threads)
            return
        from workers.supervisor import wait_while_parent_lives

        one = ["worker", "--threads", str(threads)]
        with _children(services, {f"worker-{i + 1}": one for i in range(processes)}):
            wait_while_parent_lives()


@app.command()
def scheduler() -> None:
    """Wake the workers when events are appended (and every JAGA_WAKE_INTERVAL seconds);
    enqueue premium reminders (daily 08:00) and the claim SLA watch (hourly 07:00-18:00)."""
    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)
        from workers.scheduler import run_scheduler

        run_scheduler(settings, services.database_url, services.redis_url)


@projections_app.command("status")
def projections_status() -> None:
    """Each projection's build, checkpoint, lag (events and seconds) and state."""
    from services.bootstrap import projection_runner
    from workers.admin import status_table

    async def work(settings: Settings, store: EventStore) -> None:
        Console().print(await status_table(projection_runner(store)))

    _with_store(work)


@projections_app.command("run")
def projections_run() -> None:
    """Build missing projections and catch every one up, here (no workers needed)."""
    from services.bootstrap import projection_runner
    from workers.admin import run_projections

    async def work(settings: Settings, store: EventStore) -> None:
        for name, applied in (await run_projections(projection_runner(store))).items():
            console.print(f"{name}: {applied} event(s) applied")

    _with_store(work)


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str, typer.Argument(help="The projection (see `jaga projections status`).")],
    background: Annotated[
        bool, typer.Option(help="Hand it to the workers instead of rebuilding here.")
    ] = False,
) -> None:
    """Rebuild a read model from the log beside the serving one, which it replaces once
    caught up (no downtime), with a progress bar, rate and time left."""
    from projections.runner import ProjectionStopped
    from services.bootstrap import projection_runner
    from workers.admin import rebuild_with_progress

    if background:
        _enqueue("rebuild", name, time.time())
        console.print(f"Rebuild of {name} handed to the workers (`jaga projections status`).")
        return

    async def work(settings: Settings, store: EventStore) -> None:
        generation = await rebuild_with_progress(projection_runner(store), name, console)
        console.print(f"Projection {name}: generation {generation} rebuilt and serving.")

    _with_store(work, refusals=(KeyError, ProjectionStopped), label="Not rebuilt")


class Job(StrEnum):
    reminders = "reminders"
    sla_watch = "sla-watch"


@jobs_app.command("run")
def jobs_run(
    job: Annotated[Job, typer.Argument(help="Which job.")],
    enqueue: Annotated[
        bool, typer.Option(help="Hand it to the workers instead of running it here.")
    ] = False,
    on: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Business date to run for (default today)."),
    ] = None,
) -> None:
    """Run a scheduled job now: premium reminders or the claim SLA watch."""
    from workers.actors import JOBS, jakarta_today
    from workers.admin import run_job

    if enqueue:
        _enqueue(JOBS[job.value][0])
        console.print(f"Job {job.value} handed to the workers.")
        return

    async def work(settings: Settings, store: EventStore) -> None:
        today = on.date() if on else jakarta_today()
        console.print(f"{job.value} ({today}): {await run_job(job.value, store, settings, today)}")

    _with_store(work)


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


@bench_app.command("projections")
def bench_projections(
    seconds: Annotated[
        float | None, typer.Option(help="Seconds of load for the lag figure (default 60).")
    ] = None,
    participants: Annotated[
        int | None, typer.Option(min=1, help="Participants in the log (default 100,000).")
    ] = None,
    months: Annotated[int | None, typer.Option(min=1, help="Months of history (12).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the synthetic data (1).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Generate the cached log again.")] = False,
) -> None:
    """Read-model rebuild, memory and lag against plain reads of a generated log (cached in a
    database of its own; each run works on a copy)."""
    settings = _settings()
    with _services(settings) as services:
        from bench.projections import main

        given = {"participants": participants, "months": months, "seed": seed}
        main(services.database_url, services.redis_url, seconds=seconds, fresh=fresh,
             **{name: value for name, value in given.items() if value is not None})  # fmt: skip


@bench_app.command("api")
def bench_api(
    seconds: Annotated[
        float | None, typer.Option(help="Measured seconds per figure (default 8).")
    ] = None,
    participants: Annotated[
        int | None, typer.Option(min=1, help="Participants in the log (default 100,000).")
    ] = None,
    months: Annotated[int | None, typer.Option(min=1, help="Months of history (12).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the synthetic data (1).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Generate the cached log again.")] = False,
) -> None:
    """`jaga serve` under load from another process: GET by NIK against a constant endpoint,
    POST payments, and both mixed, on a copy of the log `bench projections` caches."""
    settings = _settings()
    with _services(settings) as services:
        from bench.api import main

        given = {"participants": participants, "months": months, "seed": seed}
        main(services.database_url, services.redis_url, seconds=seconds, fresh=fresh,
             **{name: value for name, value in given.items() if value is not None})  # fmt: skip


@demo_app.command("seed")
def demo_seed(
    participants: Annotated[
        int, typer.Option(min=1, help="Workers holding a slot; about 6% more wait.")
    ] = 1984,
    seed: Annotated[int, typer.Option(help="The same seed gives the same people.")] = 1,
    months: Annotated[int, typer.Option(min=1, max=24, help="Months up to today.")] = 6,
) -> None:
    """Fill the database with a synthetic Kepahiang programme: the 1,984-worker cohort with
    months of payments, leavers, a waiting list, accidents and claims in every state; and
    accounts for the officers it names (ani, budi, citra, dedi, dewi, rina, hendra) with one
    demo password, printed once. Accounts already there are left as they are."""
    import secrets

    from bench.synthetic import demo_accounts, generate, plan, summary_lines
    from services import bootstrap
    from services.access import Principal
    from services.domain.errors import Duplicate
    from services.secrets import resolve_secrets

    async def work(settings: Settings, store: EventStore) -> None:
        password = f"jaga-demo-{secrets.token_hex(4)}"
        made, there = await demo_accounts(
            bootstrap.accounts(settings, store), password,
            Principal("demo-seed", frozenset({Role.ADMIN})), _admin_context("demo-seed"),
        )  # fmt: skip
        if made:
            names = ", ".join(f"{a.username} ({a.role})" for a in made)
            console.print(f"Demo accounts made, password {password}: {names}", highlight=False)
        if there:
            names = ", ".join(a.username for a in there)
            console.print(f"Accounts already there, left as they are: {names}", highlight=False)
        summary = await generate(
            store, resolve_secrets(settings).lookup(),
            plan(participants, seed=seed, months=months),
            progress=lambda text: console.print(f"[dim]{text}[/]", highlight=False),
        )  # fmt: skip
        for line in summary_lines(summary):
            console.print(line, highlight=False)
        console.print("The workers (`jaga up`) or `jaga projections run` build the read models.")

    _with_store(work, refusals=(Duplicate,), label="Not seeded")


@cohorts_app.command("create")
def cohorts_create(
    cohort_id: Annotated[str, typer.Option("--id", help="Short id, e.g. kph2025.")],
    name: Annotated[str, typer.Option()],
    sponsor: Annotated[str, typer.Option(help='e.g. "APBD Kabupaten Kepahiang".')],
    budget_year: Annotated[int, typer.Option()],
    quota: Annotated[int, typer.Option()],
    coverage_start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"])],
    coverage_end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"])],
    budget_allocation: Annotated[int, typer.Option(help="Rupiah.")],
    legal_basis: Annotated[list[str], typer.Option(help="Repeat for each reference.")],
    actor: Annotated[str, typer.Option(help="The administrator creating it.")],
    programme: Annotated[list[str], typer.Option(help="JKK, JKM, JHT.")] = ["JKK", "JKM"],  # noqa: B006
    open_now: Annotated[bool, typer.Option("--open/--no-open", help="Open it at once.")] = True,
) -> None:
    """Create a cohort (and open it for registration)."""
    from services.commands import CreateCohort, OpenCohort

    command = CreateCohort(
        cohort_id=cohort_id, name=name, sponsor=sponsor, budget_year=budget_year, quota=quota,
        programmes=programme, coverage_start=coverage_start.date(),
        coverage_end=coverage_end.date(), budget_allocation=budget_allocation,
        legal_basis=legal_basis,
    )  # fmt: skip
    commands = [command, OpenCohort(cohort_id)] if open_now else [command]
    _administer(commands, actor)
    console.print(f"Cohort {cohort_id} created{' and open' if open_now else ''}.")


def _administer(commands: list[Any], actor: str) -> None:
    from services import bootstrap
    from services.domain.errors import DomainError

    async def work(settings: Settings, store: EventStore) -> None:
        registrar = bootstrap.registrar(settings, store)
        for command in commands:
            await registrar.administer(command, _admin_context(actor))

    _with_store(work, refusals=(DomainError,), label="Refused")


@import_app.command("participants")
def import_participants(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX list.")],
    cohort: Annotated[str, typer.Option(help="The cohort to register the workers into.")],
    actor: Annotated[str, typer.Option(help="Who hands the list over (recorded on events).")],
    report: Annotated[
        Path | None, typer.Option(help="Where to write the rejected rows (CSV).")
    ] = None,
) -> None:
    """Register the workers of a regency's list; rejected rows go to a report with reasons."""
    from rich.progress import Progress

    from events.store import Context
    from services import bootstrap
    from services.importer import ImportFileError, import_participants, write_rejections

    report_path = report or file.with_name(f"{file.stem}-ditolak.csv")

    async def work(settings: Settings, store: EventStore) -> None:
        registrar = bootstrap.registrar(settings, store)
        with Progress(console=console) as bar:
            task = bar.add_task(f"Import {file.name}", total=None)
            result = await import_participants(
                registrar, file, cohort, Context(actor=f"registrar:{actor}"),
                progress=lambda done: bar.update(task, completed=done),
            )  # fmt: skip
        write_rejections(result, report_path)
        console.print(
            f"{result.rows} rows: {result.enrolled} enrolled, {result.waitlisted} on the "
            f"waiting list, {result.already_registered} already registered, "
            f"{len(result.rejected)} rejected (see {report_path})."
        )

    _with_store(work, refusals=(ImportFileError,), label=f"Cannot import {file}")


@personal_app.command("erase")
def personal_data_erase(
    subject: Annotated[str, typer.Argument(help="The data subject's id (e.g. a participant id).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail (recorded as an event).")],
    actor: Annotated[
        str, typer.Option(help="The username of the active administrator ordering it.")
    ],
) -> None:
    """Destroy a data subject's key: their personal values read as "dihapus" from then on.
    Only an active administrator's account may order it; the erasure event names them."""
    from events.personal import PersonalDataError
    from events.store import Context
    from services import bootstrap
    from services.domain.errors import NotFound
    from services.personal_data import erase_subject

    async def work(settings: Settings, store: EventStore) -> None:
        try:
            ordered_by = await bootstrap.accounts(settings, store).user(actor)
        except NotFound:
            raise PersonalDataError(f"no user account {actor!r}: only an administrator may "
                                    "order an erasure") from None  # fmt: skip
        if ordered_by.status != "active" or Role.ADMIN not in ordered_by.roles:
            raise PersonalDataError(
                f"{actor} is not an active administrator: only an administrator may order "
                "an erasure"
            )
        context = Context(actor=f"user:{ordered_by.username}")
        result = await erase_subject(store, subject, reason, context)
        console.print(
            f"Erased the personal data of {subject} "
            f"(event at position {result.last_position} in {result.stream_id})."
        )

    _with_store(work, refusals=(PersonalDataError,), label="Not erased")


@personal_app.command("due")
def personal_data_due(
    on: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="As of this date (default today).")
    ] = None,
) -> None:
    """List the data subjects whose retention period is over (erase them with `erase`)."""
    from services.domain.calendar import business_date
    from services.domain.policy import DEFAULT_POLICY
    from services.retention import due_for_erasure

    today = on.date() if on else business_date(datetime.now(UTC))

    async def work(settings: Settings, store: EventStore) -> None:
        due = await due_for_erasure(store, DEFAULT_POLICY, today)
        for subject in due:
            print(f"{subject.subject_id}\tmembership ended {subject.membership_ended}"
                  f"\tkept until {subject.keep_until}")  # fmt: skip
        console.print(
            f"{len(due)} data subject(s) due for erasure on {today} "
            f"(retention: {DEFAULT_POLICY.personal_data_retention_years} years after "
            f"membership ended, policy {DEFAULT_POLICY.version})."
        )

    _with_store(work)


@personal_app.command("new-keys")
def personal_data_new_keys(
    key_id: Annotated[str, typer.Option(help="Id of the new master key.")] = "k1",
) -> None:
    """Print a new master key and NIK lookup key, as lines for a .env file or a secret store.

    Every Jaga process of one installation must get the same two values (compose.yaml needs
    them); the lookup key must never change once NIKs were registered under it.
    """
    import base64
    import secrets

    from events.personal import MasterKeys

    print(f"JAGA_MASTER_KEYS={MasterKeys.generate(key_id)}")
    print(f"JAGA_LOOKUP_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}")


@personal_app.command("rotate-master-key")
def personal_data_rotate() -> None:
    """Re-wrap every subject key under the first key of JAGA_MASTER_KEYS (events untouched)."""

    async def work(settings: Settings, store: EventStore) -> None:
        assert store.keyring is not None
        count = await store.keyring.rotate()
        console.print(f"Re-wrapped {count} subject key(s) under the active master key.")

    _with_store(work)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name, e.g. sari.")],
    role: Annotated[list[Role], typer.Option(help="Repeat for each role.")],
    display_name: Annotated[str, typer.Option(help="The officer's full name.")],
    actor: Annotated[str, typer.Option(help="The operator creating it (recorded on events).")],
    kecamatan: Annotated[
        list[str], typer.Option(help="Kecamatan code the user works in; repeat. None: all.")
    ] = [],  # noqa: B006
) -> None:
    """Create an account, e.g. the first administrator of a fresh install. The password is
    read from stdin, or prompted for on a terminal: never from the command line, where
    shell history and the process list would keep it."""
    from services import bootstrap
    from services.access import Principal
    from services.domain.errors import DomainError
    from services.users import CreateUser

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    command = CreateUser(
        username=username, display_name=display_name, roles=[r.value for r in role],
        kecamatan=kecamatan,
    )  # fmt: skip
    operator = Principal(actor, frozenset({Role.ADMIN}))

    async def work(settings: Settings, store: EventStore) -> None:
        accounts = bootstrap.accounts(settings, store)
        user = await accounts.create(command, password, operator, _admin_context(actor))
        console.print(
            f"User {user.username} created: {', '.join(sorted(user.roles))}"
            f" in {', '.join(sorted(user.kecamatan)) or 'every kecamatan'}."
        )

    _with_store(work, refusals=(DomainError,), label="Refused")


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
    from services.bootstrap import event_store

    return await event_store(settings, services.database_url, min_size=1, max_size=4)


def _with_store(
    work: Callable[[Settings, EventStore], Awaitable[None]],
    *,
    refusals: tuple[type[Exception], ...] = (),
    label: str = "Refused",
) -> None:
    """The common frame of a command: servers (embedded if need be), migrations, the event
    store for `work`, closed afterwards; a refusal is printed and exits 1."""
    settings = _settings()
    with _services(settings) as services:
        _migrate(services.database_url)

        async def run() -> None:
            store = await _event_store(settings, services)
            try:
                await work(settings, store)
            finally:
                await store.close()

        try:
            asyncio.run(run())
        except refusals as refused:
            console.print(f"[red]{label}:[/] {refused}")
            raise typer.Exit(1) from None


def _children(services: ResolvedServices, commands: dict[str, list[str]]) -> Supervisor:
    """jaga subcommands run as child processes on this process's servers."""
    from workers.supervisor import Supervisor, jaga_command

    env = {**os.environ, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    return Supervisor({name: jaga_command(*args) for name, args in commands.items()}, env)


def _enqueue(actor: str, *args: Any) -> None:
    """Hand a message to the workers (they need not run now: it waits in Redis)."""
    settings = _settings()
    with _services(settings) as services:
        from workers.actors import message
        from workers.broker import create_broker

        broker = create_broker(services.redis_url, settings.redis_namespace)
        try:
            broker.enqueue(message(actor, *args))
        finally:
            broker.close()


def _admin_context(actor: str) -> Context:
    from events.store import Context

    return Context(actor=f"admin:{actor}")


def _migrate(database_url: str) -> None:
    from services.bootstrap import migrate_database

    applied = asyncio.run(migrate_database(database_url))
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
