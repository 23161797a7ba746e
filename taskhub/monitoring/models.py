"""Monitoring: events, the tool calls watched, and each monitor's condition and alert state.

``Monitor`` is one row per monitor subscription. A single numeric comparison is
stored as (field, direction, threshold) so that matching an event is an indexed
range query; any other condition is kept as data (``condition``) and evaluated in
Python. Both forms keep their alert state (armed, cooldown, daily count) in the row.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from taskhub.core.crypto import EncryptedCharField

# How long a match message owns its event. The matcher renews it as it goes; the
# poller re-sends an unfinished event's match only once its lease has expired.
MATCH_LEASE = timedelta(seconds=60)


class EventSource(models.Model):
    """An external system allowed to POST events; it signs them with ``secret`` (Standard Webhooks)."""

    name = models.SlugField(max_length=64, unique=True)
    # ``whsec_<base64>``: shown once at creation, never in reads; encrypted at rest.
    secret = EncryptedCharField(max_length=400)
    enabled = models.BooleanField(default=True)
    # Tools this source may report on; empty = any known tool.
    tools = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """One observation of a tool call's output: from a poll, an override or an external source."""

    source = models.CharField(max_length=64)  # "poll" or an EventSource name
    dedupe_id = models.CharField(max_length=200)  # unique per source: a replay is the same event
    # sha256 of the gateway's CallKey (tool, arguments with schema defaults): Subscription.call_key.
    key = models.CharField(max_length=64)
    tool = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict)
    payload = models.JSONField(default=dict)
    observed_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    # Set by matching: "matched" (alerts fired: ``alerts``) or "ignored" (older than what we know).
    outcome = models.CharField(max_length=16, blank=True)
    alerts = models.PositiveIntegerField(default=0)
    previous = models.JSONField(null=True, blank=True)  # the key's observation before this one
    matched_at = models.DateTimeField(null=True, blank=True)  # alert states updated (one transaction)
    done_at = models.DateTimeField(null=True, blank=True)  # and every alert's execution created
    # Until then a match message is (or may be) at work on it: see MATCH_LEASE.
    match_lease_until = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["source", "dedupe_id"], name="event_once_per_source")]
        indexes = [
            models.Index(fields=["key", "-observed_at"], name="event_by_key_time"),
            # events whose matching or fan-out has not finished: the poller resumes them once their lease expires
            models.Index(fields=["match_lease_until"], condition=Q(done_at__isnull=True), name="event_lease"),
        ]

    def __str__(self) -> str:
        return f"event {self.pk} from {self.source} on {self.tool} at {self.observed_at.isoformat()}"


class PollOutcome(models.TextChoices):
    FRESH = "fresh"  # an answer recent enough: an event (or the same answer as before)
    STALE = "stale"  # only old data (circuit open): dropped, never alerts
    ERROR = "error"  # no answer


class MonitorKey(models.Model):
    """A distinct tool call watched by active monitors: polled once per (tightest) interval."""

    key = models.CharField(max_length=64, primary_key=True)
    tool = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict)
    monitors = models.PositiveIntegerField(default=0)  # active monitors on it
    interval_s = models.PositiveIntegerField(default=300)  # the tightest interval they ask
    fields = models.JSONField(default=list, blank=True)  # output fields its threshold monitors compare
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # The latest observation applied: the "previous value" of the next event; older events are ignored.
    last_observed_at = models.DateTimeField(null=True, blank=True)
    last_payload = models.JSONField(null=True, blank=True)
    # What the latest poll got: staff see why a watched call has no recent observation.
    last_poll_outcome = models.CharField(max_length=8, choices=PollOutcome.choices, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["next_poll_at"], condition=Q(monitors__gt=0), name="monitorkey_due")]

    def __str__(self) -> str:
        return f"{self.tool} {self.arguments}"


class Direction(models.TextChoices):
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"


class Monitor(models.Model):
    """A monitor subscription's condition, alert settings and alert state (kept by ``services``)."""

    subscription = models.OneToOneField(
        "subscriptions.Subscription", primary_key=True, on_delete=models.CASCADE, related_name="monitor"
    )
    key = models.CharField(max_length=64)  # = subscription.call_key
    active = models.BooleanField(default=False)  # = subscription is active (copied on every transition)
    priority = models.PositiveSmallIntegerField(default=1)  # = subscription.priority (routes the alert)
    timezone = models.CharField(max_length=64, default="UTC")  # the subscriber's day, for the daily cap
    starts_at = models.DateTimeField(null=True, blank=True)  # = subscription.starts_at / ends_at:
    ends_at = models.DateTimeField(null=True, blank=True)  # no alert outside them; completed once ended

    # Settings (REST: ``monitor`` on a subscription).
    interval_s = models.PositiveIntegerField(default=300)
    margin = models.FloatField(default=0)  # hysteresis: re-arm only past threshold +/- margin
    cooldown_s = models.PositiveIntegerField(default=0)
    daily_cap = models.PositiveIntegerField(default=0)  # 0 = no cap
    alert_once = models.BooleanField(default=False)  # fire once, then the subscription completes

    # Threshold form (a single lt/lte/gt/gte on a number); null threshold = compound, see ``condition``.
    field = models.CharField(max_length=200, blank=True)
    direction = models.CharField(max_length=4, choices=Direction.choices, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    condition = models.JSONField(null=True, blank=True)

    # Alert state: edge-triggered. Fires when the condition becomes true while armed,
    # then stays disarmed until the condition is false again (past the margin).
    armed = models.BooleanField(default=True)
    last_alert_at = models.DateTimeField(null=True, blank=True)
    alerts_day = models.DateField(null=True, blank=True)
    alerts_today = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # Matching a threshold event: one range scan per (key, field, direction).
            # The alert state columns are in no index, so flipping them can be a HOT update.
            models.Index(
                fields=["key", "field", "direction", "threshold"],
                condition=Q(active=True, threshold__isnull=False),
                name="monitor_threshold",
            ),
            models.Index(
                fields=["key", "subscription"],
                condition=Q(active=True, threshold__isnull=True),
                name="monitor_compound",
            ),
            models.Index(fields=["ends_at"], condition=Q(active=True, ends_at__isnull=False), name="monitor_ending"),
        ]

    def __str__(self) -> str:
        return f"monitor of subscription {self.subscription_id}"
