"""Reads of subscriptions, always scoped to a user where a user asks."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from taskhub.subscriptions import scheduling
from taskhub.subscriptions.models import Kind, Subscription
from taskhub.subscriptions.states import Status

LAST_RUNS = ("last_fired_at", "last_succeeded_at")


def with_last_runs(qs: QuerySet[Subscription]) -> QuerySet[Subscription]:
    """``qs`` with ``last_fired_at`` (the latest run that finished, succeeded or failed) and
    ``last_succeeded_at``, read from the executions: the subscription's runs, found by the
    (subscription, fire key) constraint's index, latest first."""
    from taskhub.executions.models import Execution, ExecutionStatus

    runs = Execution.objects.filter(subscription=OuterRef("pk")).order_by("-created_at").values("finished_at")
    return qs.annotate(
        last_fired_at=Subquery(runs.filter(status__in=[ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED])[:1]),
        last_succeeded_at=Subquery(runs.filter(status=ExecutionStatus.SUCCEEDED)[:1]),
    )


def last_runs(subscription_id: int) -> dict[str, datetime | None]:
    """``LAST_RUNS`` of one subscription (for an instance that was not read through ``with_last_runs``)."""
    found = with_last_runs(Subscription.objects.filter(pk=subscription_id)).values(*LAST_RUNS).first()
    return found or dict.fromkeys(LAST_RUNS)


def subscriptions_of(
    user: AbstractBaseUser, *, status: str | None = None, kind: str | None = None
) -> QuerySet[Subscription]:
    """``user``'s subscriptions (unknown filter values match nothing rather than erroring), with their last runs."""
    qs = Subscription.objects.filter(owner=user).select_related("schedule", "monitor").prefetch_related("channels")
    qs = with_last_runs(qs)
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
