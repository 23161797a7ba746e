"""Celery entry points of the task agent. Each one parses its message and calls one service."""

from __future__ import annotations

from celery import shared_task

from taskhub.core import diagnostics


@shared_task(name="taskhub.probe")
def probe(run_id: str, label: str) -> None:
    """Record that a worker ran this message (used by ``manage.py probe`` and the queue-order test)."""
    diagnostics.record_probe(run_id=run_id, label=label)
