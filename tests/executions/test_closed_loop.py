"""The closed loop with real processes: beat, Celery workers, tool servers, PostgreSQL and Redis.

These are the invariant tests of ARCHITECTURE.md: effectively once under double
fires, worker crashes and a broker that loses its messages.
"""

from __future__ import annotations

import contextlib
import signal
import time
from datetime import timedelta

import psutil
import pytest
from django.core.management import call_command
from django.utils import timezone as djtz
from django_celery_beat.models import PeriodicTask

from agents.worker.tasks import fanout as fanout_task
from taskhub import queues
from taskhub.channels.models import Channel, InboxMessage
from taskhub.executions.fanout import fire_key
from taskhub.executions.models import Execution, ExecutionStatus, ScheduleFire
from taskhub.executions.reconciler import reconcile
from taskhub.subscriptions.models import Subscription
from taskhub.subscriptions.scheduling import bucket_name
from tests.factories import active_periodic
from tests.processes import celery_beat, celery_worker, process_env, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("tools_registry"),
    pytest.mark.processes,
]

FINISHED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)


def _finished() -> int:
    return Execution.objects.filter(status__in=FINISHED).count()


def test_a_subscription_confirmed_through_the_api_is_pushed_at_its_next_fire(
    alice, api_for, settings, tmp_path
) -> None:
    settings.SUBSCRIPTION_MIN_INTERVAL_S = 60  # this test cannot wait five minutes for a fire
    api = api_for(alice)
    created = api.post(
        "/api/v1/subscriptions/",
        {
            "kind": "periodic",
            "title": "Beijing weather",
            "tool": "current_weather",
            "arguments": {"city": "北京"},
            "cron": "* * * * *",
            "timezone": "Asia/Shanghai",
            "template": "{title}: {condition}, {temperature_c}°C",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    sub_id = created.json()["id"]
    assert api.post(f"/api/v1/subscriptions/{sub_id}/confirm/").status_code == 200

    env = process_env()
    with (
        celery_worker(env=env, log_path=tmp_path / "worker.log"),
        celery_beat(env=env, log_path=tmp_path / "beat.log"),
    ):
        wait_until(lambda: InboxMessage.objects.filter(owner=alice).exists(), timeout=100, what="the first push")

    message = InboxMessage.objects.filter(owner=alice).earliest("id")
    assert message.body.startswith("Beijing weather: ")
    assert message.body.endswith("°C")
    execution = Execution.objects.get(pk=message.execution_id)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.attempts == 1
    assert execution.started_at <= execution.finished_at
    assert execution.fire_key.endswith(":00+00:00")  # a whole minute: the nominal fire time
    assert execution.tool_snapshot["data"]["location"]["city"] == "Beijing"
    assert execution.meta["attempts"][0]["n"] == 1


def test_beat_stopped_across_two_fires_catches_up_the_latest_once_and_records_the_other_missed(
    alice, settings, tmp_path
) -> None:
    settings.SUBSCRIPTION_MIN_INTERVAL_S = 60
    if djtz.now().second > 40:  # keep the restart inside one minute: the assertions name exact fires
        time.sleep(61 - djtz.now().second)
    sub = active_periodic(alice, cron="* * * * *", timezone="UTC", catch_up_window_s=90)
    now = djtz.now().replace(second=0, microsecond=0)
    last_fire = now - timedelta(minutes=2)
    # What a beat stopped right after its fire at `last_fire` leaves behind; the fires at
    # now-1min and now pass while it is down.
    ScheduleFire.objects.create(schedule_id=sub.schedule_id, fire_at=last_fire, completed_at=last_fire)
    PeriodicTask.objects.filter(name=bucket_name(sub.schedule_id)).update(last_run_at=last_fire)

    env = process_env()
    with (
        celery_worker(env=env, log_path=tmp_path / "worker.log"),
        celery_beat(env=env, log_path=tmp_path / "beat.log"),
    ):
        wait_until(lambda: InboxMessage.objects.filter(owner=alice).exists(), timeout=60, what="the catch-up push")
        time.sleep(2)  # a replay of the missed fire would show now

    statuses = dict(Execution.objects.filter(subscription=sub).values_list("fire_key", "status"))
    assert statuses == {
        fire_key(now - timedelta(minutes=1)): ExecutionStatus.MISSED,
        fire_key(now): ExecutionStatus.SUCCEEDED,
    }
    assert InboxMessage.objects.filter(owner=alice).count() == 1


def _seed(n: int, *, cron: str = "*/5 * * * *") -> int:
    call_command("seed_demo", n=n, users=max(1, n // 100), distinct=50, cron=cron, timezone="UTC", prefix="loop")
    return Subscription.objects.values_list("schedule_id", flat=True).first()


def test_the_same_bucket_fired_twice_at_once_yields_one_execution_and_one_push_per_subscription(tmp_path) -> None:
    schedule_id = _seed(300)
    with celery_worker(concurrency=2, log_path=tmp_path / "worker.log"):
        route = queues.route(queues.DEFAULT)
        for _ in range(2):  # two beats of the same tick, taken by the two worker processes at once
            fanout_task.apply_async(kwargs={"schedule_id": schedule_id}, **route.options())
        wait_until(lambda: _finished() >= 300, timeout=120, what="300 executions")
        time.sleep(1)  # anything left over from the second fan-out would show now
    assert Execution.objects.count() == 300
    assert InboxMessage.objects.count() == 300
    assert InboxMessage.objects.values("subscription_id").distinct().count() == 300
    assert Execution.objects.filter(status=ExecutionStatus.SUCCEEDED).count() == 300


def _kill_tree(pid: int) -> None:
    parent = psutil.Process(pid)
    for proc in [*parent.children(recursive=True), parent]:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)


def _add_webhooks(receiver_url: str, owners: int) -> None:
    """Give the first ``owners`` users a webhook channel on every one of their subscriptions."""
    from taskhub.channels.services import channel_create

    through = Subscription.channels.through
    for owner_id in Subscription.objects.order_by("owner_id").values_list("owner_id", flat=True).distinct()[:owners]:
        channel = channel_create(
            owner=Channel.objects.filter(owner_id=owner_id).first().owner,
            kind="webhook",
            name="hook",
            config={"url": receiver_url},
        )
        through.objects.bulk_create(
            [
                through(subscription_id=sid, channel_id=channel.pk)
                for sid in Subscription.objects.filter(owner_id=owner_id).values_list("id", flat=True)
            ]
        )


def _drain_with_reconciler(total: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _finished() < total or Execution.objects.count() < total:
        if time.monotonic() > deadline:
            raise AssertionError(f"{_finished()}/{total} finished after {timeout:.0f} s")
        reconcile()
        time.sleep(1)


@pytest.fixture
def short_leases(settings):  # type: ignore[no-untyped-def]
    """Leases of a few seconds, so lost work is taken up again within the test."""
    settings.EXECUTION_LEASE_S = 4
    settings.FANOUT_LEASE_S = 4
    settings.CHANNEL_SENDING_LEASE_S = 4
    env = process_env(
        EXECUTION_LEASE_S="4", FANOUT_LEASE_S="4", CHANNEL_SENDING_LEASE_S="4", WEBHOOK_ALLOWED_HOSTS="127.0.0.1"
    )
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    return env


def test_a_worker_killed_in_the_middle_of_a_large_fan_out_loses_and_duplicates_nothing(
    short_leases, webhook_receiver, tmp_path
) -> None:
    total = 10_000
    schedule_id = _seed(total)
    _add_webhooks(webhook_receiver.url, owners=5)  # 500 subscriptions also push to a webhook
    hooked = Subscription.channels.through.objects.filter(channel__kind="webhook").count()

    with celery_worker(concurrency=2, env=short_leases, log_path=tmp_path / "first.log") as worker:
        fanout_task.apply_async(kwargs={"schedule_id": schedule_id}, **queues.route(queues.DEFAULT).options())
        wait_until(lambda: InboxMessage.objects.count() >= 1500, timeout=120, what="the first 1,500 pushes")
        _kill_tree(worker.pid)
        worker.wait()
    assert InboxMessage.objects.count() < total  # it really died in the middle

    with celery_worker(concurrency=2, env=short_leases, log_path=tmp_path / "second.log"):
        _drain_with_reconciler(total, timeout=240)

    assert InboxMessage.objects.count() == total
    assert InboxMessage.objects.values("subscription_id").distinct().count() == total
    assert webhook_receiver.distinct_ids() == hooked
    assert Execution.objects.count() == total


def test_redis_flushed_in_the_middle_of_a_fan_out_loses_and_duplicates_nothing(
    short_leases, redis_db, tmp_path
) -> None:
    total = 3_000
    schedule_id = _seed(total)
    with celery_worker(concurrency=2, env=short_leases, log_path=tmp_path / "worker.log"):
        fanout_task.apply_async(kwargs={"schedule_id": schedule_id}, **queues.route(queues.DEFAULT).options())
        wait_until(lambda: InboxMessage.objects.count() >= 300, timeout=120, what="the first 300 pushes")
        redis_db.flushdb()  # the broker forgets every queued message (no persistence)
        _drain_with_reconciler(total, timeout=240)

    assert InboxMessage.objects.count() == total
    assert InboxMessage.objects.values("subscription_id").distinct().count() == total
    assert Execution.objects.count() == total


class _CountingReceiver:
    def __init__(self, receiver) -> None:  # type: ignore[no-untyped-def]
        self._receiver = receiver
        self.url = receiver.url

    def distinct_ids(self) -> int:
        return len({r.headers.get("webhook-id") for r in list(self._receiver.requests)})


@pytest.fixture
def webhook_receiver():  # type: ignore[no-untyped-def]
    """A loopback HTTP receiver that records every webhook (distinct by webhook-id)."""
    from tests.channels.receivers import http_receiver

    with http_receiver() as receiver:
        yield _CountingReceiver(receiver)
