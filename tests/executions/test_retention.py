"""History past its retention is deleted; what is still at work, and recent history, stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Model
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule

from taskhub.channels.models import Delivery, DeliveryStatus, InboxMessage
from taskhub.channels.services import channel_create
from taskhub.executions.fanout import fanout, nominal_fire
from taskhub.executions.models import Execution, ExecutionStatus, ScheduleFire, ToolSnapshot
from taskhub.executions.retention import Pruned, prune_history
from taskhub.executions.runner import run_batch
from taskhub.monitoring.models import Event
from taskhub.subscriptions.selectors import last_runs
from tests.batches import waiting
from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


@pytest.fixture(autouse=True)
def retention(settings):  # type: ignore[no-untyped-def]
    settings.EXECUTION_RETENTION_DAYS = 30
    settings.INBOX_RETENTION_DAYS = 90
    settings.EVENT_RETENTION_DAYS = 7
    return settings


def _tick(*subs, days_later: int = 0, run: bool = True) -> None:  # type: ignore[no-untyped-def]
    """A tick of the subscriptions' bucket, on time (``days_later`` than today's), and (``run``) its batch run."""
    today = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now())
    fanout(schedule_id=subs[0].schedule_id, now=today + timedelta(days=days_later, seconds=1))
    if run:
        [batch] = waiting()
        run_batch(batch, now=today + timedelta(days=days_later, seconds=2))


def _mailed(*subs):  # type: ignore[no-untyped-def]
    """``subs``, each also pushing by email: the inbox is its own ledger, an email push has a ledger row."""
    mail = {}
    for sub in subs:
        if sub.owner_id not in mail:
            mail[sub.owner_id] = channel_create(owner=sub.owner, kind="email", name="mail", config={"to": "a@b.test"})
        sub.channels.add(mail[sub.owner_id])
    return subs


def _age(model: type[Model], days: int, stamp: str = "created_at", **lookup: object) -> None:
    model.objects.filter(**lookup).update(**{stamp: timezone.now() - timedelta(days=days)})


def test_executions_with_their_ledger_and_inbox_messages_go_once_past_their_retention(alice, bob) -> None:
    subs = _mailed(active_periodic(alice), active_periodic(bob))
    _tick(*subs)
    first = list(Execution.objects.values_list("pk", flat=True))
    _age(Execution, 31, pk__in=first)
    _age(InboxMessage, 31)
    _tick(*subs, days_later=1)

    assert prune_history() == Pruned(executions=2)
    assert not Execution.objects.filter(pk__in=first).exists()
    assert not Delivery.objects.filter(execution_id__in=first).exists()
    assert Delivery.objects.count() == 2
    assert InboxMessage.objects.count() == 4  # the inbox keeps 90 days

    _age(InboxMessage, 91, execution_id__in=first)
    assert prune_history() == Pruned(inbox_messages=2)
    assert set(InboxMessage.objects.values_list("owner", flat=True)) == {alice.pk, bob.pk}
    assert prune_history() == Pruned()


def test_a_tool_snapshot_goes_once_no_execution_refers_to_it(alice, bob, api_for) -> None:
    subs = active_periodic(alice), active_periodic(bob)  # one city: one answer, one snapshot per run
    _tick(*subs)
    first = list(Execution.objects.values_list("pk", flat=True))
    _tick(*subs, days_later=1)
    assert ToolSnapshot.objects.count() == 2
    _age(Execution, 31, pk__in=first)
    _age(ToolSnapshot, 91)  # past the inbox's 90 days too; the second run's executions still refer to theirs

    assert prune_history() == Pruned(executions=2, tool_snapshots=1)
    [kept] = ToolSnapshot.objects.all()
    assert set(Execution.objects.values_list("snapshot_id", flat=True)) == {kept.pk}
    [shown] = api_for(alice).get("/api/v1/executions/").json()["results"]
    assert shown["tool_snapshot"] == kept.value
    assert prune_history() == Pruned()


def test_each_subscriptions_last_run_and_last_success_are_kept_however_old(alice) -> None:
    sub = active_periodic(alice)
    statuses = ("succeeded", "succeeded", "failed", "skipped")  # oldest first
    for n, status in enumerate(statuses):
        Execution.objects.create(subscription=sub, fire_key=f"k{n}", status=status, finished_at=timezone.now())
    for days, pk in zip((70, 60, 50, 45), Execution.objects.order_by("pk").values_list("pk", flat=True), strict=True):
        _age(Execution, days, pk=pk)
    shown = last_runs(sub.pk)

    assert prune_history() == Pruned(executions=2)
    assert list(Execution.objects.order_by("pk").values_list("status", flat=True)) == ["succeeded", "failed"]
    assert last_runs(sub.pk) == shown  # what the API shows as last fired and last succeeded


def test_old_work_still_owed_or_still_delivering_is_kept_and_the_walk_goes_past_it(alice) -> None:
    owed, delivering, done = (active_periodic(alice) for _ in range(3))
    _tick(owed, delivering, done, run=False)
    _age(Execution, 40)
    Execution.objects.exclude(subscription_id=owed.pk).update(status=ExecutionStatus.SUCCEEDED)
    for sub in (delivering, done):  # their next runs, today
        Execution.objects.create(subscription=sub, fire_key="next", status=ExecutionStatus.SUCCEEDED)
    held = Execution.objects.get(subscription_id=delivering.pk, created_at__lt=timezone.now() - timedelta(days=1))
    Delivery.objects.create(
        execution=held, channel=delivering.channels.get(), idempotency_key="held", status=DeliveryStatus.HELD
    )
    _, matching = (
        Event.objects.create(source="poll", dedupe_id=name, key="k", tool="t", observed_at=timezone.now(), done_at=at)
        for name, at in (("matched", timezone.now()), ("matching", None))
    )
    _age(Event, 8, stamp="received_at")  # past the events' retention of a week

    assert prune_history() == Pruned(executions=1, events=1)
    assert not Execution.objects.filter(subscription_id=done.pk, fire_key__startswith="20").exists()
    assert Execution.objects.filter(subscription_id=owed.pk).get().status == ExecutionStatus.QUEUED
    assert Execution.objects.filter(pk=held.pk).exists()
    assert list(Event.objects.values_list("pk", flat=True)) == [matching.pk]


def test_a_run_deletes_at_most_its_limit_and_the_next_run_goes_on(alice) -> None:
    subs = _mailed(*(active_periodic(alice) for _ in range(5)))
    _tick(*subs)
    _age(Execution, 31)
    _tick(*subs, days_later=1)

    assert prune_history(chunk=2, limit=3).executions == 3
    assert prune_history(chunk=2, limit=3).executions == 2
    assert Execution.objects.count() == 5
    assert Delivery.objects.count() == 5


def test_the_latest_fire_of_each_schedule_is_kept_however_old() -> None:
    schedule = CrontabSchedule.objects.create(minute="0", hour="8", timezone="Asia/Shanghai")
    start = timezone.now() - timedelta(days=60)
    for day in range(3):
        ScheduleFire.objects.create(schedule=schedule, fire_at=start + timedelta(days=day))
    _age(ScheduleFire, 50)

    assert prune_history() == Pruned(schedule_fires=2)
    assert list(ScheduleFire.objects.values_list("fire_at", flat=True)) == [start + timedelta(days=2)]


def test_a_retention_of_zero_keeps_everything(alice, retention) -> None:
    retention.EXECUTION_RETENTION_DAYS = retention.INBOX_RETENTION_DAYS = retention.EVENT_RETENTION_DAYS = 0
    [sub] = _mailed(active_periodic(alice))
    _tick(sub)
    _age(Execution, 3650)
    _age(InboxMessage, 3650)
    _tick(sub, days_later=1)
    Event.objects.create(source="poll", dedupe_id="e", key="k", tool="t", observed_at=timezone.now())
    Event.objects.update(done_at=timezone.now())
    _age(Event, 3650, stamp="received_at")

    assert prune_history() == Pruned()
    assert Event.objects.exists()
    assert (Execution.objects.count(), Delivery.objects.count(), InboxMessage.objects.count()) == (2, 2, 2)
