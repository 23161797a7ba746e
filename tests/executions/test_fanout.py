from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from taskhub.executions import fanout as fanout_service
from taskhub.executions.models import Execution, ExecutionBatch, ExecutionStatus, ScheduleFire
from taskhub.subscriptions import services
from taskhub.subscriptions.states import Action
from tests.batches import sent
from tests.concurrency import run_concurrently
from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

# 08:00 in Shanghai is 00:00 UTC.
TODAY_0800 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def _queued_messages(redis_db) -> int:  # type: ignore[no-untyped-def]
    return sum(redis_db.llen(key) for key in redis_db.keys("default*"))


def test_fanout_creates_one_queued_execution_per_active_subscription_and_enqueues_them(
    alice, bob, redis_db, django_capture_on_commit_callbacks
) -> None:
    subs = [active_periodic(alice) for _ in range(3)] + [active_periodic(bob)]
    services.subscription_transition(subscription_id=subs[0].pk, action=Action.PAUSE)

    with django_capture_on_commit_callbacks(execute=True):
        result = fanout_service.fanout(schedule_id=subs[1].schedule_id, now=TODAY_0800 + timedelta(seconds=3))

    rows = Execution.objects.order_by("subscription_id")
    assert [r.subscription_id for r in rows] == [s.pk for s in subs[1:]]
    assert {r.fire_key for r in rows} == {"2026-11-25T00:00:00+00:00"}
    assert {r.status for r in rows} == {ExecutionStatus.QUEUED}
    assert all(r.enqueued_at and r.scheduled_for == TODAY_0800 for r in rows)
    # The public ids are random (version 4) UUIDs, made by the database on either backend.
    assert {r.instance_id.version for r in rows} == {4}
    assert len({r.instance_id for r in rows}) == 3
    assert (result.created, result.enqueued) == (3, 3)
    assert _queued_messages(redis_db) == 1  # one execute_batch message for the batch
    [batch] = ExecutionBatch.objects.all()
    assert sorted(batch.execution_ids) == sorted(r.pk for r in rows)


def test_an_urgent_subscription_goes_in_a_batch_ahead_of_the_others_of_its_bucket(alice, bob) -> None:
    calm, urgent = active_periodic(alice, priority=0), active_periodic(bob, priority=2)
    fanout_service.fanout(schedule_id=calm.schedule_id, now=TODAY_0800 + timedelta(seconds=1))
    by_subscription = dict(Execution.objects.values_list("pk", "subscription_id"))
    batches = {
        by_subscription[batch.execution_ids[0]]: (batch.queue, batch.priority, len(batch.execution_ids))
        for batch in ExecutionBatch.objects.all()
    }
    # Same queue, one step apart in its band per level of priority (0 is the most urgent step).
    assert batches == {calm.pk: ("default", batches[urgent.pk][1] + 2, 1), urgent.pk: ("default", 3, 1)}


def test_the_same_tick_fanned_out_again_creates_and_enqueues_nothing(
    alice, redis_db, django_capture_on_commit_callbacks
) -> None:
    sub = active_periodic(alice)
    with django_capture_on_commit_callbacks(execute=True):
        fanout_service.fanout(schedule_id=sub.schedule_id, now=TODAY_0800 + timedelta(seconds=1))
        again = fanout_service.fanout(schedule_id=sub.schedule_id, now=TODAY_0800 + timedelta(seconds=40))
    assert (again.created, again.enqueued) == (0, 0)
    assert Execution.objects.count() == 1
    assert _queued_messages(redis_db) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_fanouts_of_one_tick_yield_one_execution_per_subscription(alice) -> None:
    subs = [active_periodic(alice) for _ in range(50)]
    results = run_concurrently(
        lambda: fanout_service.fanout(schedule_id=subs[0].schedule_id, now=TODAY_0800, chunk_size=7)
    )
    assert Execution.objects.count() == 50
    assert sum(r.created for r in results) == 50


def test_after_downtime_the_latest_fire_catches_up_once_and_older_ones_are_missed(alice) -> None:
    sub = active_periodic(alice)  # catch_up_once, window 1 h
    ScheduleFire.objects.create(schedule_id=sub.schedule_id, fire_at=TODAY_0800 - timedelta(days=2))

    fanout_service.fanout(schedule_id=sub.schedule_id, now=TODAY_0800 + timedelta(minutes=20))

    statuses = dict(Execution.objects.values_list("fire_key", "status"))
    assert statuses == {
        "2026-11-24T00:00:00+00:00": ExecutionStatus.MISSED,
        "2026-11-25T00:00:00+00:00": ExecutionStatus.QUEUED,
    }


