"""deliver_pushes: a batch of executions' messages on every enabled channel of their subscriptions.

On PostgreSQL inbox pushes are stored by one set-based statement and everything
else goes through ``deliver_messages``; on SQLite all of it does. Either way an
inbox push is stored without a ledger row. The assertions hold for both.
"""

from __future__ import annotations

import json
from datetime import time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taskhub.channels.dispatch.pushes import Push, deliver_pushes
from taskhub.channels.inbox import InboxItem, feed_channel, inbox_write
from taskhub.channels.models import Delivery, InboxMessage, NotificationPreferences, delivery_key
from taskhub.channels.services import channel_create, inbox_channel_for
from taskhub.core.redis import get_redis
from taskhub.executions.models import Execution
from tests.channels.receivers import http_receiver
from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

TITLE, BODY, DATA = "Beijing weather", "Sunny, 21°C", {"tool": "current_weather", "result": {"temperature_c": 21}}


def _pushes(*owners, urgent: bool = False) -> list[Push]:  # type: ignore[no-untyped-def]
    """One execution per owner's new subscription, all with the same (shared) message, as one render gives."""
    pushes = []
    for owner in owners:
        sub = active_periodic(owner)
        run = Execution.objects.create(subscription=sub, fire_key="2026-01-01T00:00:00+00:00")
        pushes.append(Push([run.pk], [sub.pk], run.fire_key, TITLE, BODY, urgent, DATA))
    return pushes


def test_inbox_and_webhook_each_get_one_push_however_often_the_batch_is_delivered(alice, bob, settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1/32"]
    pushes = _pushes(alice, bob)
    with http_receiver() as receiver:
        hook = channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url})
        Execution.objects.get(pk=pushes[0].execution_ids[0]).subscription.channels.add(hook)

        assert deliver_pushes(pushes) == []
        assert deliver_pushes(pushes) == []  # a redelivered batch: nothing new anywhere

    stored = {m.owner_id: m for m in InboxMessage.objects.all()}
    assert set(stored) == {alice.pk, bob.pk}
    assert (stored[bob.pk].title, stored[bob.pk].body, stored[bob.pk].data) == (TITLE, BODY, DATA)
    assert stored[alice.pk].key == delivery_key(
        subscription_id=pushes[0].subscription_ids[0],
        fire_key=pushes[0].fire_key,
        channel_id=inbox_channel_for(alice).pk,
    )
    assert [json.loads(r.body)["data"]["data"] for r in receiver.requests] == [DATA]
    # The inbox is its own ledger; the webhook's push has a ledger row.
    assert list(Delivery.objects.values_list("channel__kind", "status")) == [("webhook", "sent")]


def test_a_push_stored_by_the_batch_is_not_stored_again_by_the_fallback_nor_a_notice_twice(alice) -> None:
    [push] = _pushes(alice)
    deliver_pushes([push])
    inbox = inbox_channel_for(alice)
    key = delivery_key(subscription_id=push.subscription_ids[0], fire_key=push.fire_key, channel_id=inbox.pk)
    again = InboxItem(alice.pk, key, TITLE, BODY, execution_id=push.execution_ids[0], channel_id=inbox.pk)
    notice = InboxItem(alice.pk, "notice:x", "Channel 'hook' was disabled")

    # The push again (the per-message path, after the set-based one) and a notice twice, in one statement.
    assert inbox_write([again, notice, notice]) == {"notice:x"}
    assert inbox_write([notice]) == set()
    assert sorted(InboxMessage.objects.values_list("key", "execution_id")) == [
        (key, push.execution_ids[0]),
        ("notice:x", None),
    ]


def test_one_push_for_a_lot_of_executions_reaches_each_of_them_under_its_own_key(alice, bob) -> None:
    runs = [push for owner in (alice, bob, alice) for push in _pushes(owner)]
    lot = Push(
        [p.execution_ids[0] for p in runs],
        [p.subscription_ids[0] for p in runs],
        runs[0].fire_key,
        TITLE,
        BODY,
        False,
        DATA,
    )
    assert deliver_pushes([lot]) == []
    assert deliver_pushes([lot]) == []  # redelivered: nothing new
    stored = InboxMessage.objects.order_by("execution_id")
    assert [(m.execution_id, m.owner_id) for m in stored] == [
        (p.execution_ids[0], owner.pk) for p, owner in zip(runs, (alice, bob, alice), strict=True)
    ]
    assert {m.key for m in stored} == {
        delivery_key(subscription_id=p.subscription_ids[0], fire_key=p.fire_key, channel_id=inbox_channel_for(o).pk)
        for p, o in zip(runs, (alice, bob, alice), strict=True)
    }
    assert not Delivery.objects.exists()  # the inbox's unique key is its ledger


def test_a_disabled_channel_gets_nothing_and_no_ledger_row(alice, bob) -> None:
    pushes = _pushes(alice, bob)
    channel = inbox_channel_for(bob)
    channel.enabled = False
    channel.save()
    assert deliver_pushes(pushes) == []
    assert list(InboxMessage.objects.values_list("owner_id", flat=True)) == [alice.pk]
    assert not Delivery.objects.exists()


@time_machine.travel("2026-03-01T15:00:00Z", tick=False)  # 23:00 in Shanghai
def test_an_owner_in_quiet_hours_is_held_and_an_urgent_push_goes_through(alice, bob) -> None:
    for owner in (alice, bob):
        NotificationPreferences.objects.create(
            owner=owner, quiet_start=time(22), quiet_end=time(7), timezone="Asia/Shanghai"
        )
    calm, urgent = _pushes(alice)[0], _pushes(bob, urgent=True)[0]
    assert deliver_pushes([calm, urgent]) == []
    assert list(InboxMessage.objects.values_list("owner_id", flat=True)) == [bob.pk]
    assert Delivery.objects.get(execution_id=calm.execution_ids[0]).status == "held"


def test_an_owner_with_a_stream_open_hears_each_stored_push(alice, bob, django_capture_on_commit_callbacks) -> None:
    listener = get_redis().pubsub()
    listener.subscribe(feed_channel(alice.pk))
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    try:
        pushes = _pushes(alice, bob, alice)
        with django_capture_on_commit_callbacks(execute=True):  # announced once committed
            deliver_pushes(pushes)
        heard = [listener.get_message(timeout=2) for _ in range(2)]
        assert listener.get_message(timeout=0.2) is None  # bob's push is not on alice's feed
    finally:
        listener.close()
    events = [json.loads(message["data"]) for message in heard]
    assert sorted(e["execution"] for e in events) == sorted([pushes[0].execution_ids[0], pushes[2].execution_ids[0]])
    assert {(e["title"], e["body"], e["read_at"]) for e in events} == {(TITLE, BODY, None)}
    assert {e["id"] for e in events} == set(InboxMessage.objects.filter(owner=alice).values_list("id", flat=True))


def test_a_batch_costs_the_same_queries_whatever_its_size(django_user_model) -> None:
    def queries_for(n: int) -> int:
        users = django_user_model.objects.bulk_create([django_user_model(username=f"u{n}-{i}") for i in range(n)])
        pushes = _pushes(*users)
        with CaptureQueriesContext(connection) as captured:
            assert deliver_pushes(pushes) == []
        assert InboxMessage.objects.filter(owner__in=users).count() == n
        return len(captured)

    assert queries_for(3) == queries_for(60)
