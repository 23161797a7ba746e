"""Matching one event against the monitors of its key.

The alert state, the rules every monitor follows (v: the event's value, t: its observed_at):

- edge trigger: an armed monitor whose condition holds fires, and is disarmed;
- re-arm: a disarmed monitor re-arms once its condition is false again; a threshold
  only once v is also past threshold + margin (lt, lte) or threshold - margin (gt, gte);
- cooldown: no fire while ``last_alert_at > t - cooldown_s`` (a crossing held back
  fires at the first event after it if the condition still holds);
- daily cap: no fire once ``alerts_today >= daily_cap > 0`` on ``alerts_day``, t's
  date in the monitor's time zone; the first fire of a new day counts 1;
- alert once: a fire of an ``alert_once`` monitor makes it inactive;
- window: no fire before ``starts_at`` or after ``ends_at``;
- fired: (subscription_id, priority, alert_once, field, direction, threshold, condition).

Two implementations of these rules. On PostgreSQL, threshold monitors are matched
in the database: per compared field, one ``UPDATE .. RETURNING`` re-arms
(``REARM_SQL``) and one disarms and returns those that fire (``FIRE_SQL``),
each a range scan of the ``monitor_threshold`` index. Compound conditions, and
threshold monitors on any other database (SQLite under ``make run``) or when
asked (``portable=True``), are evaluated in Python in keyset chunks
(``_evaluate``, with ``_may_fire``). The event row and its key's row are locked
for the whole match, and an event is matched once (``matched_at``): replaying
it changes nothing, and an event older than the latest one applied to its key is
ignored.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone as djtz

from taskhub.monitoring import alerts, conditions
from taskhub.monitoring.models import Event, Monitor, MonitorKey

logger = logging.getLogger(__name__)

# Directions as SQL, with v = the event's value: when the comparison holds, and
# when a fired monitor is false again past its margin (hysteresis).
_HOLDS = {
    "lt": "threshold > %(v)s",
    "lte": "threshold >= %(v)s",
    "gt": "threshold < %(v)s",
    "gte": "threshold <= %(v)s",
}
_REARMS = {
    "lt": "threshold <= %(v)s AND %(v)s >= threshold + margin",
    "lte": "threshold < %(v)s AND %(v)s > threshold + margin",
    "gt": "threshold >= %(v)s AND %(v)s <= threshold - margin",
    "gte": "threshold > %(v)s AND %(v)s < threshold - margin",
}


def _any_direction(rules: dict[str, str]) -> str:
    return " OR ".join(f"(direction = '{d}' AND {rule})" for d, rule in rules.items())


_WATCHED = "key = %(key)s AND field = %(field)s AND active AND threshold IS NOT NULL"
_DAY = "(%(t)s::timestamptz AT TIME ZONE timezone)::date"
REARM_SQL = f"UPDATE monitoring_monitor SET armed = true WHERE {_WATCHED} AND NOT armed AND ({_any_direction(_REARMS)})"  # noqa: S608
FIRE_SQL = (
    "UPDATE monitoring_monitor SET armed = false, active = active AND NOT alert_once, "  # noqa: S608
    f"last_alert_at = %(t)s, alerts_today = CASE WHEN alerts_day = {_DAY} THEN alerts_today + 1 ELSE 1 END, "
    f"alerts_day = {_DAY} "
    f"WHERE {_WATCHED} AND armed AND ({_any_direction(_HOLDS)}) "
    "AND (last_alert_at IS NULL OR last_alert_at <= %(t)s::timestamptz - cooldown_s * interval '1 second') "
    f"AND (daily_cap = 0 OR alerts_day IS DISTINCT FROM {_DAY} OR alerts_today < daily_cap) "
    "AND (starts_at IS NULL OR starts_at <= %(t)s) AND (ends_at IS NULL OR ends_at >= %(t)s) "
    "RETURNING subscription_id, priority, alert_once, field, direction, threshold, NULL"
)


@dataclass(frozen=True)
class MatchResult:
    event_id: int
    outcome: str
    alerts: int
    match_s: float = 0.0
    insert_s: float = 0.0


def event_match(*, event_id: int, portable: bool | None = None) -> MatchResult:
    """Match event ``event_id`` once, then create and enqueue one execution per alert; safe to repeat.

    Two steps. The match is one transaction (alert states, the key's latest
    observation, ``matched_at``). The executions are then inserted in chunks,
    each committed and enqueued at once so workers start delivering while the
    rest is written; ``done_at`` marks the end. A run cut short between the two
    is resumed (by a redelivered message or the poller): the fired monitors are
    found again by their ``last_alert_at`` and the inserts skip what exists.
    ``portable``: match threshold monitors in Python (default: unless on PostgreSQL).
    """
    started = time.perf_counter()
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.done_at is not None:
            return MatchResult(event_id, event.outcome if event else "missing", event.alerts if event else 0)
        alerts.lease_renew(event.pk)
        # Matched before but cut short before every execution existed: find what it fired.
        fired = _match(event, portable=portable) if event.matched_at is None else _fired_again(event)
    match_s = time.perf_counter() - started
    started = time.perf_counter()
    alerts.create_executions(event, fired)
    Event.objects.filter(pk=event.pk).update(done_at=djtz.now())
    result = MatchResult(
        event.pk, event.outcome, len(fired), round(match_s, 4), round(time.perf_counter() - started, 4)
    )
    logger.info("event matched", extra={f"match_{k}": v for k, v in vars(result).items()})
    return result


def _match(event: Event, *, portable: bool | None = None) -> list[alerts.Fired]:
    """Update the alert states of the monitors on ``event``'s key; the ones that fire."""
    if portable is None:
        portable = connection.vendor != "postgresql"
    state = MonitorKey.objects.select_for_update().filter(pk=event.key).first()
    fired: list[alerts.Fired] = []
    if state is None or (state.last_observed_at is not None and event.observed_at <= state.last_observed_at):
        event.outcome = "ignored"  # nobody watches it, or we already know something newer
    else:
        event.outcome, event.previous = "matched", state.last_payload
        # One Firing for the event: each condition's wording and each field's values are found once.
        firing = alerts.Firing(event)
        fired = _thresholds(event, state.fields, firing, portable=portable) + _evaluate(event, firing)
        state.last_observed_at, state.last_payload = event.observed_at, event.payload
        state.save(update_fields=["last_observed_at", "last_payload"])
    event.alerts, event.matched_at = len(fired), djtz.now()
    event.save(update_fields=["outcome", "previous", "alerts", "matched_at"])
    return fired


