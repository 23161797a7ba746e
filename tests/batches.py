"""The execution batches waiting for a worker (``ExecutionBatch``), run in-process the way a worker would."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from taskhub.executions.models import ExecutionBatch
from taskhub.executions.runner import run_batch


def waiting() -> list[int]:
    """The ids of the batches not finished yet, oldest first."""
    return list(ExecutionBatch.objects.order_by("id").values_list("id", flat=True))


def run_waiting(*, now: datetime | None = None) -> dict[str, int]:
    """Run every batch waiting (each as its own ``execute_batch`` would); counts by final status, summed."""
    counts: Counter[str] = Counter()
    for batch_id in waiting():
        counts.update(run_batch(batch_id, now=now))
    return dict(counts)
