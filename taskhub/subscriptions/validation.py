"""Domain checks on what a user asks for. Each failure names its field (``InvalidInput.fields``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter
from django.conf import settings
from django.utils import timezone as djtz

from taskhub.core.errors import InvalidInput, PermanentError
from taskhub.subscriptions import scheduling


def validate_timezone(name: str, *, field: str = "timezone") -> str:
    if name not in _timezones():
        raise InvalidInput.at(field, f"unknown time zone {name!r}; use an IANA name such as 'Asia/Shanghai'")
    return name


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def validate_cron(expr: str, *, timezone: str, field: str = "cron") -> str:
    """A 5-field cron expression whose fires are never closer than the minimum interval."""
    normalised = " ".join(expr.split())
    if len(normalised.split(" ")) != 5:
        raise InvalidInput.at(field, "expected 5 fields: minute hour day-of-month month day-of-week")
    if not croniter.is_valid(normalised):
        raise InvalidInput.at(field, f"not a valid cron expression: {expr!r}")
    minimum = timedelta(seconds=settings.SUBSCRIPTION_MIN_INTERVAL_S)
    gap = scheduling.smallest_gap(cron=normalised, timezone=timezone, start=djtz.now())
    if gap < minimum:
        raise InvalidInput.at(
            field, f"fires every {int(gap.total_seconds())} s; the minimum interval is {int(minimum.total_seconds())} s"
        )
    return normalised


def validate_run_at(run_at: datetime, *, field: str = "run_at") -> datetime:
    if run_at <= djtz.now():
        raise InvalidInput.at(field, "must be in the future")
    return run_at


def validate_tool_call(tool: str, arguments: Any) -> dict[str, Any]:
    """``arguments`` for ``tool`` checked by the tool registry against the tool's input schema.

    Returns them normalised (schema defaults filled in). An unknown or disabled
    tool is an error on ``tool``; a bad argument on ``arguments.<name>``.
    """
    from tools import gateway

    arguments = validate_arguments(arguments)
    try:
        return gateway.validate_arguments(tool, arguments)
    except InvalidInput as exc:
        fields = {f"arguments.{name}" if name != "arguments" else name: [str(msg)] for name, msg in exc.fields.items()}
        raise InvalidInput(f"arguments: {exc.message}", fields=fields) from None
    except PermanentError:
        known = ", ".join(sorted(gateway.known_tools())) or "none registered"
        raise InvalidInput.at("tool", f"unknown tool {tool!r}; known: {known}") from None


def validate_arguments(arguments: Any, *, field: str = "arguments") -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise InvalidInput.at(field, "must be a JSON object")
    return arguments


def tz_now(timezone: str) -> datetime:
    return djtz.now().astimezone(ZoneInfo(timezone))


def tool_output_fields(tool: str) -> frozenset[str] | None:
    """Top-level fields of ``tool``'s structured output (from its output schema), or None when it has none."""
    from tools import gateway

    spec = gateway.known_tools().get(tool)
    if spec is None or not spec.output_schema:
        return None
    return frozenset(spec.output_schema.get("properties", {}))
