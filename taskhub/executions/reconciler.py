"""The reconciler: the database, not the broker, says what work is owed.

Every execution still owed is in an ``ExecutionBatch`` written with it. A batch
whose lease expired lost its message (a broker restarted without persistence, a
crash before the send) or its worker (killed while running it): it is sent again.
A duplicate message is harmless, because a worker takes a batch by compare-and-set
and writes a result only over the state its run started from.

A batch lost with its worker may hold what killed the worker (a run that exhausts
its memory or passes the task time limit), so its executions go back one per batch:
one can no longer take the others down with it. A run whose batch was taken
``EXECUTION_MAX_LOST_RUNS`` times and never finished fails for good (permanent).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core import broker
from taskhub.core.bulk import ids_in
from taskhub.core.errors import ErrorKind
from taskhub.executions import dispatch
from taskhub.executions.models import IN_FLIGHT, Execution, ExecutionBatch, ExecutionStatus, ScheduleFire
from taskhub.executions.rows import InsertedExecution
from taskhub.obs import metrics
from taskhub.subscriptions import services

logger = logging.getLogger(__name__)


def reconcile(*, now: datetime | None = None, limit: int = 1_000) -> int:
    """Resume cut-short fan-outs, then send again up to ``limit`` batches whose lease expired.

    Returns how many executions were sent again (not counting those given up).
    """
    now = now or djtz.now()
    resume_fanouts(now=now)
    with transaction.atomic():
        expired = list(
            ExecutionBatch.objects.select_for_update(skip_locked=True)
            .filter(lease_expires_at__lt=now)
            .order_by("lease_expires_at")[:limit]
        )
        if not expired:
            return 0
        waiting = [batch for batch in expired if batch.taken_at is None]
        lost = [batch for batch in expired if batch.taken_at is not None]
        # A new lease first, so the next reconcile run does not send them again at once.
        new_lease = now + timedelta(seconds=settings.EXECUTION_LEASE_S)
        ExecutionBatch.objects.filter(pk__in=[batch.pk for batch in waiting]).update(lease_expires_at=new_lease)
        given_up = [batch for batch in lost if batch.claims >= settings.EXECUTION_MAX_LOST_RUNS]
        _give_up([pk for batch in given_up for pk in batch.execution_ids], now=now)
        alone = _split([batch for batch in lost if batch.claims < settings.EXECUTION_MAX_LOST_RUNS], now=now)
        ExecutionBatch.objects.filter(pk__in=[batch.pk for batch in lost]).delete()
        transaction.on_commit(lambda: dispatch.send(waiting))
    again = sum(len(batch.execution_ids) for batch in waiting) + alone
    if given_up:
        logger.error("gave up runs lost with their worker", extra={"batches": len(given_up)})
    if again:
        logger.warning("sent again batches whose lease expired", extra={"count": again})
    return again


def _split(batches: list[ExecutionBatch], *, now: datetime) -> int:
    """The executions of batches lost with their worker, still owed, one per new batch; returns how many."""
    batch_of = {pk: batch for batch in batches for pk in batch.execution_ids}
    owed = Execution.objects.filter(id__in=ids_in(batch_of), status__in=IN_FLIGHT).values_list(
        "id", "subscription_id", "status"
    )
    by_batch: dict[int, list[InsertedExecution]] = defaultdict(list)
    for pk, sub_id, status in owed:
        batch = batch_of[pk]
        by_batch[batch.pk].append(
            InsertedExecution(pk, sub_id, status, queues.Route(queue=batch.queue, priority=batch.priority))
        )
    for batch in batches:  # each keeps the count of takes of the batch it was lost in
        dispatch.enqueue(by_batch[batch.pk], batch_size=1, claims=batch.claims, now=now)
    return sum(map(len, by_batch.values()))


def _give_up(execution_ids: list[int], *, now: datetime) -> None:
    """Fail runs lost ``EXECUTION_MAX_LOST_RUNS`` times; each counts as a permanent failure of its subscription."""
    owed = Execution.objects.filter(id__in=ids_in(execution_ids), status__in=IN_FLIGHT)
    rows = list(owed.values_list("id", "subscription_id", "subscription__kind", "meta"))
    if not rows:
        return
    limit = settings.EXECUTION_MAX_LOST_RUNS
    Execution.objects.filter(id__in=ids_in(row[0] for row in rows)).update(
        status=ExecutionStatus.FAILED,
        error_kind=ErrorKind.PERMANENT,
        error_message=f"the run was lost {limit} times (its worker died or was killed each time): given up",
        finished_at=now,
    )
    metrics.EXECUTIONS.labels(ExecutionStatus.FAILED).inc(len(rows))
    subscriptions = {sub_id for _, sub_id, _, _ in rows}
    finished = {sub_id for _, sub_id, kind, meta in rows if services.run_completes(kind, meta)}
    services.subscriptions_record_runs(succeeded=set(), failed_permanently=subscriptions, finished=finished)


def resume_fanouts(*, now: datetime) -> int:
    """Send the fan-out again for ticks started more than a lease ago and never completed."""
    from agents.worker.tasks import fanout as fanout_task

    stale = ScheduleFire.objects.filter(
        completed_at__isnull=True, created_at__lt=now - timedelta(seconds=settings.FANOUT_LEASE_S)
    ).values_list("schedule_id", "fire_at")[:100]
    route = queues.route(queues.DEFAULT)
    for schedule_id, fire_at in stale:
        # Not taken by the broker: the tick stays open, and the next run sends it again.
        broker.publish(fanout_task, route=route, kwargs={"schedule_id": schedule_id, "fire_at": fire_at.isoformat()})
        logger.warning(
            "resuming a cut-short fan-out", extra={"schedule_id": schedule_id, "fire_at": fire_at.isoformat()}
        )
    return len(stale)
