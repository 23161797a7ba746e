"""Celery entry points of monitoring: thin, ids in, one service call each (queue ``high``)."""

from __future__ import annotations

from celery import shared_task

from taskhub.monitoring import matching, pollers


@shared_task(name="taskhub.monitoring.poll", acks_late=True)
def poll() -> int:
    """Beat's poller tick: poll the watched tool calls that are due; returns events recorded."""
    return pollers.poll_due()


@shared_task(name="taskhub.monitoring.poll_keys", acks_late=True)
def poll_keys(keys: list[str]) -> int:
    """Poll these watched tool calls now, bypassing the cache (after a fuel-price override)."""
    return pollers.poll_keys(keys=[str(k) for k in keys], fresh=True)


@shared_task(name="taskhub.monitoring.match_event", acks_late=True)
def match_event(event_id: int) -> int:
    """Match one event against the monitors of its key; returns alerts fired."""
    return matching.event_match(event_id=int(event_id)).alerts
