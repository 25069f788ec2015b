"""`jaga bench store` end to end at a tiny duration: every figure is reported with its same-run
baseline, the hot-stream run loses nothing, and no scratch database is left behind."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.store import TARGETS, main
from tests.bench.test_projections_bench import _bench_databases


@pytest.mark.slow
async def test_it_reports_every_figure_and_leaves_no_database_behind(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await _bench_databases(database_url)
    await asyncio.to_thread(main, database_url, seconds=0.4)

    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["bench"] == "store"
    figures = {f["name"]: f for f in report["figures"]}
    for name, target in TARGETS.items():
        figure = figures[name]
        assert figure["value"] > 0 and figure["baseline"] > 0 and figure["ratio"] > 0
        assert figure["target"] == target
    assert figures["lost_events"]["value"] == 0
    for name in ("append_single_w16_sealed", "read_all_sealed"):
        sealed = figures[name]
        assert sealed["value"] > 0 and sealed["baseline"] > 0 and sealed["target"] is None
    for name in ("seal_cost_append_us", "seal_cost_read_us"):  # differences of noisy rates:
        assert figures[name]["unit"] == "us/event"  # at this length, any sign
        assert figures[name]["baseline"] is None and figures[name]["target"] is None
    assert await _bench_databases(database_url) == before
