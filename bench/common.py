"""Helpers shared by the `jaga bench ...` benchmarks.

A benchmark figure is only meaningful next to a raw baseline measured in the same run on the same
database, so this module provides: a throw-away scratch database (never the caller's data),
time-boxed concurrent loops, baseline/ours interleaving that cancels drift, and one output format
(a rich table, then exactly one JSON line last for machines).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from rich.console import Console
from rich.table import Table

SECONDS_ENV = "JAGA_BENCH_SECONDS"

# Progress goes to stderr so that stdout holds only the table and the final JSON line.
progress = Console(stderr=True)


def figure_seconds(seconds: float | None, default: float) -> float:
    """Measured seconds per figure: the argument, else $JAGA_BENCH_SECONDS, else the default."""
    if seconds is None:
        raw = os.environ.get(SECONDS_ENV)
        seconds = float(raw) if raw else default
    if seconds <= 0:
        raise ValueError(f"benchmark seconds must be positive, not {seconds}")
    return seconds


# -- scratch database ----------------------------------------------------------------------------


def with_database(url: str, database: str) -> str:
    """The same server and credentials as `url`, but another database."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("the database URL must look like postgresql://user@host:port/db")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("dbname", "database")]
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, urlencode(query), ""))


async def _maintenance_connection(url: str) -> asyncpg.Connection:
    """A connection to the server of `url`: its own database, else the `postgres` one."""
    try:
        return await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        return await asyncpg.connect(with_database(url, "postgres"))


@asynccontextmanager
async def scratch_database(url: str, prefix: str) -> AsyncIterator[str]:
    """Create a fresh database on the server of `url`, yield its URL, drop it even on failure.

    Benchmarks write a lot and need an empty schema; the caller's database is never touched.
    """
    name = f"{prefix}_{secrets.token_hex(4)}"
    conn = await _maintenance_connection(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield with_database(url, name)
    finally:
        conn = await _maintenance_connection(url)
        try:
            # FORCE (PostgreSQL 13+) ends any connection a failed run left behind.
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# -- timing --------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Operations (or events) done and wall-clock seconds spent, summed over phases."""

    count: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def add(self, other: Tally) -> None:
        self.count += other.count
        self.seconds += other.seconds


Worker = Callable[[int, float], Awaitable[int]]
"""A worker: (worker index, deadline on the perf_counter clock) -> units of work done."""


async def run_workers(workers: int, seconds: float, work: Worker) -> Tally:
    """Run `workers` concurrent tasks until the deadline; each finishes the operation it is in.

    Operations are never cancelled midway, so every counted unit really completed.
    """
    start = time.perf_counter()
    deadline = start + seconds
    counts = await asyncio.gather(*(work(i, deadline) for i in range(workers)))
    return Tally(sum(counts), time.perf_counter() - start)


Phase = Callable[[float], Awaitable[Tally]]
"""One side of a comparison, run for the given seconds."""


async def interleaved(
    baseline: Phase, ours: Phase, seconds: float, warmup: float
) -> tuple[Tally, Tally]:
    """Warm both sides up, then run baseline, ours, ours, baseline (ABBA) and sum each side.

    ABBA cancels slow drift (tables and indexes growing, checkpoints, cache state) that a plain
    baseline-then-ours order would charge to one side only.
    """
    await baseline(warmup)
    await ours(warmup)
    phase = seconds / 4
    base, mine = Tally(), Tally()
    for side in (baseline, ours, ours, baseline):
        tally = await side(phase)
        (base if side is baseline else mine).add(tally)
    return base, mine


# -- output --------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One reported number with its same-run baseline and its target."""

    name: str
    value: float
    unit: str
    baseline: float | None
    target: float | None
    """None: reported only (no target)."""
    note: str = ""
    at_least: bool = False
    """Without a baseline: the value must reach the target (a rate), not stay at or below it."""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return self.value / self.baseline if self.baseline > 0 else 0.0

    @property
    def met(self) -> bool | None:
        """None for a figure reported without a target."""
        if self.target is None:
            return None
        ratio = self.ratio
        if ratio is not None:
            return ratio >= self.target
        if self.at_least:
            return self.value >= self.target
        return self.value <= self.target  # a count or latency (e.g. lost events)

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "name": self.name,
            "value": round(self.value, 1) if isinstance(self.value, float) else self.value,
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 1),
            "ratio": None if ratio is None else round(ratio, 3),
            "target": self.target,
            "met": self.met,
        }


async def machine_info(conn: asyncpg.Connection) -> dict[str, Any]:
    """What the numbers depend on: cores (shared by client and server), versions, durability."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": await conn.fetchval("SHOW server_version"),
        "synchronous_commit": await conn.fetchval("SHOW synchronous_commit"),
        "fsync": await conn.fetchval("SHOW fsync"),
    }


def _target_text(fig: Figure) -> str:
    if fig.target is None:
        return "-"
    return f"≥ {fig.target}" if fig.ratio is not None or fig.at_least else f"≤ {fig.target}"


def report(bench: str, figures: Sequence[Figure], machine: dict[str, Any]) -> None:
    """Print the table, then the JSON object as the very last line of stdout."""
    console = Console()
    table = Table(title=f"jaga bench {bench}")
    for column in ("figure", "ours", "baseline", "unit", "ratio", "target", "met"):
        table.add_column(column, justify="left" if column in ("figure", "unit") else "right")
    for fig in figures:
        ratio = fig.ratio
        table.add_row(
            fig.name,
            f"{fig.value:,.0f}",
            "-" if fig.baseline is None else f"{fig.baseline:,.0f}",
            fig.unit,
            "-" if ratio is None else f"{ratio:.2f}",
            _target_text(fig),
            "-" if fig.met is None else "[green]yes[/]" if fig.met else "[bold red]NO[/]",
        )
    console.print(table)
    for fig in figures:
        if fig.note:
            console.print(f"  {fig.name}: {fig.note}", highlight=False, soft_wrap=True)
    missed = [fig.name for fig in figures if fig.met is False]
    console.print(
        "[green]all targets met[/]" if not missed else f"[bold red]missed:[/] {', '.join(missed)}"
    )
    console.file.flush()
    line = {
        "bench": bench,
        "figures": [fig.as_json() for fig in figures],
        "machine": machine,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(line), flush=True)
