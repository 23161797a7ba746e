"""Fire a schedule bucket now, as beat would at its next tick (demos and benchmarks)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_celery_beat.models import PeriodicTask

from taskhub.executions.fanout import fanout
from taskhub.subscriptions.scheduling import FANOUT_TASK


class Command(BaseCommand):
    help = "Fan out one schedule bucket (--schedule ID) or every active bucket (--all) now."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--schedule", type=int, help="CrontabSchedule id of the bucket")
        group.add_argument("--all", action="store_true", help="every enabled bucket")

    def handle(self, *args: Any, schedule: int | None, all: bool, **options: Any) -> None:
        ids = (
            [schedule]
            if schedule
            else list(PeriodicTask.objects.filter(task=FANOUT_TASK, enabled=True).values_list("crontab_id", flat=True))
        )
        for schedule_id in ids:
            result = fanout(schedule_id=schedule_id)
            self.stdout.write(
                f"bucket {schedule_id} at {result.fire_key}: {result.subscriptions} subscriptions, "
                f"{result.created} new executions, {result.enqueued} enqueued, {result.missed} missed"
            )
