"""The execution batches waiting for a worker (``ExecutionBatch``), run in-process the way a worker would."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from taskhub.executions.models import ExecutionBatch
from taskhub.executions.runner import run_batch
from tests.broker import queued


def waiting() -> list[int]:
    """The ids of the batches not finished yet, oldest first."""
    return list(ExecutionBatch.objects.order_by("id").values_list("id", flat=True))


def run_waiting(*, now: datetime | None = None) -> dict[str, int]:
    """Run every batch waiting (each as its own ``execute_batch`` would); counts by final status, summed."""
    counts: Counter[str] = Counter()
    for batch_id in waiting():
        counts.update(run_batch(batch_id, now=now))
    return dict(counts)


def sent(redis_db: Any, *, queue: str = "default") -> list[list[int]]:
    """The execution ids of each ``execute_batch`` message waiting in the broker on ``queue``."""
    ids = dict(ExecutionBatch.objects.values_list("id", "execution_ids"))
    return [ids[batch] for [batch] in queued(redis_db, "taskhub.execute_batch", queue=queue)]