def test_a_fire_later_than_the_catch_up_window_is_missed_not_run(alice) -> None:
    sub = active_periodic(alice)
    fanout_service.fanout(schedule_id=sub.schedule_id, now=TODAY_0800 + timedelta(hours=2))
    assert list(Execution.objects.values_list("status", flat=True)) == [ExecutionStatus.MISSED]


def test_skip_policy_runs_only_ticks_on_time(alice) -> None:
    sub = active_periodic(alice, missed_policy="skip")
    fanout_service.fanout(schedule_id=sub.schedule_id, now=TODAY_0800 + timedelta(minutes=10))
    assert list(Execution.objects.values_list("status", flat=True)) == [ExecutionStatus.MISSED]


ZONES = [
    "America/New_York",
    "America/Sao_Paulo",
    "America/Santiago",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Asia/Shanghai",
    "Asia/Tehran",
    "America/Havana",
    "Pacific/Chatham",
]


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES), day=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_daily_0800_fires_exactly_once_per_local_day_across_dst(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    fires = []
    it = croniter("0 8 * * *", start - timedelta(seconds=1))
    while (moment := it.get_next(datetime)) < end:
        fires.append(moment)
    assert len(fires) == 1
    assert (fires[0].hour, fires[0].minute) == (8, 0)
    # Every beat tick between this fire and the next maps to the same fire key.
    for delay in (0, 1, 59, 3600, 20 * 3600):
        now = fires[0].astimezone(UTC) + timedelta(seconds=delay)
        nominal = fanout_service.nominal_fire(cron="0 8 * * *", timezone=zone, now=now)
        assert fanout_service.fire_key(nominal) == fanout_service.fire_key(fires[0])


def test_times_written_by_the_bulk_inserts_are_found_by_the_orms_lookups(alice) -> None:
    """Raw inserts store a time in another zone as the ORM would (SQLite keeps naive UTC text)."""
    from taskhub.executions.rows import NewExecution, insert_executions

    sub = active_periodic(alice)
    in_shanghai = TODAY_0800.astimezone(ZoneInfo("Asia/Shanghai"))
    insert_executions([NewExecution(sub.pk, "manual:1", nominal=in_shanghai)], now=in_shanghai)
    fanout_service.fanout(schedule_id=sub.schedule_id, now=TODAY_0800 + timedelta(seconds=5))
    assert Execution.objects.filter(scheduled_for=TODAY_0800).count() == 2
    assert Execution.objects.filter(created_at__lte=TODAY_0800).count() == 1


def test_each_batch_holds_the_subscribers_of_few_tool_calls(
    alice, bob, redis_db, settings, django_capture_on_commit_callbacks
) -> None:
    settings.EXECUTE_BATCH_SIZE = 2
    cities = ["Beijing", "Shanghai", "Harbin"] * 3  # created interleaved: ids alternate between calls
    subs = [active_periodic(alice if i % 2 else bob, arguments={"city": c}) for i, c in enumerate(cities)]

    with django_capture_on_commit_callbacks(execute=True):
        result = fanout_service.fanout(
            schedule_id=subs[0].schedule_id, now=TODAY_0800 + timedelta(seconds=1), chunk_size=4
        )

    assert (result.subscriptions, result.created, result.enqueued) == (9, 9, 9)
    city_of = {e.pk: e.subscription.arguments["city"] for e in Execution.objects.select_related("subscription")}
    batches = sent(redis_db)
    assert sorted(pk for batch in batches for pk in batch) == sorted(city_of)  # each execution once
    # Batches of 2 cut from chunks of 4 in call order: 9 subscriptions of 3 calls need at most 6 calls
    # in all, where id order (B, S, H, B, S, H, ..) would put two different calls in nearly every batch.
    assert sum(len({city_of[pk] for pk in batch}) for batch in batches) <= 6


@pytest.mark.parametrize("late_s", [0, 59, 60, 61, 599, 600, 601, 3600, 3601, 7200, 7201])
def test_the_fan_outs_sql_and_runs_now_agree_on_who_still_runs_a_late_fire(alice, settings, late_s: int) -> None:
    """The missed-run rule is written twice (SQL for the fan-out, ``runs_now`` for the sweeper): they must agree."""
    settings.FIRE_GRACE_S = 60
    subs = [
        active_periodic(alice, missed_policy=policy, catch_up_window_s=window)
        for policy in ("catch_up_once", "skip")
        for window in (0, 600, 3600, 7200)
    ]
    fanout_service.fanout(schedule_id=subs[0].schedule_id, now=TODAY_0800 + timedelta(seconds=late_s))

    ran = {e.subscription_id: e.status == ExecutionStatus.QUEUED for e in Execution.objects.all()}
    assert ran == {s.pk: fanout_service.runs_now(s, timedelta(seconds=late_s)) for s in subs}
