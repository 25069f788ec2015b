"""The timetable: which run of a job is due when (Asia/Jakarta), and each run enqueued once
however many schedulers start."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from dramatiq import Message

from workers.broker import JOBS_QUEUE, create_broker
from workers.scheduler import SCHEDULE, Job, due_slot, enqueue_due

REMINDERS, SLA_WATCH = SCHEDULE


@pytest.mark.parametrize(
    ("job", "utc", "slot"),
    [
        (REMINDERS, datetime(2025, 10, 6, 0, 59, tzinfo=UTC), None),  # 07:59 WIB
        (REMINDERS, datetime(2025, 10, 6, 1, 0, tzinfo=UTC), "send_reminders:2025-10-06T08"),
        (REMINDERS, datetime(2025, 10, 6, 16, 59, tzinfo=UTC), "send_reminders:2025-10-06T08"),
        (REMINDERS, datetime(2025, 10, 6, 17, 0, tzinfo=UTC), None),  # 00:00 WIB on the 7th
        (SLA_WATCH, datetime(2025, 10, 6, 3, 30, tzinfo=UTC), "watch_sla:2025-10-06T10"),
        (SLA_WATCH, datetime(2025, 10, 6, 14, 0, tzinfo=UTC), "watch_sla:2025-10-06T18"),
        (SLA_WATCH, datetime(2025, 10, 5, 23, 59, tzinfo=UTC), None),  # 06:59 WIB
    ],
)
def test_the_run_due_is_the_latest_of_the_jakarta_day(
    job: Job, utc: datetime, slot: str | None
) -> None:
    assert due_slot(job, utc) == slot


def test_reminders_daily_and_the_sla_watch_at_least_daily() -> None:
    assert (REMINDERS.actor, REMINDERS.hours) == ("send_reminders", (8,))
    assert SLA_WATCH.actor == "watch_sla" and len(SLA_WATCH.hours) >= 1


def test_each_run_is_enqueued_once_however_many_schedulers_ask(
    redis_url: str, redis_namespace: str
) -> None:
    broker = create_broker(redis_url, f"{redis_namespace}-{uuid4().hex[:8]}")
    morning = datetime(2025, 10, 6, 1, 30, tzinfo=UTC)
    try:
        assert enqueue_due(broker, REMINDERS, morning) == "send_reminders:2025-10-06T08"
        assert enqueue_due(broker, REMINDERS, morning) is None  # a second scheduler, a restart
        assert enqueue_due(broker, REMINDERS, datetime(2025, 10, 7, 1, 30, tzinfo=UTC))
        raw = broker.client.hvals(f"{broker.namespace}:{JOBS_QUEUE}.msgs")
        assert [Message.decode(m).actor_name for m in raw] == ["send_reminders"] * 2
    finally:
        broker.close()