_FIRED_COLUMNS = ("subscription_id", "priority", "alert_once", "field", "direction", "threshold", "condition")


def _fired_again(event: Event) -> list[alerts.Fired]:
    """The monitors this (already matched) event fired: their last alert is its observation."""
    rows = Monitor.objects.filter(key=event.key, last_alert_at=event.observed_at).values_list(*_FIRED_COLUMNS)
    firing = alerts.Firing(event)
    return [firing.of(*row) for row in rows.order_by("pk")]


def _thresholds(event: Event, fields: list[str], firing: alerts.Firing, *, portable: bool) -> list[alerts.Fired]:
    fired: list[alerts.Fired] = []
    for field in fields:
        value = conditions.finite_number(conditions.lookup(event.payload, field))
        if value is None:
            continue  # absent, not a number, NaN or infinite: no comparison holds, nothing re-arms
        if portable:
            fired += _evaluate(event, firing, field=field, value=value)
            continue
        params = {"key": event.key, "field": field, "v": value, "t": event.observed_at}
        with connection.cursor() as cursor:
            cursor.execute(REARM_SQL, params)
            cursor.execute(FIRE_SQL, params)
            fired += [firing.of(*row) for row in cursor.fetchall()]
    return fired


def _may_fire(row: dict[str, Any], at: datetime) -> bool:
    """Cooldown, daily cap and time window (the module's rules; FIRE_SQL says the same)."""
    if (row["starts_at"] and row["starts_at"] > at) or (row["ends_at"] and row["ends_at"] < at):
        return False
    if row["last_alert_at"] is not None and row["last_alert_at"] > at - timedelta(seconds=row["cooldown_s"]):
        return False
    day = at.astimezone(ZoneInfo(row["timezone"])).date()
    return not row["daily_cap"] or row["alerts_day"] != day or row["alerts_today"] < row["daily_cap"]


