from __future__ import annotations

import pytest

from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.models import Channel
from taskhub.channels.services import channel_create
from tests.channels.conftest import message_for
from tests.channels.receivers import http_receiver

pytestmark = pytest.mark.django_db


def test_apprise_notifies_a_json_receiver_on_loopback(alice, execution) -> None:
    with http_receiver(status=200) as receiver:
        url = f"json://127.0.0.1:{receiver.port}/notify"
        channel = channel_create(owner=alice, kind="apprise", name="ntfy", config={"url": url})
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert outcome.status == "sent"
    [request] = receiver.requests
    assert request.json()["title"] == "Beijing weather"
    assert "Sunny" in request.json()["message"]


def test_an_apprise_failure_is_temporary_and_does_not_count_towards_disabling(alice, execution) -> None:
    with http_receiver(status=500) as receiver:
        url = f"json://127.0.0.1:{receiver.port}/notify"
        channel = channel_create(owner=alice, kind="apprise", name="ntfy", config={"url": url})
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert (outcome.status, outcome.error_kind) == ("failed", "temporary")
    assert Channel.objects.get(pk=channel.pk).consecutive_failures == 0


def test_an_url_apprise_cannot_use_is_a_400_naming_config_url(alice, api_for) -> None:
    response = api_for(alice).post(
        "/api/v1/channels/", {"kind": "apprise", "name": "a", "config": {"url": "nope://x"}}, format="json"
    )
    assert response.status_code == 400
    assert "config.url" in response.json()["fields"]
