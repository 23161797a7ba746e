"""What a user asked for. Writes go through ``services``; reads through ``selectors``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_celery_beat.models import CrontabSchedule

from taskhub.subscriptions.states import Status


class Kind(models.TextChoices):
    PERIODIC = "periodic"
    MONITOR = "monitor"
    ONCE = "once"


class Priority(models.IntegerChoices):
    LOW = 0
    NORMAL = 1
    URGENT = 2


class MissedPolicy(models.TextChoices):
    CATCH_UP_ONCE = "catch_up_once"  # run the latest missed fire once, within the window
    SKIP = "skip"  # record missed fires, run none


class Origin(models.TextChoices):
    API = "api"
    CHAT = "chat"
    ADMIN = "admin"
    MCP = "mcp"


class Subscription(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(max_length=200)

    tool = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict, blank=True)
    # sha256 of (tool, canonical arguments): groups subscriptions that need the same tool call.
    call_key = models.CharField(max_length=64, db_index=True)

    # periodic: the shared cron+timezone row; its PeriodicTask is the schedule bucket.
    schedule = models.ForeignKey(
        CrontabSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions"
    )
    run_at = models.DateTimeField(null=True, blank=True)  # once
    timezone = models.CharField(max_length=64, default="UTC")
    condition = models.JSONField(null=True, blank=True)  # monitor
    template = models.TextField(blank=True)
    channels = models.ManyToManyField("channels.Channel", blank=True, related_name="subscriptions")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)

    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    missed_policy = models.CharField(max_length=16, choices=MissedPolicy.choices, default=MissedPolicy.CATCH_UP_ONCE)
    catch_up_window_s = models.PositiveIntegerField(default=3600)

    consecutive_failures = models.PositiveIntegerField(default=0)
    # When it last ran is read from its executions (selectors.with_last_runs), not written
    # here on every run: a tick would rewrite every subscription of its bucket.

    created_from = models.CharField(max_length=16, choices=Origin.choices, default=Origin.API)
    source_ref = models.CharField(max_length=100, blank=True)  # e.g. the chat turn id
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # fan-out: active subscriptions of a bucket, keyset-paginated by (call_key, id) so that
            # each batch holds the subscribers of a few tool calls, not a few of each. The predicate
            # names every filter of the fan-out's chunk query, which then reads the index alone.
            models.Index(
                fields=["schedule", "call_key", "id"],
                condition=Q(status="active", kind="periodic"),
                name="sub_periodic_by_schedule_call",
            ),
            # one-off reminders: the due-time index the sweeper reads
            models.Index(fields=["run_at"], condition=Q(status="active", kind="once"), name="sub_once_due"),
            # monitors: active ones by the tool call they watch
            models.Index(
                fields=["call_key", "id"], condition=Q(status="active", kind="monitor"), name="sub_monitor_key"
            ),
            models.Index(fields=["owner", "status"], name="sub_owner_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.kind}, {self.status})"
