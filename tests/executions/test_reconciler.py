from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from taskhub.executions.fanout import fanout, nominal_fire
from taskhub.executions.models import Execution, ExecutionBatch, ExecutionStatus, ScheduleFire
from taskhub.executions.reconciler import reconcile
from tests.batches import sent
from tests.factories import active_periodic
from tests.monitoring.helpers import monitor
from tests.processes import ROOT, free_port, process_env

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def _messages(redis_db) -> int:  # type: ignore[no-untyped-def]
    return sum(redis_db.llen(k) for k in redis_db.keys("default*"))


def _owed(sub, fire_key: str):  # type: ignore[no-untyped-def]
    return Execution.objects.create(subscription=sub, fire_key=fire_key, status=ExecutionStatus.QUEUED)


def _batch(executions, *, claims: int, lease_expires_at) -> ExecutionBatch:  # type: ignore[no-untyped-def]
    """A batch as dispatch writes it; ``claims`` > 0: a worker took it (and, once its lease expired, died)."""
    return ExecutionBatch.objects.create(
        execution_ids=[e.pk for e in executions],
        queue="default",
        priority=3,
        claims=claims,
        taken_at=lease_expires_at - timedelta(minutes=10) if claims else None,
        lease_expires_at=lease_expires_at,
    )


def test_batches_past_their_lease_are_sent_again_once(alice, redis_db, django_capture_on_commit_callbacks) -> None:
    sub = active_periodic(alice)
    now = timezone.now()
    lost = _batch([_owed(sub, "a")], claims=0, lease_expires_at=now - timedelta(seconds=1))
    # still within its lease: a worker may be on it
    _batch([_owed(sub, "b")], claims=1, lease_expires_at=now + timedelta(minutes=5))
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


def test_a_run_whose_worker_died_is_sent_again_and_can_be_taken(
    alice, redis_db, django_capture_on_commit_callbacks, tools_registry
) -> None:
    from taskhub.executions.runner import claim

    sub = active_periodic(alice)
    now = timezone.now()
    dead = _owed(sub, "x")
    _batch([dead], claims=1, lease_expires_at=now - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile(now=now) == 1
    [batch] = ExecutionBatch.objects.all()
    assert (batch.execution_ids, batch.claims) == ([dead.pk], 1)  # it was taken once: that is not forgotten
    assert claim(batch.pk, now=now + timedelta(seconds=1)) == [dead.pk]


def test_runs_lost_with_their_worker_go_back_one_per_message(
    alice, redis_db, django_capture_on_commit_callbacks
) -> None:
    sub = active_periodic(alice)
    now = timezone.now()
    lost = [_owed(sub, f"l{i}") for i in range(3)]
    waiting = [_owed(sub, f"q{i}") for i in range(2)]
    _batch(lost, claims=1, lease_expires_at=now - timedelta(seconds=1))
    _batch(waiting, claims=0, lease_expires_at=now - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile(now=now) == 5
    # Whichever of the lost ones killed its worker can no longer take the others down with it;
    # the ones that only lost their message still travel together.
    assert sorted(sorted(ids) for ids in sent(redis_db)) == sorted(
        [[e.pk] for e in lost] + [sorted(e.pk for e in waiting)]
    )
    assert set(Execution.objects.values_list("status", flat=True)) == {"queued"}


def test_a_run_lost_again_and_again_fails_for_good_and_counts_against_its_subscription(
    alice, redis_db, django_capture_on_commit_callbacks, settings
) -> None:
    settings.EXECUTION_MAX_LOST_RUNS = 3
    sub = active_periodic(alice)
    now = timezone.now()
    poison = _owed(sub, "p")
    _batch([poison], claims=3, lease_expires_at=now - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile(now=now) == 0
    assert _messages(redis_db) == 0
    assert not ExecutionBatch.objects.exists()
    poison.refresh_from_db()
    assert (poison.status, poison.error_kind) == ("failed", "permanent")
    assert "lost 3 times" in poison.error_message
    sub.refresh_from_db()
    assert sub.consecutive_failures == 1


def test_an_alert_once_monitor_whose_alert_is_given_up_completes_like_one_that_ran(
    alice, redis_db, django_capture_on_commit_callbacks, settings
) -> None:
    settings.EXECUTION_MAX_LOST_RUNS = 3
    sub = monitor(alice, alert_once=True)
    now = timezone.now()
    alert = Execution.objects.create(
        subscription=sub, fire_key="event:1", status=ExecutionStatus.QUEUED, meta={"alert": {"once": True}}
    )
    _batch([alert], claims=3, lease_expires_at=now - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        reconcile(now=now)
    sub.refresh_from_db()
    assert (sub.status, sub.consecutive_failures) == ("completed", 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_a_fan_out_while_the_broker_is_down_completes_and_its_batches_go_once_the_broker_is_back(
    alice, redis_db
) -> None:
    subs = [active_periodic(alice) for _ in range(3)]
    on_time = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now()) + timedelta(seconds=1)
    code = (
        "from datetime import datetime; from taskhub.executions.fanout import fanout; "
        f"print(fanout(schedule_id={subs[0].schedule_id}, now=datetime.fromisoformat('{on_time.isoformat()}')))"
    )
    # A real process whose broker is a port nobody listens on.
    env = process_env(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", LOG_FORMAT="console")
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "enqueued=3" in done.stdout
    assert "broker unreachable" in done.stderr
    assert ScheduleFire.objects.get().completed_at is not None  # the tick is complete: nothing to resume
    assert Execution.objects.filter(status=ExecutionStatus.QUEUED).count() == 3
    assert _messages(redis_db) == 0
    # Its lease cut short: the reconciler's next run, now that the broker is back, sends it.
    assert ExecutionBatch.objects.get().lease_expires_at <= timezone.now()
    assert reconcile() == 3
    assert _messages(redis_db) == 1
