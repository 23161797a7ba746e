"""Writes of monitoring: a monitor's settings and state row, the watched keys, events, event sources."""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef
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


def monitors_sync(subs: list[Subscription], *, active: bool) -> None:
    """The monitors of ``subs`` follow their subscriptions' new status; their keys are recounted once."""
    Monitor.objects.filter(pk__in=[s.pk for s in subs]).update(active=active)
    keys_refresh(keys={s.call_key for s in subs})


def keys_refresh(*, keys: set[str]) -> None:
    """Recount the active monitors of ``keys`` and their tightest interval (the poll plan), a few queries per set.

    The key rows are locked first (created if new), in key order, so two
    transactions changing monitors of one key recount one after the other and
    the last one sees both changes. A key no subscription uses any more is dropped.
    """
    keys = keys - {""}
    if not keys:
        return
    now = djtz.now()
    with transaction.atomic():
        states = _locked_keys(keys, now=now)
        unused = [key for key, state in states.items() if not state.used]  # type: ignore[attr-defined]
        MonitorKey.objects.filter(pk__in=unused).delete()
        active = Monitor.objects.filter(key__in=keys, active=True).order_by()
        totals = {row["key"]: row for row in active.values("key").annotate(n=Count("pk"), interval=Min("interval_s"))}
        fields: dict[str, list[str]] = defaultdict(list)
        compared = active.exclude(threshold=None).values_list("key", "field").distinct()
        for key, field in compared.order_by("key", "field"):
            fields[key].append(field)
        changed = []
        for key, state in states.items():
            if key in unused:
                continue
            total = totals.get(key, {"n": 0, "interval": None})
            if total["n"] and not state.monitors:
                state.next_poll_at = now  # newly watched: poll at the next tick
            state.monitors = total["n"]
            state.interval_s = max(
                total["interval"] or settings.MONITOR_DEFAULT_INTERVAL_S, settings.MONITOR_MIN_INTERVAL_S
            )
            state.fields = fields[key]
            changed.append(state)
        # One statement; usually one or two keys, at most a poller batch of ended monitors' keys.
        # (core.bulk.update_from_values joins on an ``id`` column, which MonitorKey has not.)
        MonitorKey.objects.bulk_update(changed, ["monitors", "interval_s", "fields", "next_poll_at"])


def _locked_keys(keys: set[str], *, now: datetime) -> dict[str, MonitorKey]:
    """The rows of ``keys``, locked in key order, each with ``used`` (a subscription has its key).

    One query when every key has its row; a key watched for the first time gets
    one from a subscription's tool and arguments (one more query to find them,
    one insert, one to lock what was inserted).
    """
    used = Exists(Subscription.objects.filter(call_key=OuterRef("pk")))

    def lock(wanted: set[str]) -> dict[str, MonitorKey]:
        rows = MonitorKey.objects.select_for_update().filter(pk__in=wanted).annotate(used=used)
        return {state.pk: state for state in rows.order_by("pk")}

    states = lock(keys)
    missing = keys - set(states)
    if missing:
        firsts = Subscription.objects.filter(call_key__in=missing).values("call_key").annotate(first=Min("pk"))
        samples = Subscription.objects.filter(pk__in=[row["first"] for row in firsts]).order_by("call_key")
        MonitorKey.objects.bulk_create(
            [
                MonitorKey(key=key, tool=tool, arguments=arguments, next_poll_at=now)
                for key, tool, arguments in samples.values_list("call_key", "tool", "arguments")
            ],
            ignore_conflicts=True,
        )
        states.update(lock(missing))
    return states


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
        if match and created:
            transaction.on_commit(lambda: matches_send(created))
    logger.info("events recorded", extra={"events": len(events), "new": len(created)})
    return created


def matches_send(event_ids: list[int]) -> None:
    """One ``match_event`` message per event (queue ``high``).

    Those the broker does not take (``broker.publish_each``) are left to the poller, their
    match lease cut short: its first run once the broker is back sends them.
    """
    from agents.worker.monitor_tasks import match_event
    from taskhub import queues
    from taskhub.core import broker

    route = queues.route(queues.HIGH)
    sent = broker.publish_each(match_event, [(route, [event_id]) for event_id in event_ids])
    if sent < len(event_ids):
        Event.objects.filter(pk__in=event_ids[sent:], done_at=None).update(match_lease_until=djtz.now())


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
