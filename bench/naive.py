"""The naive design, for the fan-out benchmark's baseline only: one task per subscription, one tool call each.

Loaded into the benchmark's worker with ``-I bench.naive``; never part of TaskHub.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from taskhub import queues


@shared_task(name="bench.naive_execute")
def naive_execute(subscription_id: int) -> None:
    from taskhub.channels.inbox import InboxItem, inbox_write
    from taskhub.executions.message import compose
    from taskhub.subscriptions.models import Subscription
    from tools import gateway

    sub = Subscription.objects.get(pk=subscription_id)
    result = gateway.call(sub.tool, sub.arguments, max_age_s=0)  # no cache: one call per subscription
    title, body = compose(sub, result, now=timezone.now())
    inbox_write(
        [InboxItem(owner_id=sub.owner_id, key=f"naive:{sub.pk}", title=title, body=body, subscription_id=sub.pk)]
    )


def enqueue_naive(subscription_ids: list[int]) -> None:
    route = queues.route(queues.DEFAULT)
    for subscription_id in subscription_ids:
        naive_execute.apply_async(args=[subscription_id], **route.options())
