"""Reads of subscriptions, always scoped to a user where a user asks."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from taskhub.subscriptions import scheduling
from taskhub.subscriptions.models import Kind, Subscription
from taskhub.subscriptions.states import Status


def subscriptions_of(
    user: AbstractBaseUser, *, status: str | None = None, kind: str | None = None
) -> QuerySet[Subscription]:
    """``user``'s subscriptions (unknown filter values match nothing rather than erroring)."""
    qs = Subscription.objects.filter(owner=user).select_related("schedule", "monitor").prefetch_related("channels")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def subscription_scope(subscription_id: int, owner: AbstractBaseUser | None) -> QuerySet[Subscription]:
    """Subscription ``subscription_id`` as ``owner`` may reach it (any owner's when None: system callers)."""
    qs = Subscription.objects.filter(pk=subscription_id)
    return qs if owner is None else qs.filter(owner=owner)


def next_fires(subscription: Subscription, *, count: int, after: datetime) -> list[datetime]:
    """The next ``count`` times ``subscription`` fires, in its time zone (empty when it will not)."""
    if subscription.status in (Status.CANCELLED, Status.COMPLETED):
        return []
    if subscription.kind == Kind.ONCE:
        return [subscription.run_at] if subscription.run_at and subscription.run_at > after else []
    if subscription.kind != Kind.PERIODIC or subscription.schedule is None:
        return []
    fires = scheduling.next_fire_times(
        cron=scheduling.cron_of(subscription.schedule), timezone=subscription.timezone, after=after, count=count
    )
    if subscription.ends_at:
        fires = [f for f in fires if f <= subscription.ends_at]
    return fires
