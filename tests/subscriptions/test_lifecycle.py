from __future__ import annotations

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from taskhub.core.errors import Conflict, QuotaExceeded
from taskhub.subscriptions import scheduling, services
from taskhub.subscriptions.models import Subscription
from taskhub.subscriptions.states import TRANSITIONS, Action, Status
from tests.concurrency import run_concurrently
from tests.factories import active_periodic, periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

CASES = [(action, status) for action in Action for status in Status]


def _force_status(sub: Subscription, status: Status) -> Subscription:
    Subscription.objects.filter(pk=sub.pk).update(status=status)
    sub.refresh_from_db()
    return sub


@pytest.mark.parametrize(("action", "start"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_every_transition_is_allowed_or_refused_with_409_by_the_table(alice, action, start) -> None:
    sub = _force_status(periodic(alice), start)
    allowed_from, target = TRANSITIONS[action]
    if start in allowed_from:
        result = services.subscription_transition(subscription_id=sub.pk, action=action)
        assert result.status == target
    else:
        with pytest.raises(Conflict) as excinfo:
            services.subscription_transition(subscription_id=sub.pk, action=action)
        assert excinfo.value.status_code == 409
        assert excinfo.value.fields == {"status": [start]}
        sub.refresh_from_db()
        assert sub.status == start


def test_confirm_creates_one_bucket_shared_by_every_subscription_on_the_same_schedule(alice, bob) -> None:
    first = active_periodic(alice)
    second = active_periodic(bob)
    other_zone = active_periodic(alice, timezone="Europe/Paris")
    assert first.schedule_id == second.schedule_id != other_zone.schedule_id
    buckets = PeriodicTask.objects.filter(name__startswith="bucket:")
    assert sorted(buckets.values_list("name", flat=True)) == sorted(
        [scheduling.bucket_name(first.schedule_id), scheduling.bucket_name(other_zone.schedule_id)]
    )
    bucket = buckets.get(name=scheduling.bucket_name(first.schedule_id))
    assert (bucket.task, bucket.queue, bucket.priority) == ("taskhub.fanout", "default", 3)


def test_bucket_disappears_when_its_last_active_subscription_pauses_and_returns_on_resume(alice) -> None:
    first = active_periodic(alice)
    second = active_periodic(alice)
    name = scheduling.bucket_name(first.schedule_id)
    services.subscription_transition(subscription_id=first.pk, action=Action.PAUSE)
    assert PeriodicTask.objects.filter(name=name).exists()
    services.subscription_transition(subscription_id=second.pk, action=Action.CANCEL)
    assert not PeriodicTask.objects.filter(name=name).exists()
    services.subscription_transition(subscription_id=first.pk, action=Action.RESUME)
    assert PeriodicTask.objects.filter(name=name, enabled=True).exists()


def test_editing_the_cron_moves_the_subscription_to_another_bucket(alice) -> None:
    sub = active_periodic(alice)
    old = scheduling.bucket_name(sub.schedule_id)
    sub = services.subscription_update(
        subscription_id=sub.pk, owner=alice, spec=services.SubscriptionSpec(cron="30 7 * * 1-5")
    )
    assert not PeriodicTask.objects.filter(name=old).exists()
    assert PeriodicTask.objects.filter(name=scheduling.bucket_name(sub.schedule_id)).exists()
    assert scheduling.cron_of(sub.schedule) == "30 7 * * 1-5"


def test_activation_beyond_the_quota_is_refused(alice, settings) -> None:
    settings.SUBSCRIPTION_MAX_ACTIVE_PER_USER = 1
    active_periodic(alice)
    extra = periodic(alice)
    with pytest.raises(QuotaExceeded):
        services.subscription_transition(subscription_id=extra.pk, action=Action.CONFIRM)
    extra.refresh_from_db()
    assert extra.status == Status.DRAFT


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirms_one_wins_one_gets_409(alice) -> None:
    sub = periodic(alice)
    results = run_concurrently(lambda: services.subscription_transition(subscription_id=sub.pk, action=Action.CONFIRM))
    outcomes = ["conflict" if isinstance(r, Conflict) else "won" for r in results]
    assert sorted(outcomes) == ["conflict", "won"]
    assert PeriodicTask.objects.filter(name__startswith="bucket:").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_users_creating_the_same_new_schedule_at_once_share_one_bucket(alice, bob) -> None:
    owners = iter([alice, bob])
    results = run_concurrently(lambda: active_periodic(next(owners), cron="17 6 * * *", timezone="Asia/Tokyo"))
    assert not [r for r in results if isinstance(r, BaseException)]
    assert CrontabSchedule.objects.filter(minute="17", hour="6", timezone="Asia/Tokyo").count() == 1
    assert PeriodicTask.objects.filter(name__startswith="bucket:").count() == 1


def test_repeated_permanent_failures_suspend_the_subscription_and_tell_the_user(alice, settings) -> None:
    from taskhub.channels.models import InboxMessage

    settings.SUSPEND_AFTER_FAILURES = 3
    failing, healthy = active_periodic(alice), active_periodic(alice)
    Subscription.objects.filter(pk=failing.pk).update(consecutive_failures=3)
    Subscription.objects.filter(pk=healthy.pk).update(consecutive_failures=2)

    services.subscriptions_after_runs(to_complete=set(), failed_permanently={failing.pk, healthy.pk})

    assert Subscription.objects.get(pk=failing.pk).status == Status.SUSPENDED
    assert Subscription.objects.get(pk=healthy.pk).status == Status.ACTIVE
    [notice] = InboxMessage.objects.filter(owner=alice)
    assert notice.title == "Suspended: Beijing weather"
    assert "resume" in notice.body
    # resuming puts it back on its schedule
    resumed = services.subscription_transition(subscription_id=failing.pk, action=Action.RESUME)
    assert (resumed.status, resumed.consecutive_failures) == (Status.ACTIVE, 0)
