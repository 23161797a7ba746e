"""Sending Celery messages for work the database owns.

Every message TaskHub sends stands for rows that say the work is owed (a batch,
an event not matched, a fan-out not completed), and a sweep sends it again when
its lease runs out. So a broker that does not take a message (down, unreachable)
is not the sender's error: ``publish`` says so with False, the sender leaves the
work to its sweep, and its own work (a fan-out's other chunks, an API request)
goes on. Once a send failed, this process does not try the broker for
``BACKOFF_S``: a fan-out sends a message per chunk, and kombu retries each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from kombu.exceptions import OperationalError

from taskhub import queues

logger = logging.getLogger(__name__)

BACKOFF_S = 5.0
# Until when (time.monotonic()) this process takes the broker for down.
_down_until = 0.0


def publish(
    task: Any,
    *,
    route: queues.Route,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> bool:
    """Send ``task`` on ``route``; False if the broker did not take it (or failed less than ``BACKOFF_S`` ago)."""
    global _down_until  # this process's view of the broker
    if time.monotonic() < _down_until:
        return False
    try:
        task.apply_async(args=list(args), kwargs=kwargs, countdown=countdown, **route.options())
    except OperationalError as exc:  # kombu's: the broker refused or never answered, after its retries
        _down_until = time.monotonic() + BACKOFF_S
        logger.warning("broker unreachable: work left to its sweep", extra={"task": task.name, "error": str(exc)})
        return False
    return True


def publish_each(
    task: Any, messages: Sequence[tuple[queues.Route, Sequence[Any]]], *, countdown: float | None = None
) -> int:
    """Send ``task`` once per (route, args) in ``messages``, in order, until the broker refuses one.

    Returns how many were sent: the senders leave the rest (``messages[sent:]``) to their sweep.
    """
    for sent, (route, args) in enumerate(messages):
        if not publish(task, route=route, args=args, countdown=countdown):
            return sent
    return len(messages)
