"""The reconciler: the database, not the broker, says what work is owed.

Executions still queued, running or retrying after their lease expired lost
their message (a broker restarted without persistence, a worker killed after
taking it): they are enqueued again. A duplicate message is harmless, because a
worker claims an execution by compare-and-set before running it.

A running execution past its lease lost its worker mid-run. It may be what
killed the worker (a batch that runs it out of memory, a run past the task time
limit), so it goes back alone, one execution per message: it can no longer take
the rest of its batch down with it. After ``EXECUTION_MAX_LOST_RUNS`` such
losses it fails for good (permanent) instead of killing a worker every lease.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core.bulk import ids_in
from taskhub.core.errors import ErrorKind
from taskhub.executions import dispatch
from taskhub.executions.models import IN_FLIGHT, Execution, ExecutionStatus, ScheduleFire
from taskhub.executions.rows import InsertedExecution
from taskhub.subscriptions import services

logger = logging.getLogger(__name__)


def reconcile(*, now: datetime | None = None, limit: int = 50_000) -> int:
    """Resume cut-short fan-outs, then re-enqueue up to ``limit`` in-flight executions whose lease expired.

    Returns how many executions were re-enqueued (not counting those given up).
    """
    now = now or djtz.now()
    resume_fanouts(now=now)
    new_lease = now + timedelta(seconds=settings.EXECUTION_LEASE_S)
    with transaction.atomic():
        expired = list(
            Execution.objects.select_for_update(skip_locked=True)
            .filter(status__in=IN_FLIGHT, lease_expires_at__lt=now)
            .order_by("lease_expires_at")
            .values_list(*Expired._fields)[:limit]
        )
        expired = [Expired(*row) for row in expired]
        if not expired:
            return 0
        lost = [row for row in expired if row.status == ExecutionStatus.RUNNING]
        given_up = [row for row in lost if row.attempts >= settings.EXECUTION_MAX_LOST_RUNS]
        _give_up(given_up, now=now)
        # A new lease first, so the next reconcile run does not send them again at once;
        # a running one whose worker is presumed dead goes back to queued, so it can be claimed.
        waiting = [row for row in expired if row.status != ExecutionStatus.RUNNING]
        retried = [row for row in lost if row.attempts < settings.EXECUTION_MAX_LOST_RUNS]
        Execution.objects.filter(id__in=ids_in(row.id for row in waiting)).update(lease_expires_at=new_lease)
        Execution.objects.filter(id__in=ids_in(row.id for row in retried)).update(
            status=ExecutionStatus.QUEUED, lease_expires_at=new_lease
        )
        again, alone = _routed(waiting), _routed(retried, status=ExecutionStatus.QUEUED)
        transaction.on_commit(lambda: (dispatch.enqueue(again), dispatch.enqueue(alone, batch_size=1)))
    if given_up:
        logger.error("gave up executions lost with their worker", extra={"count": len(given_up)})
    if again or alone:
        logger.warning("re-enqueued executions with expired leases", extra={"count": len(again) + len(alone)})
    return len(again) + len(alone)


class Expired(NamedTuple):
    """An in-flight execution past its lease, as the reconciler reads it (field names are the lookups)."""

    id: int
    subscription_id: int
    status: str
    attempts: int
    subscription__kind: str
    subscription__priority: int
    meta: dict[str, Any]


def _routed(rows: list[Expired], *, status: str | None = None) -> list[InsertedExecution]:
    return [
        InsertedExecution(
            row.id,
            row.subscription_id,
            status or row.status,
            queues.route_for_subscription(kind=row.subscription__kind, priority=row.subscription__priority),
        )
        for row in rows
    ]


def _give_up(rows: list[Expired], *, now: datetime) -> None:
    """Fail runs lost ``EXECUTION_MAX_LOST_RUNS`` times; each counts as a permanent failure of its subscription."""
    if not rows:
        return
    limit = settings.EXECUTION_MAX_LOST_RUNS
    Execution.objects.filter(id__in=ids_in(row.id for row in rows)).update(
        status=ExecutionStatus.FAILED,
        error_kind=ErrorKind.PERMANENT,
        error_message=f"the run was lost {limit} times (its worker died or was killed each time): given up",
        lease_expires_at=None,
        finished_at=now,
    )
    subscriptions = {row.subscription_id for row in rows}
    finished = {row.subscription_id for row in rows if services.run_completes(row.subscription__kind, row.meta)}
    services.subscriptions_record_runs(succeeded=set(), failed_permanently=subscriptions, finished=finished)


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
