"""Celery entry points of the task agent. Each one parses its message and calls one service."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task

from taskhub.core import diagnostics
from taskhub.executions import fanout as fanout_service
from taskhub.executions import reconciler, retention, runner, sweeper

logger = logging.getLogger(__name__)


@shared_task(name="taskhub.probe")
def probe(run_id: str, label: str) -> None:
    """Record that a worker ran this message and reached the database (``manage.py probe``, the queue tests)."""
    diagnostics.record_probe(run_id=run_id, label=label)


@shared_task(name="taskhub.fanout")
def fanout(schedule_id: int, fire_at: str | None = None) -> dict[str, object]:
    """Beat's tick of a schedule bucket (or the reconciler resuming one): create and enqueue its executions."""
    tick = datetime.fromisoformat(fire_at) if fire_at else None
    return vars(fanout_service.fanout(schedule_id=int(schedule_id), fire_at=tick))


@shared_task(name="taskhub.execute_batch")
def execute_batch(batch_id: int | list[int]) -> None:
    """Run a batch of executions (``ExecutionBatch``): tool calls, messages, pushes, write-back."""
    if isinstance(batch_id, list):
        # A message from before batches were recorded (it carried execution ids): migration
        # executions/0007 put those executions in batches, which the reconciler sends.
        logger.info("execute_batch message of the old form dropped", extra={"executions": len(batch_id)})
        return
    runner.run_batch(int(batch_id))


@shared_task(name="taskhub.reconcile")
def reconcile() -> int:
    """Send again the batches whose lease expired (lost messages, dead workers)."""
    return reconciler.reconcile()


@shared_task(name="taskhub.sweep_due")
def sweep_due() -> int:
    """Beat's sweep of due one-off reminders."""
    return sweeper.sweep_due()


@shared_task(name="taskhub.prune_history")
def prune_history() -> dict[str, int]:
    """Beat's deletion of history past its retention (``taskhub/executions/retention.py``)."""
    return vars(retention.prune_history())
