"""Events POSTed by external systems: authenticated per source, signed Standard Webhooks style.

Headers: ``webhook-id`` (the event id: a replay of it is accepted once),
``webhook-timestamp`` (Unix seconds, within EVENT_TIMESTAMP_TOLERANCE_S of now)
and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``
with the source's ``whsec_`` secret; several space-separated during a rotation).
Body: ``{"source", "tool", "arguments", "data", "observed_at"?}``. Checks in
order, none writes before all passed: size and JSON (400), source and headers
(401), timestamp (400), signature (401), fields (400).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone as djtz
from django.utils.dateparse import parse_datetime
from standardwebhooks.webhooks import Webhook

from taskhub.core.errors import InvalidInput, PermanentError, Unauthenticated
from taskhub.monitoring.models import Event, EventSource
from taskhub.monitoring.services import NewEvent, events_record

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass(frozen=True)
class Ingested:
    event_id: int
    duplicate: bool


def _not_json(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (and PostgreSQL's jsonb) does not.
    raise ValueError(f"{name} is not JSON")


def event_ingest(*, body: bytes, headers: Mapping[str, str], now: datetime | None = None) -> Ingested:
    """Verify and record one POSTed event; a replayed ``webhook-id`` is reported as a duplicate."""
    now = now or djtz.now()
    if len(body) > settings.EVENT_MAX_BYTES:
        raise InvalidInput.at("body", f"larger than {settings.EVENT_MAX_BYTES} bytes")
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput.at("body", "not a JSON document (UTF-8)") from None
    if not isinstance(data, dict):
        raise InvalidInput.at("body", "must be a JSON object")
    source = _source(data.get("source"))
    msg_id = _verify(source, text, {k.lower(): v for k, v in headers.items()}, now=now)
    event = _event(source, msg_id, data, now=now)
    created = events_record([event])
    if created:
        return Ingested(created[0], duplicate=False)
    existing = Event.objects.values_list("pk", flat=True).get(source=source.name, dedupe_id=msg_id)
    return Ingested(existing, duplicate=True)


def _source(name: Any) -> EventSource:
    if not isinstance(name, str) or not name:
        raise InvalidInput.at("source", "required: the name of your event source")
    source = EventSource.objects.filter(name=name, enabled=True).first()
    if source is None:
        # An unknown source answers like a bad signature: names are not disclosed.
        raise Unauthenticated("unknown source or bad signature", fields={"webhook-signature": ["does not verify"]})
    return source


def _verify(source: EventSource, text: str, headers: dict[str, str], *, now: datetime) -> str:
    """The event id, once the timestamp is within tolerance and a signature matches the source's secret."""
    missing = [name for name in SIGNATURE_HEADERS if not headers.get(name)]
    if missing:
        raise Unauthenticated("signature headers missing", fields={name: ["required"] for name in missing})
    msg_id, raw_ts, signatures = (headers[name] for name in SIGNATURE_HEADERS)
    if len(msg_id) > 200:
        raise InvalidInput.at("webhook-id", "at most 200 characters")
    try:
        timestamp = datetime.fromtimestamp(int(raw_ts), UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput.at("webhook-timestamp", "Unix time in whole seconds") from None
    tolerance = timedelta(seconds=settings.EVENT_TIMESTAMP_TOLERANCE_S)
    if abs(now - timestamp) > tolerance:
        raise InvalidInput.at("webhook-timestamp", f"more than {tolerance.seconds} s from the server's clock (replay?)")
    expected = Webhook(source.secret).sign(msg_id, timestamp, text).split(",", 1)[1]
    offered = [part.split(",", 1)[1] for part in signatures.split() if part.startswith("v1,")]
    # compare every candidate, so the time taken says nothing about which one matched
    if not any([hmac.compare_digest(expected.encode(), sig.encode()) for sig in offered]):
        raise Unauthenticated("bad signature", fields={"webhook-signature": ["does not verify"]})
    return msg_id


def _event(source: EventSource, msg_id: str, data: dict[str, Any], *, now: datetime) -> NewEvent:
    from taskhub.subscriptions import validation

    unknown = sorted(set(data) - {"source", "tool", "arguments", "data", "observed_at"})
    if unknown:
        raise InvalidInput.at(unknown[0], "unknown field; expected source, tool, arguments, data, observed_at")
    tool = data.get("tool")
    if not isinstance(tool, str) or not tool:
        raise InvalidInput.at("tool", "required: the tool whose output this is, e.g. 'fuel_price'")
    if source.tools and tool not in source.tools:
        raise InvalidInput.at("tool", f"this source may report on: {', '.join(source.tools)}")
    try:
        arguments = validation.validate_tool_call(tool, data.get("arguments", {}))
    except PermanentError as exc:  # unknown tool, bad arguments: the caller's input
        raise InvalidInput(exc.message, fields=exc.fields) from None
    payload = data.get("data")
    if not isinstance(payload, dict) or not payload:
        raise InvalidInput.at("data", "required: the tool's output, a non-empty JSON object")
    observed_at = now
    if "observed_at" in data:
        raw = data["observed_at"]
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        if parsed is None or parsed.tzinfo is None:
            raise InvalidInput.at("observed_at", "an ISO 8601 time with its offset, e.g. 2026-11-25T14:00:00+08:00")
        if parsed > now + timedelta(seconds=settings.EVENT_TIMESTAMP_TOLERANCE_S):
            raise InvalidInput.at("observed_at", "in the future")
        observed_at = parsed
    return NewEvent(source.name, msg_id, tool, arguments, payload, observed_at)
