from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from rest_framework.authtoken.models import Token

from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.inbox import feed_channel
from taskhub.channels.models import Channel, Delivery, InboxMessage
from taskhub.channels.services import channel_create, inbox_channel_for
from taskhub.core.redis import get_redis
from taskhub.executions.models import Execution
from taskhub.subscriptions.models import Subscription
from tests.channels.conftest import message_for
from tests.factories import active_periodic
from tests.processes import ROOT, free_port, process_env

pytestmark = pytest.mark.usefixtures("tools_registry")


def _deliver(owner, n: int = 1, also_to: Channel | None = None, **overrides) -> None:  # type: ignore[no-untyped-def]
    sub = active_periodic(owner)
    runs = [Execution.objects.create(subscription=sub, fire_key=f"f{i}") for i in range(n)]
    channels = [inbox_channel_for(owner), *([also_to] if also_to else [])]
    deliver_messages([message_for(run, channel, **overrides) for run in runs for channel in channels])


@pytest.mark.django_db
def test_inbox_lists_own_messages_newest_first_and_filters_unread(alice, bob, api_for) -> None:
    _deliver(alice, 3)
    _deliver(bob, 1)
    api = api_for(alice)
    listed = api.get("/api/v1/inbox/").json()["results"]
    assert len(listed) == 3
    assert listed[0]["id"] > listed[-1]["id"]
    assert api.post(f"/api/v1/inbox/{listed[0]['id']}/read/").json()["read_at"] is not None
    assert len(api.get("/api/v1/inbox/?unread=true").json()["results"]) == 2
    assert len(api.get("/api/v1/inbox/?unread=false").json()["results"]) == 1
    assert api.post("/api/v1/inbox/read-all/").json() == {"marked": 2}
    assert api.get("/api/v1/inbox/?unread=true").json()["results"] == []


@pytest.mark.django_db
def test_another_users_inbox_message_is_a_404(alice, bob, api_for) -> None:
    _deliver(bob)
    bobs = api_for(bob).get("/api/v1/inbox/").json()["results"][0]["id"]
    assert api_for(alice).get(f"/api/v1/inbox/{bobs}/").status_code == 404
    assert api_for(alice).post(f"/api/v1/inbox/{bobs}/read/").status_code == 404
    assert api_for(alice).post("/api/v1/inbox/read-all/").json() == {"marked": 0}


@pytest.mark.django_db
def test_messages_outlive_the_subscription_that_sent_them(alice, api_for) -> None:
    _deliver(alice)
    api = api_for(alice)
    [message] = api.get("/api/v1/inbox/").json()["results"]
    assert api.delete(f"/api/v1/subscriptions/{message['subscription']}/").status_code == 204
    # The inbox is the user's archive: the message stays as it was, naming where it came from.
    assert api.get("/api/v1/inbox/").json()["results"] == [message]


@pytest.mark.django_db
def test_deleting_a_subscription_a_channel_or_a_user_takes_what_hangs_on_it(alice, api_for) -> None:
    # The ledger, the executions and the inbox name their rows without database constraints:
    # the ORM's cascade is what removes them, through the same calls a user or the admin makes.
    # Each run pushes to the inbox (its own ledger) and by email (a ledger row each).
    mail = channel_create(owner=alice, kind="email", name="mail", config={"to": "a@example.com"})
    _deliver(alice, 2, also_to=mail)
    _deliver(alice, 1, also_to=mail)
    assert Delivery.objects.count() == 3
    first, second = Subscription.objects.filter(owner=alice).order_by("id")
    api = api_for(alice)
    assert api.delete(f"/api/v1/subscriptions/{first.pk}/").status_code == 204
    assert not Execution.objects.filter(subscription_id=first.pk).exists()
    assert Delivery.objects.filter(execution__subscription=second).count() == 1
    assert Delivery.objects.count() == 1

    assert api.delete(f"/api/v1/channels/{mail.pk}/").status_code == 204
    assert not Delivery.objects.exists()
    assert Execution.objects.filter(subscription=second).count() == 1
    assert InboxMessage.objects.filter(owner=alice).count() == 3

    alice.delete()  # as the admin does
    assert not InboxMessage.objects.exists()
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_a_bad_unread_filter_is_a_400(alice, api_for) -> None:
    response = api_for(alice).get("/api/v1/inbox/?unread=maybe")
    assert response.status_code == 400
    assert "unread" in response.json()["fields"]


@contextlib.contextmanager
def uvicorn_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "taskhub.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=process_env(INBOX_STREAM_KEEPALIVE_S="0.3", LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{base}/healthz", timeout=1)
                break
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.processes
@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_the_live_stream_shows_a_delivered_message_within_a_second(alice, bob) -> None:
    token = Token.objects.create(user=alice).key
    with uvicorn_server() as base:
        assert requests.get(f"{base}/api/v1/inbox/stream/", timeout=5).status_code == 401
        response = requests.get(
            f"{base}/api/v1/inbox/stream/", headers={"Authorization": f"Token {token}"}, stream=True, timeout=5
        )
        assert response.headers["Content-Type"].startswith("text/event-stream")
        lines = response.iter_lines(decode_unicode=True)
        assert next(lines) == ": connected"  # subscribed: from now on nothing is missed
        _deliver(bob, title="for bob")  # another user's push never shows up here
        sent_at = time.monotonic()
        _deliver(alice, title="for alice")
        seen = []
        for line in lines:
            seen.append(line)
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                break
        elapsed = time.monotonic() - sent_at
        response.close()
    assert event["title"] == "for alice"
    assert elapsed < 1.0
    assert "event: message" in seen


@pytest.mark.processes
@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_the_live_stream_sends_keep_alive_comments(alice) -> None:
    token = Token.objects.create(user=alice).key
    with uvicorn_server() as base:
        response = requests.get(
            f"{base}/api/v1/inbox/stream/", headers={"Authorization": f"Token {token}"}, stream=True, timeout=5
        )
        lines = response.iter_lines(decode_unicode=True)
        assert next(lines) == ": connected"
        assert next(line for line in lines if line) == ": keep-alive"
        response.close()


@pytest.mark.django_db(transaction=True)
def test_the_live_feed_is_heard_only_in_this_deployments_redis_database(alice, settings) -> None:
    listener = get_redis().pubsub()
    listener.subscribe(feed_channel(alice.pk))
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    ours = settings.REDIS_URL
    db = get_redis().connection_pool.connection_kwargs.get("db", 0)

    # Another deployment on the same Redis server, in its own database, with a user of the same id.
    settings.REDIS_URL = ours.rsplit("/", 1)[0] + f"/{(db + 1) % 16}"
    _deliver(alice, title="another deployment's")
    settings.REDIS_URL = ours
    _deliver(alice, title="ours")

    heard = listener.get_message(timeout=2)
    assert heard is not None
    assert json.loads(heard["data"])["title"] == "ours"
    listener.close()
