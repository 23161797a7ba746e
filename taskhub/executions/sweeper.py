"""One-off reminders: a due-time index swept every few seconds by one beat entry.

Not one beat entry or one long-ETA message per reminder: the partial index
``sub_once_due`` holds active one-offs by ``run_at``; each sweep turns the due
ones into executions (idempotent on the fire key, like a fan-out) and enqueues
the new ones. A reminder found long after its time (downtime) follows its
missed-run policy.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.executions import dispatch
from taskhub.executions.fanout import fire_key, runs_now
from taskhub.executions.models import ExecutionStatus
from taskhub.executions.rows import NewExecution, insert_executions
from taskhub.obs import metrics
from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, Subscription
from taskhub.subscriptions.states import Status

logger = logging.getLogger(__name__)


def sweep_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Create and enqueue executions for one-offs due by ``now``; returns how many were new."""
    now = now or djtz.now()
    limit = limit or settings.FANOUT_CHUNK_SIZE
    with transaction.atomic():
        due = list(
            Subscription.objects.select_for_update(skip_locked=True)
            .filter(kind=Kind.ONCE, status=Status.ACTIVE, run_at__lte=now)
            .order_by("run_at")
            .only("id", "kind", "priority", "run_at", "missed_policy", "catch_up_window_s")[:limit]
        )
        rows = []
        for sub in due:
            lateness = now - sub.run_at
            on_time = runs_now(sub, lateness)
            route = queues.route_for_subscription(
                kind=sub.kind, priority=sub.priority, lateness_s=lateness.total_seconds()
            )
            status = ExecutionStatus.QUEUED if on_time else ExecutionStatus.MISSED
            rows.append(NewExecution(sub.pk, fire_key(sub.run_at), nominal=sub.run_at, status=status, route=route))
        inserted = insert_executions(rows, now=now)
        to_run = [row for row in inserted if row.status == ExecutionStatus.QUEUED]
        missed = {row.subscription_id for row in inserted if row.status == ExecutionStatus.MISSED}
        dispatch.enqueue(to_run, now=now)
        metrics.EXECUTIONS.labels(ExecutionStatus.MISSED).inc(len(missed))
        if missed:
            transaction.on_commit(
                lambda: services.subscriptions_after_runs(to_complete=missed, failed_permanently=set())
            )
    if inserted:
        logger.info("due one-offs swept", extra={"enqueued": len(to_run), "missed": len(missed)})
    return len(inserted)
