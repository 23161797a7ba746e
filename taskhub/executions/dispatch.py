"""Sending executions to the workers: recorded batches (``ExecutionBatch``), messages of ids only."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone as djtz
from kombu.exceptions import OperationalError

from taskhub import queues
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

    A broker that cannot take a message (down, unreachable) is not an error of the
    caller's: its batches are recorded, so they are left to the reconciler, their
    lease cut short so that its first run once the broker is back sends them,
    instead of a whole lease later. Once a publish failed, the next sends of this
    process for ``BROKER_BACKOFF_S`` do not try (a fan-out sends a batch per chunk).
    """
    from agents.worker.tasks import execute_batch

    global _broker_down_until  # this process's view of the broker
    for n, batch in enumerate(batches):
        if time.monotonic() < _broker_down_until:
            _left_to_reconciler(batches[n:])
            return
        route = queues.Route(queue=batch.queue, priority=batch.priority)
        try:
            execute_batch.apply_async(args=[batch.pk], countdown=countdown, **route.options())
        except OperationalError as exc:  # kombu's: the broker refused or never answered, after its retries
            _broker_down_until = time.monotonic() + BROKER_BACKOFF_S
            logger.warning("broker unreachable: batches left to the reconciler", extra={"error": str(exc)})
            _left_to_reconciler(batches[n:])
            return
        metrics.SENT.inc(len(batch.execution_ids))


# Until when (time.monotonic()) this process takes the broker for down: sends skip it.
_broker_down_until = 0.0
BROKER_BACKOFF_S = 5.0


def _left_to_reconciler(batches: Sequence[ExecutionBatch]) -> None:
    """Let the lease of batches never sent run out when they are due: the reconciler sends them on its next run."""
    now = Value(djtz.now())
    ExecutionBatch.objects.filter(pk__in=[batch.pk for batch in batches], taken_at=None).update(
        lease_expires_at=Greatest(Coalesce("run_after", now), now)
    )
