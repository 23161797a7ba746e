"""The text a subscriber receives: their template filled with the tool's data, at consumption time."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings

from taskhub.monitoring.alerts import alert_text
from taskhub.subscriptions import templates

STALE_NOTE = "\n(cached data: the source is not answering right now)"


class Wording(Protocol):
    """What a message is made of besides the answer: a ``Subscription`` or the runner's ``LotSubscription``."""

    title: str
    timezone: str
    template: str
    arguments: dict[str, Any]


def values_for(sub: Wording, data: dict[str, Any], *, stale: bool, now: datetime) -> dict[str, Any]:
    """Placeholder values: the tool's top-level fields, the call's arguments, and a few common names."""
    local = now.astimezone(ZoneInfo(sub.timezone))
    return {
        **{k: v for k, v in sub.arguments.items() if isinstance(k, str)},
        **{k: v for k, v in data.items() if isinstance(k, str)},
        "title": sub.title,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "weekday": local.strftime("%A"),
        "timezone": sub.timezone,
        "stale_note": STALE_NOTE if stale else "",
    }


def compose(sub: Wording, result: Any, *, now: datetime) -> tuple[str, str]:
    """(title, body) for ``sub`` given a gateway ``result``; stale data is said to be stale."""
    if alert := getattr(result, "alert", None):  # a monitor's alert (taskhub/monitoring/alerts.py)
        text = alert_text(title=sub.title, timezone=sub.timezone, alert=alert)
        if sub.template:
            text += "\n" + templates.render(
                sub.template, values_for(sub, result.data, stale=False, now=now), max_length=settings.MESSAGE_MAX_LENGTH
            )
        return sub.title, text[: settings.MESSAGE_MAX_LENGTH]
    stale = result.status == "stale"
    template = sub.template or templates.default_template(result.data)
    if stale and "{stale_note}" not in template:
        template += "{stale_note}"
    body = templates.render(
        template, values_for(sub, result.data, stale=stale, now=now), max_length=settings.MESSAGE_MAX_LENGTH
    )
    return sub.title, body


def reworded(bodies: Iterable[str]) -> dict[str, str]:
    """The LLM's wording of each distinct body, within the batch's ``MESSAGE_WORDING_BUDGET_S``.

    Only with ``MESSAGE_WORDING`` on and an LLM configured. A body the LLM could not
    word in time (absent, slow, failing, budget spent) is left out: its template
    text is sent. Identical bodies (same template and data) are worded once.
    """
    if not settings.MESSAGE_WORDING:
        return {}
    from agents import llm

    if not llm.configured():
        return {}
    deadline = time.monotonic() + settings.MESSAGE_WORDING_BUDGET_S
    worded: dict[str, str] = {}
    for body in dict.fromkeys(bodies):
        remaining = deadline - time.monotonic()
        if remaining < 0.1:
            break
        text = llm.word_message(body, timeout=min(remaining, settings.OPENAI_TIMEOUT))
        if text:
            worded[body] = text
    return worded
