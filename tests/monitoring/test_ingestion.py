"""POST /api/v1/events/: signed per source, replay-safe, and precise about what is wrong."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from taskhub.core import broker
from taskhub.executions.models import Execution
from taskhub.monitoring import pollers
from taskhub.monitoring.matching import event_match
from taskhub.monitoring.models import Event
from taskhub.monitoring.services import event_source_create
from tests.broker import queued
from tests.monitoring.helpers import SHANGHAI_92, monitor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


@pytest.fixture
def feed() -> str:
    """The secret of the event source ``price-feed``."""
    return event_source_create(name="price-feed", tools=["fuel_price"])[1]


def _body(**overrides: Any) -> dict[str, Any]:
    return {"source": "price-feed", "tool": "fuel_price", "arguments": SHANGHAI_92, "data": {"price": 6.9}} | overrides


def post(
    secret: str, body: dict[str, Any] | bytes, *, msg_id: str = "evt-1", at: float | None = None, sign: bool = True
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(at if at is not None else time.time())
    headers = {"HTTP_WEBHOOK_ID": msg_id, "HTTP_WEBHOOK_TIMESTAMP": str(ts)}
    if sign:
        signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), raw.decode("utf-8", "replace"))
        headers["HTTP_WEBHOOK_SIGNATURE"] = f"v1,bogus {signature}"
    return APIClient().post("/api/v1/events/", data=raw, content_type="application/json", **headers)


def test_a_signed_event_is_accepted_and_matched_against_the_monitors_of_its_tool_call(alice, feed) -> None:
    sub = monitor(alice)
    response = post(feed, _body())
    assert response.status_code == 202, response.json()
    event = Event.objects.get(pk=response.json()["event"])
    assert (event.source, event.dedupe_id, event.key) == ("price-feed", "evt-1", sub.call_key)
    assert event_match(event_id=event.pk).alerts == 1
    assert Execution.objects.get().subscription_id == sub.pk


def test_a_replayed_event_id_is_accepted_once(feed) -> None:
    first = post(feed, _body())
    again = post(feed, _body(data={"price": 1.0}))
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"event": first.json()["event"], "duplicate": True}
    assert Event.objects.get().payload == {"price": 6.9}


def test_a_bad_signature_is_401_and_records_nothing(feed) -> None:
    other_secret = event_source_create(name="other")[1]
    assert post(other_secret, _body()).status_code == 401
    unsigned = post(feed, _body(), sign=False)
    assert unsigned.status_code == 401
    assert unsigned.json()["fields"] == {"webhook-signature": ["required"]}
    assert post(feed, _body(source="nobody")).status_code == 401
    assert not Event.objects.exists()


def test_a_stale_or_future_timestamp_is_refused(feed, settings) -> None:
    settings.EVENT_TIMESTAMP_TOLERANCE_S = 300
    for skew in (-301, 301):
        response = post(feed, _body(), at=time.time() + skew)
        assert response.status_code == 400
        assert "webhook-timestamp" in response.json()["fields"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps(_body(data={"price": float("nan")})).encode(), "body"),  # NaN is not JSON
        (_body(tool=None), "tool"),
        (_body(tool="current_weather"), "tool"),
        (_body(arguments={"region": ""}), "arguments.region"),
        (_body(data={}), "data"),
        (_body(data=[1]), "data"),
        (_body(observed_at="yesterday"), "observed_at"),
        (_body(observed_at="2099-01-01T00:00:00+00:00"), "observed_at"),
        (_body(extra=1), "extra"),
    ],
)
def test_a_malformed_event_is_400_naming_its_field(feed, body: Any, field: str) -> None:
    response = post(feed, body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Event.objects.exists()


def test_an_event_taken_while_the_broker_is_down_is_accepted_and_sent_to_matching_by_the_poller(
    alice, feed, redis_db, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monitor(alice)
    # This process's last send failed a moment ago (what a broker that refused it leaves behind).
    monkeypatch.setattr(broker, "_down_until", time.monotonic() + 60)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(feed, _body())
    assert response.status_code == 202, response.content
    assert queued(redis_db, "taskhub.monitoring.match_event") == []

    monkeypatch.setattr(broker, "_down_until", 0.0)  # the broker is back
    pollers.poll_due()
    assert queued(redis_db, "taskhub.monitoring.match_event") == [[response.json()["event"]]]
