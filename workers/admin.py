"""What an operator runs by hand (`jaga projections …`, `jaga jobs run`): each projection's
state and lag, a catch-up without workers, a rebuild with a progress bar, a job now."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from events.store import EventStore
from projections.runner import ProjectionRunner
from services.config import Settings
from workers.actors import JOBS, catch_up_all, summary


async def status_table(runner: ProjectionRunner) -> Table:
    """Each projection's serving build and any build under way: checkpoint, lag, failure."""
    table = Table(title="Projections")
    for column in ("Name", "Ver", "Gen", "State", "Checkpoint"):
        table.add_column(column, no_wrap=True)
    table.add_column("Lag events", justify="right", no_wrap=True)
    table.add_column("Lag s", justify="right", no_wrap=True)
    table.add_column("Error", overflow="fold")
    built = set()
    for s in await runner.status():
        built.add(s.name)
        state = {"active": "[green]serving[/]", "building": "[yellow]building[/]"}.get(
            s.state, f"[red]{s.state}[/]"
        )
        error = "" if s.error is None else f"at {s.failed_position} ({s.failed_type}): {s.error}"
        table.add_row(
            s.name, str(s.version), str(s.generation), state, str(s.position),
            f"{s.lag_events:,}", f"{s.lag_seconds:.1f}", error,
        )  # fmt: skip
    for name, p in runner.projections.items():
        if name not in built:
            table.add_row(name, str(p.version), "-", "[red]not built[/]", "-", "-", "-", "")
    return table


class RateColumn(ProgressColumn):
    """Events applied per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        label = "-- events/s" if speed is None else f"{speed:,.0f} events/s"
        return Text(label, style="progress.data.speed")


async def rebuild_with_progress(runner: ProjectionRunner, name: str, console: Console) -> int:
    """Rebuild `name` beside the serving build, showing progress, rate and time left; returns
    the generation that took over."""
    runner.projection(name)  # an unknown name fails before anything is built
    await runner.prepare()
    total = await runner.events_to_apply(name)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TaskProgressColumn(), RateColumn(), TimeRemainingColumn(), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"Rebuild {name}", total=total)

        def progress(applied: int) -> None:
            bar.update(task, completed=applied, total=max(total, applied))

        return await runner.rebuild(name, progress=progress)


async def run_projections(runner: ProjectionRunner) -> dict[str, int]:
    """Build any missing projection and catch every one up, here and now."""
    await runner.prepare()
    return await catch_up_all(runner)


async def run_job(job: str, store: EventStore, settings: Settings, today: date) -> str:
    """Run a scheduled job here and now; returns a one-line summary of what it did."""
    _, run = JOBS[job]
    return summary(await run(store, settings, today))
