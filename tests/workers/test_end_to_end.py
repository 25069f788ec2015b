"""End to end: commands through the services, `jaga worker` and `jaga scheduler` as real
processes, read models checked; a job handed to the workers from the CLI, its events
projected in turn; the operator's status and rebuild commands."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import date

import pytest

from tests.workers.conftest import Deployment, caught_up, read_models, rebuilt
from tests.workers.workload import wave
from workers.supervisor import jaga_command

pytestmark = pytest.mark.slow


def jaga(deployment: Deployment, *args: str) -> str:
    done = subprocess.run(
        jaga_command(*args), env=deployment.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


async def test_commands_reach_the_read_models_through_real_workers(
    deployment: Deployment,
) -> None:
    deployment.start("scheduler")
    deployment.start("worker", "--threads", "4")
    store = deployment.store

    done = await wave(store, 20, 0)
    await caught_up(store, within=20)
    claim = await store.pool.fetchrow("SELECT * FROM rm.claims WHERE claim_id = $1", done.claim_id)
    assert claim is not None
    assert (claim["state"], claim["participant_id"], claim["missing_documents"]) == (
        "submitted", done.participants[0], [],
    )  # fmt: skip
    assert (claim["sla_deadline"], claim["sla_flag"]) == (date(2025, 12, 10), None)
    seen = await store.pool.fetch(
        """SELECT DISTINCT event_type FROM rm.timeline
           WHERE subject_kind = 'participant' AND subject_id = $1""",
        done.participants[-1],
    )
    assert {"ParticipantRegistered", "ContributionPaid"} <= {r[0] for r in seen}

    # the SLA watch, handed to the workers from the CLI, flags the claim (its deadline is
    # long past); the flag is an event, which the listener and the workers project in turn
    jaga(deployment, "jobs", "run", "sla-watch", "--enqueue")
    deadline = time.monotonic() + 20
    while (
        await store.pool.fetchval(
            "SELECT sla_flag FROM rm.claims WHERE claim_id = $1", done.claim_id
        )
        != "breached"
    ):
        assert time.monotonic() < deadline, "the SLA flag never reached the claim board"
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
