"""From fired monitors to alerts: execution rows on the high queue, their data, and their text.

An alert is an ordinary Execution (fire key ``event:<id>``), so it goes through
the closed-loop pipeline: claimed, delivered on the subscriber's channels with
their idempotency keys, written back, retried by tier. It carries its event in
``meta`` and the runner uses the event's data instead of calling the tool
(``event_results``): the alert says what was observed, when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.executions import dispatch
from taskhub.executions.rows import NewExecution, insert_executions
from taskhub.monitoring import conditions
from taskhub.monitoring.models import MATCH_LEASE, Event
from tools.gateway.types import ToolResult


class Fired(NamedTuple):
    """One monitor that fired on an event, and what its subscriber will be told (a tuple: they come by the thousand)."""

    subscription_id: int
    priority: int
    once: bool
    condition: str
    field: str
    value: Any
    previous: Any
    threshold: float | None


def _first_field(condition: dict[str, Any]) -> str:
    """The field of a condition's first comparison: the value an alert on it shows."""
    while "all" in condition or "any" in condition:
        condition = (condition.get("all") or condition.get("any"))[0]
    return str(condition["field"])


class Firing:
    """What the monitors that fired on one event tell about it (``of``, one per monitor).

    Each distinct condition is described once and each field's value and previous
    value looked up once: a hot key fires tens of thousands of monitors at a time.
    """

    def __init__(self, event: Event) -> None:
        self.event = event
        self._described: dict[tuple[str, str, float | None], str] = {}
        self._values: dict[str, tuple[Any, Any]] = {}

    def of(
        self,
        subscription_id: int,
        priority: int,
        once: bool,
        field: str,
        direction: str,
        threshold: float | None,
        condition: dict[str, Any] | None,
    ) -> Fired:
        """Monitor ``subscription_id``, in threshold form or by ``condition``, has fired."""
        if condition is not None:
            field, described = _first_field(condition), conditions.describe(condition)
        else:
            wording = (field, direction, threshold)
            if wording not in self._described:
                self._described[wording] = conditions.describe({"field": field, "op": direction, "value": threshold})
            described = self._described[wording]
        if field not in self._values:
            previous = conditions.lookup(self.event.previous, field) if self.event.previous else None
            self._values[field] = (conditions.lookup(self.event.payload, field), previous)
        value, previous = self._values[field]
        return Fired(
            subscription_id=subscription_id,
            priority=priority,
            once=once,
            condition=described,
            field=field,
            value=value,
            previous=previous,
            threshold=threshold,
        )


def fire_key(event_id: int) -> str:
    return f"event:{event_id}"


def lease_renew(event_id: int) -> None:
    """This worker is still at work on the event: the poller does not send its match again for MATCH_LEASE."""
    Event.objects.filter(pk=event_id).update(match_lease_until=djtz.now() + MATCH_LEASE)


def create_executions(event: Event, fired: list[Fired]) -> int:
    """Insert one execution per fired monitor, a committed chunk at a time, each enqueued on ``high`` at once.

    Each chunk renews the event's lease, so a fan-out longer than the lease gets no second worker.
    """
    observed = event.observed_at.isoformat()
    size = settings.FANOUT_CHUNK_SIZE
    created = 0
    # The value, previous value and time are the event's: monitors with the same condition
    # share one meta object, which the insert sends once (bulk shared columns).
    metas: dict[tuple[Any, ...], dict[str, Any]] = {}
    for start in range(0, len(fired), size):
        rows = []
        for f in fired[start : start + size]:
            wording = (f.condition, f.field, f.threshold, f.once)
            if wording not in metas:
                metas[wording] = {
                    "event_id": event.pk,
                    "alert": {
                        "condition": f.condition,
                        "field": f.field,
                        "value": f.value,
                        "threshold": f.threshold,
                        "previous": f.previous,
                        "observed_at": observed,
                        "once": f.once,
                    },
                }
            route = queues.route_for_subscription(kind="monitor", priority=f.priority)
            rows.append(
                NewExecution(f.subscription_id, fire_key(event.pk), nominal=None, route=route, meta=metas[wording])
            )
        with transaction.atomic():
            inserted = insert_executions(rows, now=djtz.now())
            lease_renew(event.pk)
            dispatch.enqueue(inserted)
        created += len(inserted)
    return created


@dataclass(frozen=True)
class AlertResult(ToolResult):
    """An event's data standing in for a tool answer, with the alert context for the message."""

    alert: dict[str, Any] = field(default_factory=dict)


def event_results(metas: Sequence[dict[str, Any]]) -> list[AlertResult | None]:
    """The result each meta's event stands for (a monitor's alert), None where it carries none; one query.

    The runner passes the metas of its lots: lots holding the same meta object share
    one result, so the runner renders their message once.
    """
    carrying = [meta for meta in metas if isinstance(meta, dict) and meta.get("event_id")]
    if not carrying:
        return [None] * len(metas)
    events = Event.objects.in_bulk({meta["event_id"] for meta in carrying})
    shared: dict[int, AlertResult | None] = {}
    for meta in carrying:
        if id(meta) not in shared:
            event = events.get(meta["event_id"])
            shared[id(meta)] = (
                AlertResult(event.payload, "fresh", event.observed_at, event.source, alert=meta.get("alert", {}))
                if event is not None
                else None
            )
    return [shared.get(id(meta)) for meta in metas]


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "unknown" if value is None else str(value)


def alert_text(*, title: str, timezone: str, alert: dict[str, Any]) -> str:
    """``Shanghai 92 below 7: price is 6.9 (price < 7; before: 7.95), observed 2026-11-25 14:02 Asia/Shanghai``."""
    observed = datetime.fromisoformat(alert["observed_at"]).astimezone(ZoneInfo(timezone))
    return (
        f"{title}: {alert['field']} is {_shown(alert['value'])} ({alert['condition']}; "
        f"before: {_shown(alert['previous'])}), observed {observed:%Y-%m-%d %H:%M} {timezone}"
    )
