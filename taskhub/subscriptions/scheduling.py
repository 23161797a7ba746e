"""Schedules and their beat buckets. The only module that writes django-celery-beat rows.

A bucket is one ``PeriodicTask`` per distinct ``CrontabSchedule`` (cron + timezone)
that has at least one active periodic subscription: beat's load grows with the
number of distinct schedules, never with subscribers.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.conf import settings
from django.db import connection, transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from taskhub import queues
from taskhub.subscriptions.models import Kind, Subscription
from taskhub.subscriptions.states import Status

FANOUT_TASK = "taskhub.fanout"


def bucket_name(schedule_id: int) -> str:
    return f"bucket:{schedule_id}"


def cron_of(schedule: CrontabSchedule) -> str:
    """The 5-field cron expression of a beat schedule row."""
    return " ".join(
        (schedule.minute, schedule.hour, schedule.day_of_month, schedule.month_of_year, schedule.day_of_week)
    )


def crontab_for(*, cron: str, timezone: str) -> CrontabSchedule:
    """The shared schedule row for (cron, timezone), created when new.

    Beat's table has no unique constraint, so two transactions creating the same
    schedule at once take turns on a PostgreSQL advisory lock (held to commit) and
    the second finds the first's row: no twin buckets. (SQLite serialises writers
    anyway.) Were a twin made by other means, it is harmless: each bucket fans out
    only its own subscriptions, and the oldest row wins lookups.
    """
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    fields = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
        "timezone": timezone,
    }
    existing = CrontabSchedule.objects.filter(**fields).order_by("id").first()
    if existing is None and connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"crontab:{cron}:{timezone}"])
        existing = CrontabSchedule.objects.filter(**fields).order_by("id").first()
    return existing or CrontabSchedule.objects.create(**fields)


def next_fire_times(*, cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` nominal fire times after ``after``, in ``timezone``."""
    tz = ZoneInfo(timezone)
    it = croniter(cron, after.astimezone(tz))
    return [it.get_next(datetime) for _ in range(count)]


def smallest_gap(*, cron: str, timezone: str, start: datetime, samples: int = 200) -> timedelta:
    """The shortest interval between consecutive fires over the next ``samples`` fires."""
    times = next_fire_times(cron=cron, timezone=timezone, after=start, count=samples)
    return min((b - a for a, b in itertools.pairwise(times)), default=timedelta.max)


def sync_bucket(schedule_id: int) -> None:
    """Make the bucket of ``schedule_id`` exist iff an active periodic subscription uses it.

    Call inside the transaction that changed a subscription. The schedule row is
    locked so that a concurrent cancel and confirm on one bucket cannot leave it
    missing: the second waits and then sees the first's outcome.
    """
    assert transaction.get_connection().in_atomic_block, "sync_bucket must run inside a transaction"
    schedule = CrontabSchedule.objects.select_for_update().get(pk=schedule_id)
    needed = Subscription.objects.filter(schedule_id=schedule_id, status=Status.ACTIVE, kind=Kind.PERIODIC).exists()
    name = bucket_name(schedule_id)
    if needed:
        if PeriodicTask.objects.filter(name=name, enabled=True).exists():
            return
        route = queues.route(queues.DEFAULT)
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": FANOUT_TASK,
                "crontab": schedule,
                "kwargs": json.dumps({"schedule_id": schedule_id}),
                "queue": route.queue,
                "routing_key": route.queue,
                # beat publishes with send_task, which would otherwise send priority 0
                "priority": route.priority,
                "enabled": True,
                "description": f"fan-out of schedule {cron_of(schedule)} {schedule.timezone}",
            },
        )
    else:
        PeriodicTask.objects.filter(name=name).delete()


# name -> (task, seconds between runs, queue)
MAINTENANCE: dict[str, tuple[str, int, str]] = {
    "maintenance:reconcile": ("taskhub.reconcile", 60, queues.LOW),
    "maintenance:sweep-due": ("taskhub.sweep_due", 5, queues.HIGH),
    "maintenance:prune-history": ("taskhub.prune_history", 600, queues.LOW),
    "monitoring:poll": ("taskhub.monitoring.poll", settings.MONITOR_POLL_TICK_S, queues.HIGH),
    # (named as its first data migration created it, so that row is kept up to date)
    "channels: release held deliveries": ("taskhub.channels.release_held", 60, queues.LOW),
}


def ensure_maintenance_entries() -> None:
    """The fixed beat entries (``MAINTENANCE``); idempotent, run after every migrate."""
    from django_celery_beat.models import IntervalSchedule

    for name, (task, seconds, queue) in MAINTENANCE.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        route = queues.route(queue)
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": interval,
                "crontab": None,
                "queue": route.queue,
                "routing_key": route.queue,
                "priority": route.priority,
                "enabled": True,
                "description": f"every {seconds} s",
            },
        )
