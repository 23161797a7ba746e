"""Domain checks on what a user asks for. Each failure names its field (``InvalidInput.fields``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter
from django.conf import settings
from django.utils import timezone as djtz

from taskhub.core.errors import InvalidInput
from taskhub.subscriptions import scheduling


def _fail(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", fields={field: [message]})


def validate_timezone(name: str, *, field: str = "timezone") -> str:
    if name not in _timezones():
        raise _fail(field, f"unknown time zone {name!r}; use an IANA name such as 'Asia/Shanghai'")
    return name


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def validate_cron(expr: str, *, timezone: str, field: str = "cron") -> str:
    """A 5-field cron expression whose fires are never closer than the minimum interval."""
    normalised = " ".join(expr.split())
    if len(normalised.split(" ")) != 5:
        raise _fail(field, "expected 5 fields: minute hour day-of-month month day-of-week")
    if not croniter.is_valid(normalised):
        raise _fail(field, f"not a valid cron expression: {expr!r}")
    minimum = timedelta(seconds=settings.SUBSCRIPTION_MIN_INTERVAL_S)
    gap = scheduling.smallest_gap(cron=normalised, timezone=timezone, start=djtz.now())
    if gap < minimum:
        raise _fail(
            field, f"fires every {int(gap.total_seconds())} s; the minimum interval is {int(minimum.total_seconds())} s"
        )
    return normalised


def validate_run_at(run_at: datetime, *, field: str = "run_at") -> datetime:
    if run_at <= djtz.now():
        raise _fail(field, "must be in the future")
    return run_at


def validate_tool(tool: str, *, field: str = "tool") -> str:
    if tool not in settings.SUBSCRIPTION_TOOLS:
        raise _fail(field, f"unknown tool {tool!r}; known: {', '.join(settings.SUBSCRIPTION_TOOLS)}")
    return tool


def validate_arguments(arguments: Any, *, field: str = "arguments") -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise _fail(field, "must be a JSON object")
    return arguments


def tz_now(timezone: str) -> datetime:
    return djtz.now().astimezone(ZoneInfo(timezone))


def tool_output_fields(tool: str) -> frozenset[str] | None:
    """Top-level fields of ``tool``'s structured output, or None when not known.

    Until the tool gateway's registry is wired in, the output schema is unknown
    and templates may use any plain name (unknown names render empty).
    """
    return None
