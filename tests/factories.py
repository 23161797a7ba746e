"""Factories for our models, built through the services where a service owns the write."""

from __future__ import annotations

from typing import Any

from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, Subscription


def periodic(owner: Any, *, cron: str = "0 8 * * *", timezone: str = "Asia/Shanghai", **spec: Any) -> Subscription:
    """A draft periodic weather subscription."""
    fields = {"title": "Beijing weather", "tool": "current_weather", "arguments": {"city": "Beijing"}, **spec}
    return services.subscription_create(
        owner=owner, kind=Kind.PERIODIC, spec=services.SubscriptionSpec(cron=cron, timezone=timezone, **fields)
    )


def active_periodic(owner: Any, **kwargs: Any) -> Subscription:
    sub = periodic(owner, **kwargs)
    return services.subscription_transition(subscription_id=sub.pk, action="confirm")
