from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from taskhub.executions.models import Execution, ExecutionStatus
from taskhub.executions.sweeper import sweep_due
from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, Subscription

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _reminder(owner, run_at: datetime) -> Subscription:  # type: ignore[no-untyped-def]
    with time_machine.travel(run_at - timedelta(hours=1)):
        sub = services.subscription_create(
            owner=owner,
            kind=Kind.ONCE,
            spec=services.SubscriptionSpec(
                title="call mum", tool="current_weather", arguments={"city": "Beijing"}, run_at=run_at
            ),
        )
        return services.subscription_transition(subscription_id=sub.pk, action="confirm")


def test_due_reminders_become_one_queued_execution_each_and_future_ones_wait(
    alice, redis_db, django_capture_on_commit_callbacks
) -> None:
    due = _reminder(alice, NOON)
    later = _reminder(alice, NOON + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_due(now=NOON + timedelta(seconds=2)) == 1
        assert sweep_due(now=NOON + timedelta(seconds=7)) == 0  # the next sweep finds nothing new
    assert list(Execution.objects.values_list("subscription_id", "status")) == [(due.pk, ExecutionStatus.QUEUED)]
    assert sum(redis_db.llen(k) for k in redis_db.keys("default*")) == 1
    assert later.pk not in Execution.objects.values_list("subscription_id", flat=True)


def test_a_reminder_found_after_long_downtime_is_missed_and_completed(
    alice, django_capture_on_commit_callbacks
) -> None:
    sub = _reminder(alice, NOON)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_due(now=NOON + timedelta(hours=5))
    assert list(Execution.objects.values_list("status", flat=True)) == [ExecutionStatus.MISSED]
    sub.refresh_from_db()
    assert sub.status == "completed"


def test_migrate_installs_the_reconciler_sweeper_and_pruning_beat_entries() -> None:
    entries = {p.name: p for p in PeriodicTask.objects.filter(name__startswith="maintenance:")}
    assert (entries["maintenance:reconcile"].task, entries["maintenance:reconcile"].queue) == (
        "taskhub.reconcile",
        "low",
    )
    assert entries["maintenance:sweep-due"].interval.every == 5
    assert entries["maintenance:sweep-due"].priority == 0
    prune = entries["maintenance:prune-history"]
    assert (prune.task, prune.queue, prune.interval.every) == ("taskhub.prune_history", "low", 600)
