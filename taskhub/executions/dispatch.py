"""Sending executions to the workers: grouped by route, in batches, ids only."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from django.conf import settings

from taskhub import queues

logger = logging.getLogger(__name__)


class _Routed(Protocol):
    id: int
    route: queues.Route | None


def enqueue(executions: Iterable[_Routed], *, countdown: float | None = None, batch_size: int | None = None) -> int:
    """Send ``execute_batch`` messages for ``executions``, one per route and batch. Returns messages sent.

    Batches hold ``batch_size`` executions (default ``EXECUTE_BATCH_SIZE``). Call
    after the rows are committed (``transaction.on_commit``): a worker must find them.
    """
    from agents.worker.tasks import execute_batch

    by_route: dict[queues.Route, list[int]] = defaultdict(list)
    for execution in executions:
        by_route[execution.route or queues.route(queues.DEFAULT)].append(execution.id)
    size = batch_size or settings.EXECUTE_BATCH_SIZE
    sent = 0
    for route, ids in by_route.items():
        for start in range(0, len(ids), size):
            execute_batch.apply_async(args=[ids[start : start + size]], countdown=countdown, **route.options())
            sent += 1
    return sent
