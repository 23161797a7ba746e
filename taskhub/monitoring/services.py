"""Writes of monitoring: a monitor's settings and state row, the watched keys, events, event sources."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone as djtz

from taskhub.core.bulk import cast, param
from taskhub.core.errors import InvalidInput
from taskhub.monitoring import conditions
from taskhub.monitoring.models import MATCH_LEASE, Event, EventSource, Monitor, MonitorKey
from taskhub.subscriptions.models import Subscription
from taskhub.subscriptions.states import Status

logger = logging.getLogger(__name__)

# name -> (type, lowest, highest); the lowest interval is the setting MONITOR_MIN_INTERVAL_S.
OPTIONS: dict[str, tuple[type, float, float]] = {
    "interval_s": (int, 0, 7 * 86400),
    "margin": (float, 0, 1e9),
    "cooldown_s": (int, 0, 30 * 86400),
    "daily_cap": (int, 0, 10_000),
    "alert_once": (bool, 0, 1),
}


def monitor_options(raw: Any, *, current: dict[str, Any]) -> dict[str, Any]:
    """``raw`` monitor settings checked and merged over ``current``; ``InvalidInput`` on ``monitor.<name>``."""
    if raw is None:
        return dict(current)
    if not isinstance(raw, dict):
        raise InvalidInput("monitor: must be an object", fields={"monitor": ["must be a JSON object"]})
    values = dict(current)
    for name, value in raw.items():
        field = f"monitor.{name}"
        if name not in OPTIONS:
            raise InvalidInput.at(field, f"unknown setting; expected {', '.join(OPTIONS)}")
        kind, low, high = OPTIONS[name]
        if kind is bool:
            if not isinstance(value, bool):
                raise InvalidInput.at(field, "must be true or false")
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or (kind is int and value != int(value))
        ):
            raise InvalidInput.at(field, f"must be {'an integer' if kind is int else 'a number'}")
        elif name == "interval_s" and value < settings.MONITOR_MIN_INTERVAL_S:
            raise InvalidInput.at(field, f"the minimum interval is {settings.MONITOR_MIN_INTERVAL_S} s")
        elif not low <= value <= high:
            raise InvalidInput.at(field, f"must be between {low:g} and {high:g}")
        values[name] = kind(value)
    return values


def _defaults() -> dict[str, Any]:
    return {"interval_s": settings.MONITOR_DEFAULT_INTERVAL_S, "margin": 0.0, "cooldown_s": 0, "daily_cap": 0}


def monitor_save(*, subscription: Subscription, options: dict[str, Any] | None) -> Monitor:
    """Create or update the monitor row of ``subscription`` (inside its transaction).

    A changed condition or tool call starts from a clean, armed state.
    """
    existing = Monitor.objects.select_for_update().filter(pk=subscription.pk).first()
    current = {**_defaults(), "alert_once": False}
    if existing is not None:
        current = {name: getattr(existing, name) for name in OPTIONS}
    values = monitor_options(options, current=current)
    monitor = existing or Monitor(subscription=subscription)
    old_key = monitor.key
    threshold = conditions.threshold_of(subscription.condition or {})
    shape = (
        (threshold.field, threshold.direction, threshold.threshold, None)
        if threshold
        else ("", "", None, subscription.condition)
    )
    if existing is not None and (old_key, monitor.field, monitor.direction, monitor.threshold, monitor.condition) != (
        subscription.call_key,
        *shape,
    ):
        monitor.armed, monitor.last_alert_at = True, None
    monitor.field, monitor.direction, monitor.threshold, monitor.condition = shape
    for name, value in values.items():
        setattr(monitor, name, value)
    monitor.key = subscription.call_key
    monitor.active = subscription.status == Status.ACTIVE
    monitor.priority, monitor.timezone = subscription.priority, subscription.timezone
    monitor.starts_at, monitor.ends_at = subscription.starts_at, subscription.ends_at
    monitor.save()
    keys_refresh(keys={old_key, monitor.key} - {""})
    return monitor


def monitor_sync(*, subscription_id: int) -> None:
    """Copy the subscription's status onto its monitor (after a lifecycle transition)."""
    sub = Subscription.objects.filter(pk=subscription_id).values("status", "call_key").first()
    if sub is None:
        return
    Monitor.objects.filter(pk=subscription_id).update(active=sub["status"] == Status.ACTIVE)
    keys_refresh(keys={sub["call_key"]})


