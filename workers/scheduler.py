"""The scheduler process (`jaga scheduler`): the listener, and the jobs on their timetable.

APScheduler fires each job at its hours (Asia/Jakarta) and the job is handed to the workers
as a message. A run is enqueued once per *slot* (job, date, hour), under a Redis mark, however
many schedulers run and however often they restart; on start the scheduler enqueues the slot
already due today if nobody has (a scheduler that was down at 08:00 still sends that day's
reminders). The jobs themselves are idempotent, so a slot run twice would do no harm either.
If Redis is down when a slot comes, the scheduler keeps trying until it can enqueue it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from dramatiq.brokers.redis import RedisBroker

from projections.catalog import all_projections
from services.config import Settings
from workers.actors import message
from workers.broker import TRANSIENT, create_broker
from workers.listener import Listener, Outage
from workers.supervisor import parent_gone
from workers.wake import Waker

log = logging.getLogger("jaga.scheduler")

JAKARTA = ZoneInfo("Asia/Jakarta")
SLOT_TTL = 2 * 86_400
"""Seconds a slot's mark is kept: past the slot's day, when it can no longer come due."""


class Job(msgspec.Struct, frozen=True):
    actor: str
    hours: tuple[int, ...]
    """Hours of the day (Asia/Jakarta, on the hour) it runs at, every day."""


SCHEDULE = (
    Job("send_reminders", hours=(8,)),
    Job("watch_sla", hours=tuple(range(7, 19))),
)
"""Premium reminders each morning at 08:00; the claim SLA watch hourly from 07:00 to 18:00."""


def due_slot(job: Job, now: datetime) -> str | None:
    """The latest run of `job` due at `now`, named by job, Jakarta date and hour; None before
    the day's first run."""
    local = now.astimezone(JAKARTA)
    past = [hour for hour in job.hours if hour <= local.hour]
    if not past:
        return None
    return f"{job.actor}:{local.date().isoformat()}T{max(past):02d}"


def enqueue_due(broker: RedisBroker, job: Job, now: datetime) -> str | None:
    """Enqueue the slot of `job` due at `now` unless someone has; returns the slot enqueued."""
    slot = due_slot(job, now)
    if slot is None:
        return None
    mark = f"{broker.namespace}:schedule:{slot}"
    if not broker.client.set(mark, b"1", nx=True, ex=SLOT_TTL):
        return None
    try:
        broker.enqueue(message(job.actor))
    except BaseException:
        with contextlib.suppress(*TRANSIENT):
            broker.client.delete(mark)  # not enqueued after all
        raise
    return slot


async def enqueue_when_possible(broker: RedisBroker, job: Job) -> None:
    """`enqueue_due` for the slot due now, trying until Redis takes it."""
    now = datetime.now(UTC)
    outage = Outage(f"Redis ({job.actor})", max_backoff=30)
    while True:
        try:
            slot = await asyncio.to_thread(enqueue_due, broker, job, now)
        except TRANSIENT as exc:
            await asyncio.sleep(outage.failed(exc))
            continue
        outage.ok()
        if slot is not None:
            log.info("enqueued %s", slot)
        return


def run_scheduler(settings: Settings, database_url: str, redis_url: str) -> None:
    """Listen and schedule until Ctrl-C / SIGTERM (KeyboardInterrupt), or until the parent
    process that started this one is gone."""
    asyncio.run(_run(settings, database_url, redis_url))


async def _run(settings: Settings, database_url: str, redis_url: str) -> None:
    broker = create_broker(redis_url, settings.redis_namespace)
    names = [p.name for p in all_projections()]
    listener = Listener(database_url, Waker(broker, names), interval=settings.wake_interval)
    scheduler = AsyncIOScheduler(timezone=JAKARTA)
    for job in SCHEDULE:
        hours = CronTrigger(hour=",".join(map(str, job.hours)), minute=0, timezone=JAKARTA)
        scheduler.add_job(
            enqueue_when_possible, hours, args=(broker, job), id=job.actor,
            misfire_grace_time=3600, coalesce=True,
        )  # fmt: skip
    scheduler.start()
    tasks = [asyncio.create_task(enqueue_when_possible(broker, job)) for job in SCHEDULE]
    listening = asyncio.create_task(listener.run())
    log.info(
        "scheduler running: waking %d projection(s) on appends and every %.1fs; %s (Asia/Jakarta)",
        len(names), settings.wake_interval,
        "; ".join(f"{job.actor} at {', '.join(f'{h:02d}:00' for h in job.hours)}"
                  for job in SCHEDULE),
    )  # fmt: skip
    try:
        while not parent_gone():
            done, _ = await asyncio.wait({listening}, timeout=0.5)
            if done:  # the listener only ends on a bug: let it show
                listening.result()
                raise RuntimeError("the listener stopped")
        log.warning("the process that started this scheduler is gone; stopping")
    finally:
        for task in (*tasks, listening):
            task.cancel()
        await asyncio.gather(*tasks, listening, return_exceptions=True)
        scheduler.shutdown(wait=False)
        broker.close()
