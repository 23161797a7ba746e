from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from taskhub.executions.fanout import fanout
from taskhub.executions.models import Execution, ExecutionStatus, ScheduleFire
from taskhub.executions.reconciler import reconcile
from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def _messages(redis_db) -> int:  # type: ignore[no-untyped-def]
    return sum(redis_db.llen(k) for k in redis_db.keys("default*"))


def test_in_flight_executions_past_their_lease_are_enqueued_again_once(
    alice, redis_db, django_capture_on_commit_callbacks
) -> None:
    sub = active_periodic(alice)
    now = timezone.now()
    lost = Execution.objects.create(
        subscription=sub, fire_key="a", status=ExecutionStatus.QUEUED, lease_expires_at=now - timedelta(seconds=1)
    )
    Execution.objects.create(  # still within its lease: a worker may be on it
        subscription=sub, fire_key="b", status=ExecutionStatus.RUNNING, lease_expires_at=now + timedelta(minutes=5)
    )
    Execution.objects.create(subscription=sub, fire_key="c", status=ExecutionStatus.SUCCEEDED)

    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile(now=now) == 1
        assert reconcile(now=now + timedelta(seconds=30)) == 0  # the new lease holds
    assert _messages(redis_db) == 1
    lost.refresh_from_db()
    assert lost.lease_expires_at > now + timedelta(minutes=5)


def test_a_fan_out_cut_short_is_resumed_by_the_reconciler_and_completes_the_bucket(
    alice, redis_db, django_capture_on_commit_callbacks
) -> None:
    subs = [active_periodic(alice) for _ in range(5)]
    nominal = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    # A worker died after the first chunk: two rows written, the tick never marked complete.
    with django_capture_on_commit_callbacks(execute=True):
        fanout(schedule_id=subs[0].schedule_id, now=nominal + timedelta(seconds=1), chunk_size=2)
    Execution.objects.filter(subscription_id__in=[s.pk for s in subs[2:]]).delete()
    ScheduleFire.objects.update(completed_at=None, created_at=timezone.now() - timedelta(hours=1))
    redis_db.flushdb()

    with django_capture_on_commit_callbacks(execute=True):
        reconcile()
    assert sum(redis_db.llen(k) for k in redis_db.keys("default*")) >= 1  # the fan-out was sent again

    result = fanout(schedule_id=subs[0].schedule_id, fire_at=nominal, now=nominal + timedelta(minutes=6))
    assert result.created == 3
    assert Execution.objects.filter(fire_key="2026-11-25T00:00:00+00:00").count() == 5
    assert ScheduleFire.objects.get().completed_at is not None


def test_a_running_execution_whose_worker_died_goes_back_to_queued_and_can_be_claimed(
    alice, django_capture_on_commit_callbacks, tools_registry
) -> None:
    from taskhub.executions.runner import claim

    sub = active_periodic(alice)
    now = timezone.now()
    dead = Execution.objects.create(
        subscription=sub, fire_key="x", status=ExecutionStatus.RUNNING, lease_expires_at=now - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile(now=now) == 1
    dead.refresh_from_db()
    assert dead.status == ExecutionStatus.QUEUED
    assert claim([dead.pk], now=now + timedelta(seconds=1)) == [dead.pk]
