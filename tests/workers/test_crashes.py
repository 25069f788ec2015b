"""Workers killed with SIGKILL at random moments, during live projection and during rebuilds,
and Redis lost and started again (empty) while commands are appended: every read model ends
equal to a fresh rebuild from position 0 (invariant 5), and nothing appended is missing."""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from tests.workers.conftest import Deployment, JagaProcess, Valkey, caught_up, read_models, rebuilt
from tests.workers.workload import wave
from workers.actors import message

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("JAGA_TEST_SEED", time.time_ns() % 1_000_000))


async def lagging(deployment: Deployment) -> bool:
    """Whether some projection has events still to apply, or a build under way."""
    status = await deployment.runner().status()
    return any(s.lag_events or s.state == "building" for s in status)


async def test_workers_killed_at_random_leave_read_models_equal_to_a_rebuild(
    deployment: Deployment,
) -> None:
    rng = random.Random(SEED)
    store = deployment.store
    deployment.start("scheduler")
    worker = deployment.start("worker", "--threads", "4")
    busy_kills = 0

    async def kill_and_restart(worker: JagaProcess) -> JagaProcess:
        """Kill the worker, as soon as it has work in hand if that comes within a second
        (random timing alone left too many kills on an idle worker on a busy machine)."""
        nonlocal busy_kills
        for _ in range(200):  # about a second
            if await lagging(deployment):
                busy_kills += 1
                break
            await asyncio.sleep(0.005)
        worker.kill()
        return deployment.start("worker", "--threads", "4")

    for n in range(4):  # live projection: killed while waves of commands come in
        appending = asyncio.create_task(wave(store, 200, n * 1000))
        await asyncio.sleep(rng.uniform(0.05, 0.2))  # while the wave is still coming in
        worker = await kill_and_restart(worker)
        await appending

    broker = deployment.broker()
    try:
        for _ in range(3):  # rebuilds: killed once a new build is under way
            for name in deployment.runner().projections:
                broker.enqueue(message("rebuild", name, time.time()))
            deadline = time.monotonic() + 10
            while not any(s.state == "building" for s in await deployment.runner().status()):
                assert time.monotonic() < deadline, "no rebuild started"
                await asyncio.sleep(0.01)
            await asyncio.sleep(rng.uniform(0, 0.05))  # small logs: builds are short
            worker = await kill_and_restart(worker)
    finally:
        broker.close()

    assert await store.pool.fetchval("SELECT count(*) FROM events") > 3000
    await caught_up(store, within=30)
    assert busy_kills >= 4, f"most kills should land mid-work (seed {SEED})"
    served = await read_models(store)
    for process in deployment.processes:
        process.stop()
    assert served == await rebuilt(store), f"seed {SEED}"


async def test_a_redis_outage_delays_the_read_models_and_loses_nothing(
    deployment: Deployment, valkey: Valkey
) -> None:
    valkey.start()
    deployment.redis_url = valkey.url
    deployment.start("scheduler")
    deployment.start("worker", "--threads", "4")
    store = deployment.store
    await wave(store, 50, 0)
    await caught_up(store, within=20)

    valkey.stop()  # every queued message and wake-up mark is lost with it
    appending = asyncio.create_task(wave(store, 50, 1000))
    await asyncio.sleep(1.0)
    valkey.start()  # empty
    await appending
    last = await wave(store, 50, 2000)

    await caught_up(store, within=30)
    assert all(p.proc.poll() is None for p in deployment.processes)  # rode it out, no restart
    claim = "SELECT state FROM rm.claims WHERE claim_id = $1"
    assert await store.pool.fetchval(claim, last.claim_id) == "submitted"
    assert await store.pool.fetchval("SELECT count(*) FROM rm.claims") == 3
    assert await read_models(store) == await rebuilt(store)
