from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.models import Delivery, InboxMessage
from taskhub.channels.services import channel_create
from tests.channels.conftest import message_for
from tests.channels.receivers import http_receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


@pytest.fixture(autouse=True)
def _loopback_allowed(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1/32"]


def test_webhook_is_signed_per_standard_webhooks_and_verifies(alice, execution) -> None:
    with http_receiver() as receiver:
        channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert outcome.status == "sent"
    [request] = receiver.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    payload = Webhook(channel.secret).verify(request.body, headers)
    assert payload["data"]["title"] == "Beijing weather"
    assert payload["data"]["data"] == {"temp": 21}
    delivery = Delivery.objects.get()
    assert headers["webhook-id"] == delivery.idempotency_key
    assert (delivery.status, delivery.attempts, delivery.response_summary) == ("sent", 1, "HTTP 204")


@pytest.mark.parametrize(
    ("status", "kind"), [(429, "temporary"), (503, "temporary"), (404, "permanent"), (400, "permanent")]
)
def test_webhook_status_codes_are_classified(alice, execution, status, kind) -> None:
    with http_receiver(status=status) as receiver:
        channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert (outcome.status, outcome.error_kind) == ("failed", kind)


def test_a_temporary_failure_is_retried_with_the_same_webhook_id_and_then_sent_once(alice, execution) -> None:
    with http_receiver(status=503) as receiver:
        channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        message = message_for(execution, channel)
        assert deliver_messages([message])[0].status == "failed"
        receiver.status = 200
        assert deliver_messages([message])[0].status == "sent"
        assert deliver_messages([message])[0].status == "duplicate"
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert Delivery.objects.get().attempts == 2


def test_a_permanent_failure_is_final(alice, execution) -> None:
    with http_receiver(status=404) as receiver:
        channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        message = message_for(execution, channel)
        deliver_messages([message])
        [again] = deliver_messages([message])
    assert (again.status, again.error_kind) == ("failed", "permanent")
    assert len(receiver.requests) == 1


def test_410_disables_the_channel_and_tells_the_owner(alice, execution) -> None:
    with http_receiver(status=410) as receiver:
        channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        deliver_messages([message_for(execution, channel)])
    channel.refresh_from_db()
    assert not channel.enabled
    assert "410" in channel.disabled_reason
    notice = InboxMessage.objects.get(owner=alice)
    assert "hook" in notice.title
    assert deliver_messages([message_for(execution, channel)])[0].status == "skipped"


def test_repeated_permanent_failures_disable_the_channel_at_the_limit(alice, settings) -> None:
    from taskhub.executions.models import Execution
    from tests.factories import active_periodic

    settings.CHANNEL_MAX_CONSECUTIVE_FAILURES = 3
    sub = active_periodic(alice)
    with http_receiver(status=400) as receiver:
        channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        for n in range(3):
            channel.refresh_from_db()
            assert channel.enabled
            run = Execution.objects.create(subscription=sub, fire_key=f"fire-{n}")
            deliver_messages([message_for(run, channel)])
    channel.refresh_from_db()
    assert (channel.enabled, channel.consecutive_failures) == (False, 3)
    assert InboxMessage.objects.filter(owner=alice).count() == 1


def test_secret_is_shown_at_creation_and_rotation_only(alice, api_for) -> None:
    api = api_for(alice)
    created = api.post(
        "/api/v1/channels/", {"kind": "webhook", "name": "h", "config": {"url": "https://example.com/h"}}, format="json"
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    channel_id = created.json()["id"]
    assert "secret" not in api.get(f"/api/v1/channels/{channel_id}/").json()
    assert all("secret" not in c for c in api.get("/api/v1/channels/").json()["results"])
    rotated = api.post(f"/api/v1/channels/{channel_id}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != secret


def test_rotating_another_users_channel_is_a_404(alice, bob, api_for) -> None:
    bobs = channel_create(owner=bob, kind="webhook", name="h", config={"url": "https://example.com/h"})
    assert api_for(alice).post(f"/api/v1/channels/{bobs.pk}/rotate-secret/").status_code == 404


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "not a url", "http://", ""])
def test_invalid_webhook_url_is_a_400_naming_config_url(alice, api_for, url) -> None:
    response = api_for(alice).post(
        "/api/v1/channels/", {"kind": "webhook", "name": "h", "config": {"url": url}}, format="json"
    )
    assert response.status_code == 400
    assert "config.url" in response.json()["fields"]


def test_updating_a_webhook_to_a_bad_url_is_a_400(alice, api_for) -> None:
    channel = channel_create(owner=alice, kind="webhook", name="h", config={"url": "https://example.com/h"})
    response = api_for(alice).patch(f"/api/v1/channels/{channel.pk}/", {"config": {"url": "gopher://x"}}, format="json")
    assert response.status_code == 400
    assert "config.url" in response.json()["fields"]
