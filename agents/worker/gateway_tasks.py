"""Celery entry points of the tool gateway. Thin: parse the message, call one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from tools.gateway import services


@shared_task(name="tools.preheat", acks_late=True)
def preheat(requests: list[list[Any]], max_age_s: int | None = None) -> dict[str, int]:
    """Fetch ``[[tool, args], ...]`` into the gateway cache (queue ``low``); one call per distinct pair."""
    return services.preheat(requests=[(str(tool), dict(args)) for tool, args in requests], max_age_s=max_age_s)
