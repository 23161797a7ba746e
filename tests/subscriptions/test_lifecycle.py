from __future__ import annotations

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from taskhub.core.errors import Conflict, NotFound, QuotaExceeded
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


def _paused_queries(owner, count: int) -> tuple[int, list[Subscription]]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.monitoring.helpers import monitor

    subs = [active_periodic(owner) for _ in range(count)] + [monitor(owner) for _ in range(count)]
    with CaptureQueriesContext(connection) as queries:
        result = services.subscriptions_transition(owner=owner, subscription_ids=[s.pk for s in subs], action="pause")
    assert (len(result.changed), result.refused) == (2 * count, {})
    return len(queries), subs


def test_a_bulk_transition_costs_the_same_queries_for_2_or_20_subscriptions(alice, bob) -> None:
    from taskhub.monitoring.models import Monitor, MonitorKey

    few, _ = _paused_queries(alice, 1)
    many, subs = _paused_queries(bob, 10)

    assert many == few
    assert set(Subscription.objects.filter(owner=bob).values_list("status", flat=True)) == {Status.PAUSED}
    # the shared bucket went with its last active subscription; the monitors stopped being polled
    assert not PeriodicTask.objects.filter(name=scheduling.bucket_name(subs[0].schedule_id)).exists()
    assert not Monitor.objects.filter(subscription__owner=bob, active=True).exists()
    assert MonitorKey.objects.get(pk=subs[-1].call_key).monitors == 0


def test_a_bulk_transition_reports_rows_in_the_wrong_state_or_out_of_reach_and_leaves_them(alice, bob) -> None:
    active, cancelled, draft = active_periodic(alice), _force_status(periodic(alice), Status.CANCELLED), periodic(alice)
    strangers = active_periodic(bob)

    result = services.subscriptions_transition(
        owner=alice, subscription_ids=[active.pk, cancelled.pk, draft.pk, strangers.pk], action=Action.PAUSE
    )

    assert [s.pk for s in result.changed] == [active.pk]
    assert {pk: type(exc) for pk, exc in result.refused.items()} == {
        cancelled.pk: Conflict,
        draft.pk: Conflict,
        strangers.pk: NotFound,
    }
    assert result.refused[cancelled.pk].fields == {"status": ["cancelled"]}
    statuses = dict(Subscription.objects.values_list("pk", "status"))
    assert statuses == {
        active.pk: Status.PAUSED,
        cancelled.pk: Status.CANCELLED,
        draft.pk: Status.DRAFT,
        strangers.pk: Status.ACTIVE,
    }


def test_a_bulk_resume_activates_up_to_the_quota_and_refuses_the_rest(alice, settings) -> None:
    paused = [active_periodic(alice) for _ in range(3)]
    services.subscriptions_transition(owner=alice, subscription_ids=[s.pk for s in paused], action=Action.PAUSE)
    settings.SUBSCRIPTION_MAX_ACTIVE_PER_USER = 2

    result = services.subscriptions_transition(owner=alice, subscription_ids=[s.pk for s in paused], action="resume")

    assert [s.pk for s in result.changed] == [paused[0].pk, paused[1].pk]
    assert isinstance(result.refused[paused[2].pk], QuotaExceeded)
    assert Subscription.objects.filter(owner=alice, status=Status.ACTIVE).count() == 2
