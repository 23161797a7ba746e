"""Writes to executions that users ask for directly."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core.errors import Conflict, NotFound
from taskhub.executions import dispatch
from taskhub.executions.models import Execution
from taskhub.executions.rows import NewExecution, insert_executions
from taskhub.subscriptions.selectors import subscription_scope
from taskhub.subscriptions.states import Status

RUNNABLE_NOW = (Status.ACTIVE, Status.PAUSED)


@transaction.atomic
def execution_run_now(*, subscription_id: int, owner: AbstractBaseUser | None) -> Execution:
    """Run a subscription once, now, on the high queue ("run now"); it does not change its schedule."""
    sub = subscription_scope(subscription_id, owner).only("id", "kind", "priority", "status").first()
    if sub is None:
        raise NotFound("subscription not found")
    if sub.status not in RUNNABLE_NOW:
        raise Conflict(f"cannot run a {sub.status} subscription", fields={"status": [sub.status]})
    route = queues.route_for_subscription(kind=sub.kind, priority=sub.priority, manual=True)
    now = djtz.now()
    [inserted] = insert_executions(
        [NewExecution(sub.pk, f"manual:{uuid.uuid4().hex}", nominal=now, route=route, meta={"manual": True})], now=now
    )
    dispatch.enqueue([inserted], now=now)
    return Execution.objects.get(pk=inserted.id)
