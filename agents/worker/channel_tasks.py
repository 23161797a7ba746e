"""Celery entry points of push channels: thin, one service call each."""

from __future__ import annotations

from celery import shared_task

from taskhub.channels.dispatch.release import release_held_deliveries


@shared_task(name="taskhub.channels.release_held")
def release_held() -> int:
    """Send the pushes held for quiet hours whose window has ended (beat: every minute, low queue)."""
    return release_held_deliveries()
