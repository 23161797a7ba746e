"""Monitors and observations for the monitoring tests, built through the services."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from taskhub.executions.models import Execution
from taskhub.monitoring.matching import MatchResult, event_match
from taskhub.monitoring.services import NewEvent, events_record
from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, Subscription

SHANGHAI_92 = {"region": "Shanghai", "grade": "92"}
START = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
_ids = itertools.count(1)


def monitor(
    owner: Any, *, condition: dict[str, Any] | None = None, arguments: dict[str, Any] | None = None, **options: Any
) -> Subscription:
    """An active "Shanghai 92 below 7" monitor (or ``condition``, or other fuel ``arguments``) with ``options``."""
    sub = services.subscription_create(
        owner=owner,
        kind=Kind.MONITOR,
        spec=services.SubscriptionSpec(
            title="Shanghai 92 below 7",
            tool="fuel_price",
            arguments=dict(arguments or SHANGHAI_92),
            timezone="Asia/Shanghai",
            condition=condition or {"field": "price", "op": "lt", "value": 7},
            monitor=options or None,
        ),
    )
    return services.subscription_transition(subscription_id=sub.pk, action="confirm")


def observe(
    price: float, *, minute: float, event_id: str | None = None, source: str = "test", portable: bool | None = None
) -> MatchResult:
    """The Shanghai 92 price observed ``minute`` minutes after START, matched at once.

    ``portable``: which matching path (``event_match``); default the database's own.
    """
    created = events_record(
        [
            NewEvent(
                source=source,
                dedupe_id=event_id or f"evt-{next(_ids)}",
                tool="fuel_price",
                arguments=dict(SHANGHAI_92),
                payload={"price": price, "grade": "92", "region": "Shanghai"},
                observed_at=START + timedelta(minutes=minute),
            )
        ]
    )
    from taskhub.monitoring.models import Event

    event_pk = created[0] if created else Event.objects.get(source=source, dedupe_id=event_id).pk
    return event_match(event_id=event_pk, portable=portable)


def alerts_of(sub: Subscription) -> list[Execution]:
    return list(Execution.objects.filter(subscription=sub).order_by("id"))
