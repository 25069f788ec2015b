"""`jaga bench projections` end to end at a tiny size: a generated log, two rebuilds by the real
command in child processes, a real worker and scheduler under a few seconds of payments; the
last line of output is the JSON object with every figure."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from bench.projections import main


@pytest.mark.slow
async def test_it_reports_every_figure_and_leaves_no_database_behind(
    database_url: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await _bench_databases(database_url)
    await asyncio.to_thread(main, database_url, redis_url, participants=30, months=3,
                            seed=99, seconds=2, keep_log=False)  # fmt: skip

    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert report["bench"] == "projections"
    figures = {f["name"]: f for f in report["figures"]}
    assert {"rebuild_participant_status", "lag_p99_ms", "rebuild_peak_rss_mb"} <= set(figures)
    rebuild = figures["rebuild_participant_status"]
    assert rebuild["value"] > 0 and rebuild["baseline"] > 0 and rebuild["ratio"] > 0
    assert rebuild["floor"] == 30_000 and rebuild["target"] == 0.25
    assert 0 < figures["lag_p50_ms"]["value"] <= figures["lag_p99_ms"]["value"]
    assert 20 < figures["rebuild_peak_rss_mb"]["value"] < 2000
    assert await _bench_databases(database_url) == before


async def _bench_databases(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'jaga\\_bench\\_%'"
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}
