"""Queue names and the one rule that orders work across them.

On the Redis transport a worker polls ``priority x queue`` lists, priority first:
a priority-0 message in ``default`` is taken before a priority-5 message in
``high``. So each queue owns a disjoint band of priorities (0 is the highest on
Redis). Draining by priority then drains ``high`` before ``default`` before
``low``, and inside a queue the band orders messages by urgency.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

HIGH = "high"
DEFAULT = "default"
LOW = "low"
ALL = (HIGH, DEFAULT, LOW)

# Inclusive (most urgent, least urgent) priority per queue; 0 is served first.
BANDS: dict[str, tuple[int, int]] = {
    HIGH: (0, 2),
    DEFAULT: (3, 6),
    LOW: (7, 9),
}


@dataclass(frozen=True)
class Route:
    """Where a message goes: a queue and a priority inside that queue's band."""

    queue: str
    priority: int

    def options(self) -> dict[str, object]:
        """Keyword arguments for ``Task.apply_async``."""
        return {"queue": self.queue, "routing_key": self.queue, "priority": self.priority}


@cache  # a pure function of few inputs, called once per execution of a fan-out
def route(queue: str, urgency: int = 0) -> Route:
    """The route for ``queue`` at ``urgency`` (0 = most urgent within the queue).

    Urgency beyond the band is clamped to its least urgent step, so a caller can
    never push a message into another queue's band.
    """
    if queue not in BANDS:
        raise ValueError(f"unknown queue {queue!r}; expected one of {', '.join(ALL)}")
    if urgency < 0:
        raise ValueError("urgency must be >= 0")
    top, bottom = BANDS[queue]
    return Route(queue=queue, priority=min(top + urgency, bottom))


def default_priority(queue: str) -> int:
    """The priority a task on ``queue`` gets when its sender names none."""
    top, bottom = BANDS[queue]
    return (top + bottom) // 2


# Every task and its queue. Celery's router reads this (``task_routes``), so a
# plain ``.delay()`` lands on the task's own queue at that queue's default
# priority; callers that know better pass a ``Route`` to ``apply_async``.
TASK_QUEUES: dict[str, str] = {
    "taskhub.probe": DEFAULT,
    "taskhub.fanout": DEFAULT,
    "taskhub.execute_batch": DEFAULT,
    "taskhub.reconcile": LOW,
    "taskhub.sweep_due": HIGH,
    "taskhub.prune_history": LOW,
    "taskhub.channels.release_held": LOW,
    "tools.preheat": LOW,
    "taskhub.monitoring.poll": HIGH,
    "taskhub.monitoring.poll_keys": HIGH,
    "taskhub.monitoring.match_event": HIGH,
}


def task_routes() -> dict[str, dict[str, object]]:
    """``task_routes`` for the Celery app, built from ``TASK_QUEUES``."""
    return {
        name: route(queue, urgency=default_priority(queue) - BANDS[queue][0]).options()
        for name, queue in TASK_QUEUES.items()
    }


def route_for_subscription(*, kind: str, priority: int, lateness_s: float = 0.0, manual: bool = False) -> Route:
    """The one rule for where a subscription's execution goes.

    Alerts (monitors) and a user's "run now" take ``high``; scheduled pushes take
    ``default``. Inside the band, urgent subscriptions first, and work already
    late by more than a minute moves one step ahead so a backlog drains oldest-first.
    ``priority`` is the subscription's 0 (low) .. 2 (urgent).
    """
    queue = HIGH if manual or kind == "monitor" else DEFAULT
    urgency = max(0, 2 - priority - (1 if lateness_s > 60 else 0))
    return route(queue, urgency)
