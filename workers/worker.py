"""A worker process: Dramatiq consuming the projection and job queues (`jaga worker`).

One process runs one Dramatiq Worker: its consumer threads poll Redis (workers/broker.py), its
worker threads hand the `async def` actors to one event loop, whose pool, event store and
projection runner they share (workers/actors.py `WorkerContext`). More processes use both
cores; `jaga worker --processes N` starts N of these under a supervisor.
"""

from __future__ import annotations

import logging

from dramatiq import Worker

from projections.catalog import all_projections
from services.config import Settings
from workers.actors import WorkerContext, declare
from workers.broker import POLL_MS, create_broker
from workers.supervisor import wait_while_parent_lives
from workers.wake import Waker

log = logging.getLogger("jaga.workers")

SHUTDOWN_MS = 30_000
"""How long a stopping worker lets running actors finish; the actors that are told to stop
(rebuilds, catch-ups) stop at once and keep every step they committed."""


def run_worker(settings: Settings, database_url: str, redis_url: str, *, threads: int) -> None:
    """Consume until Ctrl-C / SIGTERM (KeyboardInterrupt), or until the parent process that
    started this one is gone."""
    broker = create_broker(redis_url, settings.redis_namespace)
    waker = Waker(broker, [p.name for p in all_projections()])
    broker.add_middleware(WorkerContext(settings, database_url, waker, pool_size=threads + 2))
    declare(broker)
    broker.emit_after("process_boot")
    worker = Worker(broker, worker_threads=threads, worker_timeout=POLL_MS)
    worker.start()
    log.info("worker running (%d thread(s), queues %s)", threads, ", ".join(broker.queues))
    try:
        wait_while_parent_lives()
    finally:
        worker.stop(timeout=SHUTDOWN_MS)
        broker.close()
        log.info("worker stopped")