def keys_refresh(*, keys: set[str]) -> None:
    """Recount the active monitors of ``keys`` and their tightest interval (the poll plan).

    The key row is locked first, so two transactions changing monitors of one key
    recount one after the other and the last one sees both changes.
    """
    now = djtz.now()
    for key in sorted(keys):
        sample = Subscription.objects.filter(call_key=key).values("tool", "arguments").first()
        if sample is None:
            MonitorKey.objects.filter(pk=key).delete()
            continue
        MonitorKey.objects.get_or_create(key=key, defaults={**sample, "next_poll_at": now})
        state = MonitorKey.objects.select_for_update().get(pk=key)
        active = Monitor.objects.filter(key=key, active=True)
        totals = active.aggregate(n=Count("pk"), interval=Min("interval_s"))
        fields = sorted(set(active.exclude(threshold=None).values_list("field", flat=True).distinct()))
        if totals["n"] and not state.monitors:
            state.next_poll_at = now  # newly watched: poll at the next tick
        state.monitors = totals["n"]
        state.interval_s = max(
            totals["interval"] or settings.MONITOR_DEFAULT_INTERVAL_S, settings.MONITOR_MIN_INTERVAL_S
        )
        state.fields = fields
        state.save()


@dataclass(frozen=True)
class NewEvent:
    source: str
    dedupe_id: str
    tool: str
    arguments: dict[str, Any]
    payload: dict[str, Any]
    observed_at: datetime


def events_record(events: list[NewEvent], *, match: bool = True) -> list[int]:
    """Store ``events`` (a (source, dedupe id) seen before is skipped) and enqueue matching of the new ones.

    ``arguments`` must be normalised (``gateway.validate_arguments``). Returns the new event ids.
    ``match=False``: the caller matches them itself (``matching.event_match``).
    """
    from agents.worker.monitor_tasks import match_event
    from taskhub import queues
    from taskhub.core.canonical import call_key

    if not events:
        return []
    rows = [
        Event(
            source=e.source,
            dedupe_id=e.dedupe_id[:200],
            key=call_key(e.tool, e.arguments),
            tool=e.tool,
            arguments=e.arguments,
            payload=e.payload,
            observed_at=e.observed_at,
        )
        for e in events
    ]
    with transaction.atomic():
        created = _insert_new(rows)
        route = queues.route(queues.HIGH)
        for event_id in created if match else ():
            transaction.on_commit(lambda event_id=event_id: match_event.apply_async(args=[event_id], **route.options()))
    logger.info("events recorded", extra={"events": len(events), "new": len(created)})
    return created


def _insert_new(rows: list[Event]) -> list[int]:
    """``INSERT .. ON CONFLICT DO NOTHING RETURNING id``: the database decides which of ``rows`` are new."""
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = (
        "source, dedupe_id, key, tool, arguments, payload, observed_at, received_at, match_lease_until, outcome, alerts"
    )
    placeholders = f"(%s, %s, %s, %s, %s{cast('jsonb')}, %s{cast('jsonb')}, %s, %s, %s, '', 0)"
    params: list[object] = []
    now = djtz.now()
    for r in rows:
        params += [r.source, r.dedupe_id, r.key, r.tool, json.dumps(r.arguments), json.dumps(r.payload)]
        # the match message sent on commit owns the event first
        params += [param(r.observed_at), param(now), param(now + MATCH_LEASE)]
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(rows))} "  # noqa: S608
        "ON CONFLICT (source, dedupe_id) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def event_source_create(*, name: str, tools: list[str] | None = None, enabled: bool = True) -> tuple[EventSource, str]:
    """A new external event source; returns it and its signing secret (shown once)."""
    from taskhub.channels.kinds.webhook import new_secret

    secret = new_secret()
    source = EventSource(name=name, secret=secret, tools=tools or [], enabled=enabled)
    source.full_clean()
    source.save()
    logger.info("event source created", extra={"source": name})
    return source, secret
