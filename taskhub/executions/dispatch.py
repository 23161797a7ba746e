"""Sending executions to the workers: recorded batches (``ExecutionBatch``), messages of ids only."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core import broker
from taskhub.executions.models import ExecutionBatch
from taskhub.obs import metrics

logger = logging.getLogger(__name__)


class _Routed(Protocol):
    id: int
    route: queues.Route | None


def enqueue(
    executions: Iterable[_Routed],
    *,
    countdown: float | None = None,
    batch_size: int | None = None,
    claims: int = 0,
    now: datetime | None = None,
) -> list[ExecutionBatch]:
    """Record ``executions`` as batches, one per route and ``batch_size`` (default
    ``EXECUTE_BATCH_SIZE``), and send each batch's ``execute_batch`` message once the
    current transaction commits (after ``countdown`` seconds).

    Call it in the transaction that writes the executions: the batches are committed
    with them, so a message that never leaves (a crash before the send, a broker that
    forgets) is sent again by the reconciler when the batch's lease expires.
    ``claims`` carries over how often these runs were already taken (the reconciler).
    """
    now = now or djtz.now()
    run_after = now + timedelta(seconds=countdown) if countdown else None
    lease = (run_after or now) + timedelta(seconds=settings.EXECUTION_LEASE_S)
    by_route: dict[queues.Route, list[int]] = defaultdict(list)
    for execution in executions:
        by_route[execution.route or queues.route(queues.DEFAULT)].append(execution.id)
    size = batch_size or settings.EXECUTE_BATCH_SIZE
    batches = [
        ExecutionBatch(
            execution_ids=ids[start : start + size],
            queue=route.queue,
            priority=route.priority,
            claims=claims,
            run_after=run_after,
            lease_expires_at=lease,
        )
        for route, ids in by_route.items()
        for start in range(0, len(ids), size)
    ]
    if not batches:
        return []
    ExecutionBatch.objects.bulk_create(batches)
    transaction.on_commit(lambda: send(batches, countdown=countdown))
    return batches


def send(batches: Sequence[ExecutionBatch], *, countdown: float | None = None) -> None:
    """One ``execute_batch`` message per recorded batch, on its queue and priority.

    Batches the broker does not take (``broker.publish_each``) are left to the reconciler,
    their lease cut short so that its first run once the broker is back sends them,
    instead of a whole lease later.
    """
    from agents.worker.tasks import execute_batch

    messages = [(queues.Route(queue=batch.queue, priority=batch.priority), [batch.pk]) for batch in batches]
    sent = broker.publish_each(execute_batch, messages, countdown=countdown)
    metrics.SENT.inc(sum(len(batch.execution_ids) for batch in batches[:sent]))
    if sent < len(batches):
        _left_to_reconciler(batches[sent:])


def _left_to_reconciler(batches: Sequence[ExecutionBatch]) -> None:
    """Let the lease of batches never sent run out when they are due: the reconciler sends them on its next run."""
    now = Value(djtz.now())
    ExecutionBatch.objects.filter(pk__in=[batch.pk for batch in batches], taken_at=None).update(
        lease_expires_at=Greatest(Coalesce("run_after", now), now)
    )
