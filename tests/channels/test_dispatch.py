from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.worker.channel_tasks import release_held
from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.inbox import feed_channel
from taskhub.channels.models import Delivery, InboxMessage, NotificationPreferences
from taskhub.channels.services import channel_create, inbox_channel_for
from taskhub.core.redis import get_redis
from taskhub.executions.models import Execution
from tests.channels.conftest import message_for
from tests.channels.receivers import http_receiver
from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def test_inbox_fan_out_costs_a_fixed_number_of_queries(django_user_model) -> None:
    users = django_user_model.objects.bulk_create([django_user_model(username=f"u{i}") for i in range(300)])
    messages = []
    for user in users:
        sub = active_periodic(user)
        run = Execution.objects.create(subscription=sub, fire_key="f")
        messages.append(message_for(run, inbox_channel_for(user)))
    with CaptureQueriesContext(connection) as queries:
        outcomes = deliver_messages(messages)
    assert {o.status for o in outcomes} == {"sent"}
    assert InboxMessage.objects.count() == 300
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]


def test_an_inbox_push_is_stored_once_without_a_ledger_row(alice, execution) -> None:
    message = message_for(execution, inbox_channel_for(alice))
    with CaptureQueriesContext(connection) as queries:
        assert deliver_messages([message])[0].status == "sent"
    assert InboxMessage.objects.get().key == message.key
    # The inbox's unique key is its ledger: no Delivery row is written, nor claimed.
    assert not Delivery.objects.exists()
    assert not [q for q in queries if '"channels_delivery"' in q["sql"] and not q["sql"].startswith("SELECT")]


def test_delivering_the_same_message_again_is_a_duplicate_and_sends_nothing(alice, execution) -> None:
    message = message_for(execution, inbox_channel_for(alice))
    assert deliver_messages([message])[0].status == "sent"
    assert [o.status for o in deliver_messages([message, message])] == ["duplicate", "duplicate"]
    assert InboxMessage.objects.count() == 1


def test_a_message_delivered_again_is_not_announced_again(alice, execution, django_capture_on_commit_callbacks) -> None:
    listener = get_redis().pubsub()
    listener.subscribe(feed_channel(alice.pk))
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    message = message_for(execution, inbox_channel_for(alice))
    try:
        with django_capture_on_commit_callbacks(execute=True):  # announced once committed
            assert deliver_messages([message])[0].status == "sent"
            assert deliver_messages([message])[0].status == "duplicate"
        heard = listener.get_message(timeout=2)
        assert listener.get_message(timeout=0.5) is None  # the repeat pinged nobody
    finally:
        listener.close()
    assert json.loads(heard["data"])["id"] == InboxMessage.objects.get().pk


def test_the_same_message_twice_in_one_call_is_sent_once(alice, execution) -> None:
    message = message_for(execution, inbox_channel_for(alice))
    assert [o.status for o in deliver_messages([message, message])] == ["sent", "duplicate"]
    assert InboxMessage.objects.count() == 1


def test_a_disabled_channel_is_skipped_without_a_ledger_row(alice, execution) -> None:
    channel = channel_create(owner=alice, kind="email", name="mail", config={"to": "a@example.com"}, enabled=False)
    assert deliver_messages([message_for(execution, channel)])[0].status == "skipped"
    assert not Delivery.objects.exists()


def test_a_kind_switched_off_by_setting_is_skipped(alice, execution, settings) -> None:
    channel = channel_create(owner=alice, kind="email", name="mail", config={"to": "a@example.com"})
    settings.CHANNELS_ENABLED = ["inbox"]
    assert deliver_messages([message_for(execution, channel)])[0].status == "skipped"


def _stuck_in_sending(execution, message) -> None:  # type: ignore[no-untyped-def]
    """The ledger row of ``message`` as a worker that crashed mid-send a day ago left it."""
    Delivery.objects.create(
        execution=execution,
        channel_id=message.channel_id,
        idempotency_key=message.key,
        status="sending",
        claimed_at=timezone.now() - timedelta(days=1),
    )


