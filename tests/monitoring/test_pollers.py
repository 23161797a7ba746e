"""Pollers through the real gateway and tool server; alerts through the real runner and inbox."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from taskhub.channels.models import InboxMessage
from taskhub.core.errors import TaskHubError
from taskhub.executions.models import Execution, ExecutionStatus
from taskhub.monitoring import pollers
from taskhub.monitoring.matching import event_match
from taskhub.monitoring.models import MATCH_LEASE, Event, MonitorKey, PollOutcome
from taskhub.monitoring.services import NewEvent, events_record
from taskhub.subscriptions.states import Status
from tests.batches import run_waiting
from tests.broker import queued
from tests.monitoring.helpers import SHANGHAI_92, START, monitor
from tools import gateway
from tools.gateway import services
from tools.servers import faults

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def _match_all() -> int:
    return sum(
        event_match(event_id=pk).alerts
        for pk in Event.objects.filter(done_at=None).order_by("pk").values_list("pk", flat=True)
    )


def _deliver(capture) -> None:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        run_waiting()


def test_a_poll_calls_each_watched_tool_call_once_and_alerts_through_the_pipeline(
    alice, bob, django_capture_on_commit_callbacks
) -> None:
    below_8 = monitor(alice, condition={"field": "price", "op": "lt", "value": 8})  # offline Shanghai 92: 7.95
    monitor(bob, condition={"field": "price", "op": "lt", "value": 7})
    monitor(bob, condition={"field": "prices.95", "op": "gt", "value": 100})
    assert pollers.poll_due() == 1
    assert faults.call_count("fuel") == 1  # three monitors, one tool call
    assert pollers.poll_due() == 0  # not due again before its interval
    assert _match_all() == 1
    _deliver(django_capture_on_commit_callbacks)
    execution = Execution.objects.get()
    assert (execution.subscription_id, execution.status) == (below_8.pk, ExecutionStatus.SUCCEEDED)
    message = InboxMessage.objects.get(owner=alice)
    assert message.body.startswith("Shanghai 92 below 7: price is 7.95 (price < 8; before: unknown), observed ")
    assert message.body.endswith("Asia/Shanghai")
    assert faults.call_count("fuel") == 1  # the alert used the event's data: no second call


def test_a_key_is_polled_again_once_its_tightest_interval_has_passed(alice, bob, settings) -> None:
    settings.MONITOR_MIN_INTERVAL_S = 60
    monitor(alice, interval_s=600)
    monitor(bob, interval_s=120)
    state = MonitorKey.objects.get()
    assert state.interval_s == 120
    now = timezone.now()
    assert pollers.poll_due(now=now) == 1
    assert pollers.poll_due(now=now + timedelta(seconds=119)) == 0
    assert MonitorKey.objects.get().next_poll_at == now + timedelta(seconds=120)
    pollers.poll_due(now=now + timedelta(seconds=121))
    assert MonitorKey.objects.get().next_poll_at == now + timedelta(seconds=241)


def test_an_override_seen_by_an_uncached_poll_alerts_at_once(alice, django_capture_on_commit_callbacks) -> None:
    sub = monitor(alice)
    pollers.poll_due()
    services.fuel_override_set(region="上海", grade="92", price=6.9)
    state = MonitorKey.objects.get()
    assert pollers.poll_keys(keys=[state.key], fresh=False) == 0  # the cached 7.95 is no news
    assert pollers.poll_keys(keys=[state.key], fresh=True) == 1
    assert _match_all() == 1
    _deliver(django_capture_on_commit_callbacks)
    body = InboxMessage.objects.get(subscription_id=sub.pk).body
    assert "price is 6.9 (price < 7; before: 7.95)" in body


def test_a_fuel_override_requests_an_uncached_poll_of_the_watched_calls_in_its_province(alice, bob, redis_db) -> None:
    shanghai = monitor(alice)
    monitor(bob, arguments={"region": "Beijing", "grade": "92"})
    services.fuel_override_set(region="上海", grade="92", price=6.9)
    assert queued(redis_db, "taskhub.monitoring.poll_keys") == [[[shanghai.monitor.key]]]
    assert faults.call_count("fuel") == 0  # requested, not yet polled


def test_stale_data_is_recorded_as_stale_and_never_alerts_while_no_data_is_an_error(alice, bob) -> None:
    # The cache holds Shanghai's 6.9 (fetched for someone else), then the fuel server fails and its circuit opens.
    services.fuel_override_set(region="Shanghai", grade="92", price=6.9)
    assert gateway.call("fuel_price", {"region": "Shanghai", "grade": "92"}).data["price"] == 6.9
    shanghai = monitor(alice)
    beijing = monitor(bob, arguments={"region": "Beijing", "grade": "92"})  # nothing cached
    faults.set_fault("fuel", "temporary")
    answers = []
    for _ in range(6):
        try:
            answers.append(gateway.call("fuel_price", {"region": "Shanghai", "grade": "92"}, max_age_s=0).status)
        except TaskHubError as exc:  # the failures that open the circuit
            answers.append(type(exc).__name__)
    assert answers[-1] == "stale"
    assert pollers.poll_keys(keys=[shanghai.monitor.key, beijing.monitor.key], fresh=True) == 0
    outcomes = dict(MonitorKey.objects.values_list("key", "last_poll_outcome"))
    assert outcomes == {shanghai.monitor.key: PollOutcome.STALE, beijing.monitor.key: PollOutcome.ERROR}
    assert not Event.objects.exists()  # 6.9 < 7, but old data never alerts
    assert not Execution.objects.exists()
    faults.clear_fault("fuel")
    time.sleep(1.1)  # the breaker's reset timeout (breaker_reset_s=1): the next call tries the server again
    assert pollers.poll_keys(keys=[shanghai.monitor.key], fresh=True) == 1
    assert MonitorKey.objects.get(pk=shanghai.monitor.key).last_poll_outcome == PollOutcome.FRESH


def test_an_unfinished_event_is_matched_again_once_per_expired_lease(redis_db) -> None:
    # Recorded, but its match message is lost (this test's transaction never commits, so it is never sent).
    [event_id] = events_record(
        [NewEvent("test", "e-1", "fuel_price", dict(SHANGHAI_92), {"price": 7.5}, observed_at=START)]
    )
    lease = Event.objects.get().match_lease_until

    def resent() -> list[list[int]]:
        return queued(redis_db, "taskhub.monitoring.match_event")

    pollers.poll_due(now=lease - timedelta(seconds=10))
    pollers.poll_due(now=lease - timedelta(seconds=1))
    assert resent() == []  # the first message may still be at work
    pollers.poll_due(now=lease + timedelta(seconds=1))
    assert resent() == [[event_id]]
    pollers.poll_due(now=lease + timedelta(seconds=11))  # the next tick: the message just sent holds the lease
    pollers.poll_due(now=lease + MATCH_LEASE)
    assert resent() == [[event_id]]
    pollers.poll_due(now=lease + MATCH_LEASE + timedelta(seconds=2))
    assert resent() == [[event_id], [event_id]]
    event_match(event_id=event_id)
    pollers.poll_due(now=lease + 3 * MATCH_LEASE)
    assert len(resent()) == 2  # done: never again


def test_alert_once_completes_the_subscription_after_its_alert_is_delivered(
    alice, django_capture_on_commit_callbacks
) -> None:
    sub = monitor(alice, alert_once=True)
    services.fuel_override_set(region="Shanghai", grade="92", price=6.9)
    pollers.poll_due()
    assert _match_all() == 1
    _deliver(django_capture_on_commit_callbacks)
    sub.refresh_from_db()
    assert sub.status == Status.COMPLETED
    assert MonitorKey.objects.get().monitors == 0


def test_a_watched_call_made_invalid_is_a_poll_error_and_the_other_keys_are_still_polled(alice, bob) -> None:
    below_8 = {"field": "price", "op": "lt", "value": 8}
    valid = monitor(alice, condition=below_8)
    broken = monitor(bob, arguments={**SHANGHAI_92, "region": "Beijing"}, condition=below_8)
    # A schema change made the stored arguments invalid after the monitor was created.
    MonitorKey.objects.filter(pk=broken.monitor.key).update(arguments={"region": 5})

    assert pollers.poll_due() == 1  # the valid key's event
    outcomes = dict(MonitorKey.objects.values_list("key", "last_poll_outcome"))
    assert outcomes == {valid.monitor.key: PollOutcome.FRESH, broken.monitor.key: PollOutcome.ERROR}
