"""The reconciler: the database, not the broker, says what work is owed.

Executions still queued, running or retrying after their lease expired lost
their message (a broker restarted without persistence, a worker killed after
taking it): they are enqueued again. A duplicate message is harmless, because a
worker claims an execution by compare-and-set before running it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.executions import dispatch
from taskhub.executions.models import IN_FLIGHT, Execution, ExecutionStatus, ScheduleFire
from taskhub.executions.rows import InsertedExecution

logger = logging.getLogger(__name__)


def reconcile(*, now: datetime | None = None, limit: int = 50_000) -> int:
    """Resume cut-short fan-outs, then re-enqueue up to ``limit`` in-flight executions whose lease expired.

    Returns how many executions were re-enqueued.
    """
    now = now or djtz.now()
    resume_fanouts(now=now)
    new_lease = now + timedelta(seconds=settings.EXECUTION_LEASE_S)
    with transaction.atomic():
        expired = list(
            Execution.objects.select_for_update(skip_locked=True)
            .filter(status__in=IN_FLIGHT, lease_expires_at__lt=now)
            .order_by("lease_expires_at")
            .values_list("id", "subscription_id", "status", "subscription__kind", "subscription__priority")[:limit]
        )
        if not expired:
            return 0
        # A new lease first, so the next reconcile run does not send them again at once;
        # a running one whose worker is presumed dead goes back to queued, so it can be claimed.
        ids = [row[0] for row in expired]
        Execution.objects.filter(id__in=ids).exclude(status=ExecutionStatus.RUNNING).update(lease_expires_at=new_lease)
        Execution.objects.filter(id__in=ids, status=ExecutionStatus.RUNNING).update(
            status=ExecutionStatus.QUEUED, lease_expires_at=new_lease
        )
        batch = [
            InsertedExecution(pk, sub_id, status, queues.route_for_subscription(kind=kind, priority=priority))
            for pk, sub_id, status, kind, priority in expired
        ]
        transaction.on_commit(lambda: dispatch.enqueue(batch))
    logger.warning("re-enqueued executions with expired leases", extra={"count": len(expired)})
    return len(expired)


def resume_fanouts(*, now: datetime) -> int:
    """Send the fan-out again for ticks started more than a lease ago and never completed."""
    from agents.worker.tasks import fanout as fanout_task

    stale = ScheduleFire.objects.filter(
        completed_at__isnull=True, created_at__lt=now - timedelta(seconds=settings.FANOUT_LEASE_S)
    ).values_list("schedule_id", "fire_at")[:100]
    route = queues.route(queues.DEFAULT)
    for schedule_id, fire_at in stale:
        fanout_task.apply_async(kwargs={"schedule_id": schedule_id, "fire_at": fire_at.isoformat()}, **route.options())
        logger.warning(
            "resuming a cut-short fan-out", extra={"schedule_id": schedule_id, "fire_at": fire_at.isoformat()}
        )
    return len(stale)
