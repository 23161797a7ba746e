"""Pollers: each watched tool call (``MonitorKey``) is called once per interval and becomes an event.

One gateway call per distinct (tool, arguments) among active monitors, at the
tightest interval any of them asks (bounded below by MONITOR_MIN_INTERVAL_S),
with ``max_age_s`` = that interval so a cached answer is recent enough. Stale
answers (circuit open) are dropped: old data never triggers an alert. Each key
records what its latest poll got (``last_poll_outcome``: fresh, stale or error).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core import broker
from taskhub.core.bulk import param
from taskhub.core.errors import TaskHubError
from taskhub.monitoring.models import MATCH_LEASE, Event, Monitor, MonitorKey, PollOutcome
from taskhub.monitoring.services import NewEvent, events_record, matches_send

logger = logging.getLogger(__name__)

POLL_BATCH = 500


def poll_due(*, now: datetime | None = None) -> int:
    """Poll the watched keys whose time has come; returns the new events."""
    now = now or djtz.now()
    _resume_unmatched(now)
    _complete_ended(now)
    with transaction.atomic():
        due = list(
            MonitorKey.objects.select_for_update(skip_locked=True)
            .filter(monitors__gt=0, next_poll_at__lte=now)
            .order_by("next_poll_at")[:POLL_BATCH]
        )
        if due:
            # One statement whatever the batch: a branch per distinct interval, not per key.
            next_at = {s: now + timedelta(seconds=s) for s in {state.interval_s for state in due}}
            MonitorKey.objects.filter(pk__in=[state.pk for state in due]).update(
                next_poll_at=Case(*(When(interval_s=s, then=Value(at)) for s, at in next_at.items()))
            )
    return _poll(due, fresh=False)


def poll_keys(*, keys: list[str], fresh: bool) -> int:
    """Poll ``keys`` now (``fresh``: bypass the cache); returns the new events."""
    return _poll(list(MonitorKey.objects.filter(pk__in=keys, monitors__gt=0)), fresh=fresh)


def poll_watched(*, tool: str, where: Callable[[dict[str, Any]], bool]) -> list[str]:
    """Enqueue an immediate, uncached poll (queue ``high``) of the watched calls of ``tool`` whose arguments match."""
    from agents.worker.monitor_tasks import poll_keys as poll_keys_task

    watched = MonitorKey.objects.filter(tool=tool, monitors__gt=0).values_list("key", "arguments")
    keys = [key for key, arguments in watched if where(arguments)]
    if keys:
        broker.publish(poll_keys_task, route=queues.route(queues.HIGH), args=[keys])  # else: polled when due
    logger.info("watched calls polled now", extra={"tool": tool, "keys": len(keys)})
    return keys


def on_tool_results_changed(sender: object, *, tool: str, where: Callable[[dict[str, Any]], bool], **_: Any) -> None:
    """Receiver of the gateway's ``tool_results_changed``: poll the changed calls that monitors watch."""
    poll_watched(tool=tool, where=where)


def _poll(states: list[MonitorKey], *, fresh: bool) -> int:
    from tools import gateway

    by_age: dict[int, list[MonitorKey]] = defaultdict(list)
    for state in states:
        by_age[0 if fresh else state.interval_s].append(state)
    events: list[NewEvent] = []
    outcomes: dict[PollOutcome, list[str]] = defaultdict(list)
    for max_age_s, group in by_age.items():
        answers = gateway.call_many([(s.tool, s.arguments) for s in group], priority="high", max_age_s=max_age_s)
        for state in group:
            answer = answers.get(gateway.request_key(state.tool, state.arguments))
            if isinstance(answer, TaskHubError) or answer is None:
                outcomes[PollOutcome.ERROR].append(state.key)
                logger.info("poll failed", extra={"tool": state.tool, "error": str(answer)})
            elif answer.status == "stale":
                outcomes[PollOutcome.STALE].append(state.key)
                logger.info("poll answered stale data: no event", extra={"tool": state.tool})
            else:
                outcomes[PollOutcome.FRESH].append(state.key)
                events.append(
                    NewEvent(
                        source="poll",
                        # the same answer served twice (cache) is one event
                        dedupe_id=f"{state.key}:{answer.fetched_at.timestamp():.6f}",
                        tool=state.tool,
                        arguments=state.arguments,
                        payload=answer.data,
                        observed_at=answer.fetched_at,
                    )
                )
    polled_at = djtz.now()
    for outcome, keys in outcomes.items():
        MonitorKey.objects.filter(pk__in=keys).update(last_poll_outcome=outcome, last_polled_at=polled_at)
    return len(events_record(events))


def _complete_ended(now: datetime) -> None:
    """Monitors whose ``ends_at`` has passed complete: one transition of the batch, one recount of their keys."""
    from taskhub.subscriptions.services import subscriptions_transition
    from taskhub.subscriptions.states import Action

    ended = Monitor.objects.filter(active=True, ends_at__lt=now).values_list("pk", flat=True)[:POLL_BATCH]
    if ended:
        # one that another process completed or paused first is refused and left alone
        subscriptions_transition(owner=None, subscription_ids=list(ended), action=Action.COMPLETE)


def _resume_unmatched(now: datetime) -> None:
    """Re-send the match of each unfinished event whose lease expired (its message was lost, its worker died).

    The lease is taken by compare-and-set: of two pollers, or a poller and a
    matcher renewing it, one wins; an event being matched is left alone, however
    long its fan-out takes.
    """
    table = connection.ops.quote_name(Event._meta.db_table)
    expired = "done_at IS NULL AND match_lease_until < %s"
    # an event locked by its matcher is being matched: skip it rather than wait (PostgreSQL)
    skip = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = (
        f"UPDATE {table} SET match_lease_until = %s WHERE {expired} AND id IN "  # noqa: S608 - names are ours
        f"(SELECT id FROM {table} WHERE {expired} ORDER BY match_lease_until LIMIT {POLL_BATCH}{skip}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [param(now + MATCH_LEASE), param(now), param(now)])
        claimed = [row[0] for row in cursor.fetchall()]
    matches_send(claimed)
    if claimed:
        logger.info("unfinished events matched again", extra={"events": len(claimed)})