def test_a_delivery_stuck_in_sending_is_not_resent_by_a_channel_that_cannot_dedupe(alice, execution) -> None:
    channel = channel_create(owner=alice, kind="email", name="mail", config={"to": "a@example.com"})
    message = message_for(execution, channel)
    _stuck_in_sending(execution, message)
    outcome = deliver_messages([message])[0]  # no SMTP connection is even attempted
    assert (outcome.status, outcome.error_kind) == ("failed", "temporary")  # look again later, never re-send


def test_an_inbox_delivery_stuck_in_sending_is_resent_once_and_stored_once(alice, execution) -> None:
    message = message_for(execution, inbox_channel_for(alice))
    deliver_messages([message])
    # The push went the claiming way (its direct write had failed) and the worker crashed
    # after the inbox row was written but before the ledger recorded it:
    _stuck_in_sending(execution, message)
    assert deliver_messages([message])[0].status == "sent"
    assert Delivery.objects.get().status == "sent"
    assert InboxMessage.objects.count() == 1  # the inbox dedupes on the delivery key


def test_a_webhook_stuck_in_sending_past_its_lease_is_resent_with_the_same_id(alice, execution, settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1/32"]
    with http_receiver() as receiver:
        channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        message = message_for(execution, channel)
        stuck = Delivery.objects.create(
            execution=execution,
            channel=channel,
            idempotency_key=message.key,
            status="sending",
            claimed_at=timezone.now(),
        )
        # inside the lease someone may be sending: not delivered yet, look again later
        assert deliver_messages([message])[0].status == "failed"
        Delivery.objects.filter(pk=stuck.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
        assert deliver_messages([message])[0].status == "sent"
    assert [r.headers["webhook-id"] for r in receiver.requests] == [message.key]


def _quiet(owner, start: str = "22:00", end: str = "07:00", tz: str = "Asia/Shanghai") -> None:  # type: ignore[no-untyped-def]
    NotificationPreferences.objects.create(
        owner=owner, quiet_start=time.fromisoformat(start), quiet_end=time.fromisoformat(end), timezone=tz
    )


@time_machine.travel("2026-03-01T15:00:00Z", tick=False)  # 23:00 in Shanghai
def test_non_urgent_pushes_are_held_in_quiet_hours_and_released_after(alice, execution) -> None:
    _quiet(alice)
    message = message_for(execution, inbox_channel_for(alice))
    assert deliver_messages([message])[0].status == "held"
    assert deliver_messages([message])[0].status == "held"
    assert release_held() == 0  # still quiet
    assert not InboxMessage.objects.exists()
    with time_machine.travel("2026-03-01T23:30:00Z", tick=False):  # 07:30 in Shanghai
        assert release_held() == 1
    assert InboxMessage.objects.get().title == message.title
    assert Delivery.objects.get().status == "sent"
    assert release_held() == 0


@time_machine.travel("2026-03-01T15:00:00Z", tick=False)
def test_urgent_pushes_go_through_quiet_hours(alice, execution) -> None:
    _quiet(alice)
    message = message_for(execution, inbox_channel_for(alice), urgent=True)
    assert deliver_messages([message])[0].status == "sent"


@pytest.mark.parametrize(
    ("now", "quiet"),
    [("2026-03-01T13:59:00Z", False), ("2026-03-01T14:00:00Z", True), ("2026-03-01T22:59:00Z", True)],
)
def test_quiet_hours_span_midnight_in_the_users_time_zone(alice, execution, now, quiet) -> None:
    _quiet(alice)
    with time_machine.travel(now, tick=False):
        status = deliver_messages([message_for(execution, inbox_channel_for(alice))])[0].status
    assert status == ("held" if quiet else "sent")


def test_preferences_api_reads_and_writes_quiet_hours(alice, api_for) -> None:
    api = api_for(alice)
    assert api.get("/api/v1/me/preferences/").json() == {"quiet_start": None, "quiet_end": None, "timezone": "UTC"}
    body = {"quiet_start": "22:00", "quiet_end": "07:00", "timezone": "Asia/Shanghai"}
    assert api.put("/api/v1/me/preferences/", body, format="json").json() == body
    assert NotificationPreferences.objects.get(owner=alice).quiet_end == time(7, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"quiet_end": "25:00"}, "quiet_end"),
    ],
)
def test_bad_preferences_are_a_400_naming_the_field(alice, api_for, body, field) -> None:
    response = api_for(alice).put("/api/v1/me/preferences/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
