"""End to end: commands through the services, `jaga worker` and `jaga scheduler` as real
processes, read models checked; a job handed to the workers from the CLI, its events
projected in turn; the operator's status and rebuild commands."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import UTC, date, datetime

import pytest

from tests.workers.conftest import Deployment, caught_up, read_models, rebuilt
from tests.workers.workload import wave
from workers.scheduler import SCHEDULE, due_slot
from workers.supervisor import jaga_command

pytestmark = pytest.mark.slow

SLA_WATCH = next(job for job in SCHEDULE if job.actor == "watch_sla")


def jaga(deployment: Deployment, *args: str) -> str:
    done = subprocess.run(
        jaga_command(*args), env=deployment.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


async def test_commands_reach_the_read_models_through_real_workers(
    deployment: Deployment,
) -> None:
    # the scheduler enqueues the SLA watch due now, if any, as it starts
    startup_runs = 1 if due_slot(SLA_WATCH, datetime.now(UTC)) else 0
    deployment.start("scheduler")
    worker = deployment.start("worker", "--threads", "4")
    store = deployment.store

    done = await wave(store, 20, 0)
    await caught_up(store, within=20)
    claim = await store.pool.fetchrow("SELECT * FROM rm.claims WHERE claim_id = $1", done.claim_id)
    assert claim is not None
    assert (claim["state"], claim["participant_id"], claim["missing_documents"]) == (
        "submitted", done.participants[0], [],
    )  # fmt: skip
    assert claim["sla_deadline"] == date(2025, 12, 10)
    seen = await store.pool.fetch(
        """SELECT DISTINCT event_type FROM rm.timeline
           WHERE subject_kind = 'participant' AND subject_id = $1""",
        done.participants[-1],
    )
    assert {"ParticipantRegistered", "ContributionPaid"} <= {r[0] for r in seen}

    # the SLA watch, handed to the workers from the CLI (or the one the scheduler started
    # with), flags the claim, whose deadline is long past; the flag is an event, which the
    # listener and the workers project in turn
    jaga(deployment, "jobs", "run", "sla-watch", "--enqueue")
    deadline = time.monotonic() + 20
    flag = "SELECT sla_flag FROM rm.claims WHERE claim_id = $1"
    while (
        worker.output().count("claim SLA watch: as_of=") < startup_runs + 1
        or await store.pool.fetchval(flag, done.claim_id) != "breached"
    ):
        assert time.monotonic() < deadline, worker.output()
        await asyncio.sleep(0.1)

    inline = jaga(deployment, "jobs", "run", "sla-watch", "--on", "2025-12-20")
    assert "sla-watch (2025-12-20): as_of=2025-12-20 checked=1 flagged=0" in inline

    status = jaga(deployment, "projections", "status")
    for name in ("claim_board", "audit_timeline"):
        assert name in status
    assert "serving" in status and "stopped" not in status

    before = await read_models(store)
    rebuild = jaga(deployment, "projections", "rebuild", "claim_board")
    assert "events/s" in rebuild and "rebuilt and serving" in rebuild
    assert await read_models(store) == before
    assert await rebuilt(store) == before