def _holds_and_rearms(row: dict[str, Any], event: Event, value: float | None) -> tuple[bool, bool]:
    """Whether ``row``'s condition holds on ``event``, and whether it re-arms (the module's rules).

    A threshold re-arms when its comparison is false both at the threshold and at
    the threshold moved by the margin away from the alert side (REARM_SQL says the same).
    """
    if row["threshold"] is None:
        holds = conditions.evaluate(row["condition"], event.payload, event.previous)
        return holds, not holds
    assert value is not None  # a threshold monitor is evaluated on its field's number
    direction, threshold = row["direction"], row["threshold"]
    past_margin = threshold + row["margin"] if direction in ("lt", "lte") else threshold - row["margin"]
    holds = conditions.compare(direction, value, threshold)
    return holds, not holds and not conditions.compare(direction, value, past_margin)


_STATE_COLUMNS = (
    "pk",
    "field",
    "direction",
    "threshold",
    "margin",
    "condition",
    "armed",
    "last_alert_at",
    "alerts_day",
    "alerts_today",
    "cooldown_s",
    "daily_cap",
    "alert_once",
    "priority",
    "timezone",
    "starts_at",
    "ends_at",
)


def _evaluate(
    event: Event, firing: alerts.Firing, *, field: str | None = None, value: float | None = None
) -> list[alerts.Fired]:
    """The Python path: the active compound monitors of ``event``'s key, or its thresholds on ``field`` (= ``value``).

    Keyset chunks of FANOUT_CHUNK_SIZE; per chunk one update of the fired per day (one or two) and one of the re-armed.
    """
    fired: list[alerts.Fired] = []
    watching = Monitor.objects.filter(key=event.key, active=True)
    if field is None:
        watching = watching.filter(threshold=None)
    else:
        watching = watching.filter(field=field, threshold__isnull=False)
    last = 0
    while chunk := list(
        watching.filter(pk__gt=last).order_by("pk").values(*_STATE_COLUMNS)[: settings.FANOUT_CHUNK_SIZE]
    ):
        last = chunk[-1]["pk"]
        fires: dict[date, list[int]] = defaultdict(list)  # by the event's day in the monitor's zone
        rearms: list[int] = []
        for row in chunk:
            holds, rearm = _holds_and_rearms(row, event, value)
            if holds and row["armed"] and _may_fire(row, event.observed_at):
                fires[event.observed_at.astimezone(ZoneInfo(row["timezone"])).date()].append(row["pk"])
                fired.append(firing.of(row["pk"], *(row[c] for c in _FIRED_COLUMNS[1:])))
            elif rearm and not row["armed"]:
                rearms.append(row["pk"])
        for day, pks in fires.items():  # a day or two: the zones' dates of one instant
            _fire(pks, at=event.observed_at, day=day)
        Monitor.objects.filter(pk__in=rearms).update(armed=True)
    return fired


def _fire(pks: list[int], *, at: datetime, day: date) -> None:
    """The alert state of monitors that fire at ``at`` (``day`` in their zone): what FIRE_SQL sets."""
    Monitor.objects.filter(pk__in=pks).update(
        armed=False,
        active=Case(When(alert_once=True, then=Value(False)), default=F("active")),
        last_alert_at=at,
        alerts_today=Case(When(alerts_day=day, then=F("alerts_today") + 1), default=Value(1)),
        alerts_day=day,
    )
