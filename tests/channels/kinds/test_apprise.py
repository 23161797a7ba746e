from __future__ import annotations

import pytest

from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.models import Channel
from taskhub.channels.services import channel_create
from taskhub.core.errors import InvalidInput
from tests.channels.conftest import message_for
from tests.channels.receivers import http_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):  # type: ignore[no-untyped-def]
    """The receivers of these tests listen on loopback, which only the allow-list lets through."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


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


@pytest.mark.parametrize("url", ["json://127.0.0.2:9/notify", "gotify://10.1.2.3/token", "xml://169.254.169.254/x"])
def test_an_apprise_url_to_a_private_host_is_refused_at_creation(alice, settings, url) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(InvalidInput) as refused:
        channel_create(owner=alice, kind="apprise", name="inside", config={"url": url})
    assert "config.url" in refused.value.fields


def test_an_apprise_channel_to_loopback_is_refused_at_delivery_without_a_connection(alice, execution, settings) -> None:
    from tests.channels.receivers import canary

    settings.WEBHOOK_ALLOWED_HOSTS = []
    with canary() as watch:
        # stored behind the API's back (or before this check existed): the send is refused all the same
        url = f"json://127.0.0.1:{watch.port}/notify"
        channel = Channel.objects.create(owner=alice, kind="apprise", name="inside", config={"url": url})
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert (outcome.status, outcome.error_kind) == ("failed", "permanent")
    assert watch.connections == 0


def test_fixed_address_services_are_not_vetted_as_hosts(alice, settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []
    channel = channel_create(owner=alice, kind="apprise", name="tg", config={"url": "tgram://123456:ABCdef/12345"})
    assert channel.config["url"].startswith("tgram://")
