"""The demo, with real processes: the operator drops the Shanghai 92 price, the subscriber is alerted once.

A real Celery worker, the real tool-server process, a real webhook receiver,
PostgreSQL and Redis. Nothing here calls the matcher or the runner directly.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from taskhub.channels.models import InboxMessage
from taskhub.channels.services import channel_create, inbox_channel_for
from taskhub.monitoring import pollers
from taskhub.monitoring.models import Event
from taskhub.monitoring.services import event_source_create
from tests.channels.receivers import http_receiver
from tests.monitoring.helpers import SHANGHAI_92, monitor
from tests.processes import celery_worker, process_env, wait_until
from tools.gateway import services

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("tools_registry"),
    pytest.mark.processes,
]


def test_an_override_below_the_threshold_reaches_inbox_and_webhook_once_within_5_s(
    alice, bob, settings, tmp_path
) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    env = process_env(WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    with http_receiver() as receiver, celery_worker(env=env, log_path=tmp_path / "worker.log"):
        hook = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        sub = monitor(alice)
        sub.channels.set([inbox_channel_for(alice), hook])
        below_6_5 = monitor(bob, condition={"field": "price", "op": "lt", "value": 6.5})

        pollers.poll_due()  # the first poll: 7.95, nobody alerted
        wait_until(lambda: Event.objects.filter(outcome="matched").exists(), timeout=60, what="the first poll matched")
        assert not InboxMessage.objects.exists()

        started = time.monotonic()
        services.fuel_override_set(region="Shanghai", grade="92", price=6.9)
        wait_until(
            lambda: InboxMessage.objects.filter(owner=alice).exists() and receiver.requests,
            timeout=5,
            what="the inbox message and the webhook",
        )
        elapsed = time.monotonic() - started

        # Still below 7 at the next polls, and a replayed ingestion: no second alert.
        pollers.poll_keys(keys=[sub.monitor.key], fresh=True)
        secret = event_source_create(name="feed", tools=["fuel_price"])[1]
        body = json.dumps({"source": "feed", "tool": "fuel_price", "arguments": SHANGHAI_92, "data": {"price": 6.4}})
        now = datetime.now(UTC).replace(microsecond=0)
        headers = {
            "HTTP_WEBHOOK_ID": "feed-1",
            "HTTP_WEBHOOK_TIMESTAMP": str(int(now.timestamp())),
            "HTTP_WEBHOOK_SIGNATURE": Webhook(secret).sign("feed-1", now, body),
        }
        for _ in range(2):
            response = APIClient().post("/api/v1/events/", data=body, content_type="application/json", **headers)
            assert response.status_code in (200, 202)
        wait_until(lambda: InboxMessage.objects.filter(owner=bob).exists(), timeout=5, what="bob's alert at 6.4")
        time.sleep(1.5)  # anything duplicated would show by now

    assert elapsed < 5
    [message] = InboxMessage.objects.filter(owner=alice)
    assert "price is 6.9 (price < 7; before: 7.95)" in message.body
    assert len(receiver.requests) == 1
    pushed = receiver.requests[0].json()["data"]
    assert (pushed["body"], pushed["data"]["result"]["price"]) == (message.body, 6.9)
    alert = pushed["data"]["alert"]
    assert (alert["value"], alert["threshold"], alert["previous"]) == (6.9, 7, 7.95)
    assert message.payload == pushed["data"]  # the inbox shows what the webhook got, from the run's snapshot
    [for_bob] = InboxMessage.objects.filter(owner=bob)
    assert for_bob.subscription_id == below_6_5.pk
    assert "price is 6.4 (price < 6.5; before: 6.9)" in for_bob.body
