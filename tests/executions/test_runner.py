"""The task agent's batch runner against real tool-server processes, through the real gateway.

Runs the service in-process (it is testable without Celery); failures are
injected with the offline servers' fault switch, time is passed explicitly.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taskhub.channels.models import Delivery, InboxMessage
from taskhub.executions.fanout import fanout, nominal_fire
from taskhub.executions.models import Execution, ExecutionBatch, ExecutionStatus, ToolSnapshot
from taskhub.executions.reconciler import reconcile
from taskhub.executions.runner import claim, run_batch
from taskhub.subscriptions.models import Subscription
from tests.batches import run_waiting, waiting
from tests.factories import active_periodic
from tests.processes import free_port
from tools.servers import faults

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tools_registry")]


def _fan_out(*subs) -> int:  # type: ignore[no-untyped-def]
    """Fan the bucket out as a beat tick on time would (its latest fire, one second late); its one batch."""
    on_time = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now()) + timedelta(seconds=1)
    fanout(schedule_id=subs[0].schedule_id, now=on_time)
    [batch] = waiting()
    return batch


def test_a_batch_calls_each_distinct_tool_call_once_and_pushes_every_message(alice, bob, tools_registry) -> None:
    subs = [active_periodic(alice, arguments={"city": "Beijing"}) for _ in range(3)]
    subs += [
        active_periodic(
            bob, title="Shanghai weather", arguments={"city": "Shanghai"}, template="{title}: {temperature_c}°C"
        )
    ]
    batch = _fan_out(*subs)

    counts = run_batch(batch)

    assert counts == {ExecutionStatus.SUCCEEDED: 4}
    assert faults.call_count("weather") == 2  # Beijing and Shanghai, whoever asks
    executions = Execution.objects.order_by("id")
    assert {e.attempts for e in executions} == {1}
    assert all(e.started_at and e.finished_at and e.tool_snapshot["data"]["temperature_c"] for e in executions)
    assert InboxMessage.objects.filter(owner=alice).count() == 3
    shanghai = InboxMessage.objects.get(owner=bob)
    assert shanghai.body.startswith("Shanghai weather: ")
    assert shanghai.body.endswith("°C")
    assert not Delivery.objects.exists()  # the inbox is its own ledger
    assert not ExecutionBatch.objects.exists()  # the batch is done


def test_a_tool_answer_is_stored_once_and_each_execution_shows_the_one_it_used(
    alice, bob, api_for, staff, client
) -> None:
    beijing = [active_periodic(alice, arguments={"city": "Beijing"}) for _ in range(3)]
    shanghai = active_periodic(bob, arguments={"city": "Shanghai"})
    run_batch(_fan_out(*beijing, shanghai))

    assert ToolSnapshot.objects.count() == 2  # one per distinct answer, not one per execution
    shown = api_for(alice).get("/api/v1/executions/").json()["results"]
    assert len(shown) == 3
    assert {e["tool_snapshot"]["data"]["location"]["city"] for e in shown} == {"Beijing"}
    assert {e["tool_snapshot"]["status"] for e in shown} == {"fresh"}
    [other] = api_for(bob).get("/api/v1/executions/").json()["results"]
    assert other["tool_snapshot"]["data"]["location"]["city"] == "Shanghai"
    # The inbox shows it too, from the same row: no message stores a copy.
    inbox = api_for(alice).get("/api/v1/inbox/").json()["results"]
    assert [(m["data"]["tool"], m["data"]["result"]["location"]["city"]) for m in inbox] == [
        ("current_weather", "Beijing")
    ] * 3
    if connection.vendor == "postgresql":  # stored set-based; SQLite's pushes go one by one, each with its data
        assert all(data == {} for data in InboxMessage.objects.values_list("data", flat=True))
    client.force_login(staff)  # and so do the admin's pages
    for page in (
        f"/admin/channels/inboxmessage/{InboxMessage.objects.filter(owner=bob).get().pk}/change/",
        f"/admin/executions/execution/{Execution.objects.get(subscription=shanghai).pk}/change/",
    ):
        assert "observed_at" in client.get(page).content.decode(), page  # a key of the tool's answer


@pytest.mark.skipif(connection.vendor != "postgresql", reason="heap-only updates are PostgreSQL's")
@pytest.mark.django_db  # one transaction: PostgreSQL counts its heap-only updates per transaction
def test_a_successful_runs_results_are_written_in_place_without_new_index_entries(alice, tools_registry) -> None:
    # A message of the size the fan-out bench pushes: its result fits on its page (Execution).
    cities = ("Beijing", "Shanghai")
    subs = [
        active_periodic(alice, arguments={"city": c}, template="{temperature_c}°C") for c in cities for _ in range(50)
    ]
    batch = _fan_out(*subs)

    before = _updates_so_far(Execution)
    run_batch(batch)
    updated, heap_only = (after - then for after, then in zip(_updates_so_far(Execution), before, strict=True))

    assert Execution.objects.filter(status=ExecutionStatus.SUCCEEDED).count() == 100
    assert (updated, heap_only) == (100, 100)


def _updates_so_far(model: type[Model]) -> tuple[int, int]:
    """Rows of ``model`` this transaction updated, and how many of them in place (heap-only)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(oid), pg_stat_get_xact_tuples_hot_updated(oid)"
            " FROM pg_class WHERE relname = %s",
            [model._meta.db_table],
        )
        return cursor.fetchone()


def test_running_the_same_batch_again_sends_nothing_twice(alice, tools_registry) -> None:
    batch = _fan_out(active_periodic(alice))
    run_batch(batch)
    assert run_batch(batch) == {}  # a copy of the message: the batch is done
    assert InboxMessage.objects.count() == 1


def test_transient_errors_are_retried_at_once_within_the_run(alice, tools_registry) -> None:
    batch = _fan_out(active_periodic(alice))
    faults.set_fault("weather", "transient", calls=2)

    assert run_batch(batch) == {ExecutionStatus.SUCCEEDED: 1}

    execution = Execution.objects.get()
    tries = execution.meta["attempts"]
    assert [t.get("error_kind") for t in tries] == ["transient", "transient", None]
    assert InboxMessage.objects.count() == 1


def test_permanent_errors_fail_at_once_and_count_towards_suspension(alice, tools_registry) -> None:
    sub = active_periodic(alice)
    batch = _fan_out(sub)
    faults.set_fault("weather", "permanent")

    assert run_batch(batch) == {ExecutionStatus.FAILED: 1}

    execution = Execution.objects.get()
    assert (execution.error_kind, execution.attempts) == ("permanent", 1)
    sub.refresh_from_db()
    assert sub.consecutive_failures == 1
    assert not InboxMessage.objects.exists()


def test_temporary_errors_back_off_10_20_40_seconds_then_fail_as_exhausted(alice, tools_registry) -> None:
    batch = _fan_out(active_periodic(alice))
    faults.set_fault("weather", "temporary")
    now = timezone.now()
    run_batch(batch, now=now)
    seen = [(Execution.objects.get().status, Execution.objects.get().attempts)]
    for backoff in (10, 20, 40):
        [batch] = waiting()  # the retry, in a batch of its own
        assert run_batch(batch, now=now + timedelta(seconds=backoff - 1)) == {}  # not before its back-off ended
        now += timedelta(seconds=backoff)
        run_batch(batch, now=now)
        execution = Execution.objects.get()
        seen.append((execution.status, execution.attempts))
    assert seen == [
        (ExecutionStatus.RETRYING, 1),
        (ExecutionStatus.RETRYING, 2),
        (ExecutionStatus.RETRYING, 3),
        (ExecutionStatus.FAILED, 4),
    ]
    execution = Execution.objects.get()
    assert execution.error_kind == "temporary"
    assert len(execution.meta["attempts"]) == 4


def test_a_delivery_failing_for_one_subscriber_retries_only_that_execution(alice, bob, settings) -> None:
    from taskhub.channels.services import channel_create
    from tests.channels.receivers import http_receiver

    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1/32"]
    subs = [active_periodic(owner) for owner in (alice, bob, alice)]  # one call, one wording: one lot
    with http_receiver(status=503) as receiver:
        subs[1].channels.add(channel_create(owner=bob, kind="webhook", name="hook", config={"url": receiver.url}))
        batch = _fan_out(*subs)
        now = timezone.now()
        assert run_batch(batch, now=now) == {ExecutionStatus.SUCCEEDED: 2, ExecutionStatus.RETRYING: 1}
        runs = {e.subscription_id: e for e in Execution.objects.all()}
        assert runs[subs[1].pk].error_message.startswith("delivery failed")
        assert (runs[subs[1].pk].error_kind, runs[subs[0].pk].status) == ("temporary", ExecutionStatus.SUCCEEDED)
        assert InboxMessage.objects.count() == 3  # bob's inbox got it; only his webhook failed

        receiver.status = 204
        [retry] = waiting()
        assert run_batch(retry, now=now + timedelta(seconds=10)) == {ExecutionStatus.SUCCEEDED: 1}
    assert Execution.objects.get(subscription=subs[1]).attempts == 2
    assert InboxMessage.objects.count() == 3  # the retry sent the webhook only
    assert len(receiver.requests) == 2


def test_a_subscription_paused_after_the_fan_out_is_skipped_at_run_time(alice, tools_registry) -> None:
    from taskhub.subscriptions import services

    sub = active_periodic(alice)
    batch = _fan_out(sub)
    services.subscription_transition(subscription_id=sub.pk, action="pause")
    assert run_batch(batch) == {ExecutionStatus.SKIPPED: 1}
    assert faults.call_count("weather") == 0


def test_an_execution_left_behind_by_a_deleted_subscription_is_ended_by_its_run(alice, bob) -> None:
    kept, deleted = active_periodic(bob), active_periodic(alice)
    batch = _fan_out(kept, deleted)
    # What a fan-out racing the deletion leaves: the execution stays, its subscription is gone.
    deleted.channels.clear()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Subscription._meta.db_table} WHERE id = %s", [deleted.pk])  # noqa: S608 - our table name

    assert run_batch(batch) == {ExecutionStatus.SUCCEEDED: 1}
    assert list(Execution.objects.values_list("subscription_id", flat=True)) == [kept.pk]
    assert list(InboxMessage.objects.values_list("owner", flat=True)) == [bob.pk]
    assert not ExecutionBatch.objects.exists()


def test_a_run_that_raises_gives_its_batch_to_the_reconciler_without_waiting_out_its_lease(
    alice, bob, monkeypatch
) -> None:
    from taskhub.executions import runner

    batch = _fan_out(active_periodic(alice), active_periodic(bob))
    now = timezone.now()

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug while rendering")

    monkeypatch.setattr(runner, "compose_and_deliver", broken)  # fault injection: an unexpected error mid-run
    with pytest.raises(RuntimeError):
        run_batch(batch, now=now)
    monkeypatch.undo()

    assert reconcile(now=now + timedelta(seconds=31)) == 2  # a minute later, not ten
    assert run_waiting(now=now + timedelta(seconds=32)) == {ExecutionStatus.SUCCEEDED: 2}
    assert InboxMessage.objects.count() == 2


def test_with_the_gateways_redis_unreachable_a_batch_backs_off_instead_of_failing(alice, settings) -> None:
    batch = _fan_out(active_periodic(alice))
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # the tool cache, limiter and breaker state are gone

    assert run_batch(batch) == {ExecutionStatus.RETRYING: 1}
    execution = Execution.objects.get()
    assert (execution.error_kind, execution.attempts) == ("temporary", 1)
    assert "Redis is unreachable" in execution.error_message


@pytest.fixture
def wording(llm_stub, settings):  # type: ignore[no-untyped-def]
    settings.MESSAGE_WORDING = True
    settings.MESSAGE_WORDING_BUDGET_S = 2
    return llm_stub


def test_with_wording_on_the_llms_words_are_pushed_and_identical_messages_worded_once(alice, wording) -> None:
    subs = [active_periodic(alice, template="{title}: {temperature_c}°C") for _ in range(3)]
    wording.script({"content": "Good morning! Beijing is mild today."})

    assert run_batch(_fan_out(*subs)) == {ExecutionStatus.SUCCEEDED: 3}

    assert set(InboxMessage.objects.values_list("body", flat=True)) == {"Good morning! Beijing is mild today."}
    assert set(Execution.objects.values_list("message", flat=True)) == {"Good morning! Beijing is mild today."}
    assert len(wording.seen()) == 1  # three identical template texts, one LLM call


@pytest.mark.parametrize(
    "step", [{"status": 500, "error": "overloaded"}, {"delay_s": 3, "content": "too late"}], ids=["failing", "slow"]
)
def test_a_failing_or_slow_llm_leaves_the_template_text(alice, wording, step) -> None:
    wording.script(step)
    assert run_batch(_fan_out(active_periodic(alice, template="{title}: {temperature_c}°C"))) == {
        ExecutionStatus.SUCCEEDED: 1
    }
    body = InboxMessage.objects.get().body
    assert body.startswith("Beijing weather: ")
    assert body.endswith("°C")


def test_an_invalid_call_fails_its_executions_permanently_and_the_rest_of_the_batch_runs(alice) -> None:
    ok, gone, bad = (active_periodic(alice, arguments={"city": city}) for city in ("Beijing", "Shanghai", "Harbin"))
    batch = _fan_out(ok, gone, bad)
    # The tool was removed, and a schema change made stored arguments invalid, after the fan-out.
    Subscription.objects.filter(pk=gone.pk).update(tool="no_such_tool")
    Subscription.objects.filter(pk=bad.pk).update(arguments={"city": 5})

    assert run_batch(batch) == {ExecutionStatus.SUCCEEDED: 1, ExecutionStatus.FAILED: 2}
    failed = Execution.objects.filter(status=ExecutionStatus.FAILED)
    assert {e.subscription_id for e in failed} == {gone.pk, bad.pk}
    assert {e.error_kind for e in failed} == {"permanent"}
    assert list(InboxMessage.objects.values_list("subscription_id", flat=True)) == [ok.pk]


def test_a_batch_costs_the_same_queries_whatever_its_size(alice, bob) -> None:
    def queries_for(n: int) -> int:
        subs = [active_periodic(alice if i % 2 else bob, arguments={"city": "Beijing"}) for i in range(n)]
        batch = _fan_out(*subs)
        with CaptureQueriesContext(connection) as captured:
            assert run_batch(batch) == {ExecutionStatus.SUCCEEDED: n}
        return len(captured)

    assert queries_for(2) == queries_for(20)


def test_a_batch_is_taken_once_until_its_lease_expires_and_never_while_another_worker_holds_it(alice, settings) -> None:
    batch = _fan_out(*(active_periodic(alice, arguments={"city": "Beijing"}) for _ in range(4)))
    ids = sorted(Execution.objects.values_list("id", flat=True))
    now = timezone.now()
    assert claim(batch, now=now) == ids
    assert claim(batch, now=now + timedelta(seconds=settings.EXECUTION_LEASE_S - 1)) == []  # its worker may be at it
    later = now + timedelta(seconds=settings.EXECUTION_LEASE_S + 1)
    if connection.features.has_select_for_update_skip_locked:  # SQLite lets one writer in at a time
        locked, release = threading.Event(), threading.Event()

        def other_worker() -> None:  # in the middle of taking it
            with transaction.atomic():
                list(ExecutionBatch.objects.select_for_update().filter(pk=batch))
                locked.set()
                release.wait(10)
            connection.close()

        thread = threading.Thread(target=other_worker)
        thread.start()
        try:
            assert locked.wait(10)
            started = time.monotonic()
            assert claim(batch, now=later) == []
            assert time.monotonic() - started < 2  # skipped, not waited for
        finally:
            release.set()
            thread.join()
    assert claim(batch, now=later) == ids  # the worker that took it is presumed dead
    assert ExecutionBatch.objects.get(pk=batch).claims == 2


def test_subscribers_of_one_call_each_get_their_own_wording(alice, bob) -> None:
    same_call = {"arguments": {"city": "Beijing"}, "cron": "0 8 * * *", "timezone": "Asia/Shanghai"}
    subs = [
        active_periodic(alice, title="Morning", template="{title}: {temperature_c}", **same_call),
        active_periodic(bob, title="Morning", template="{title}: {temperature_c}", **same_call),
        active_periodic(alice, title="Evening", template="{title}: {temperature_c}", **same_call),
        active_periodic(alice, title="Morning", template="{city} {title}", **same_call),
    ]
    run_batch(_fan_out(*subs))

    bodies = dict(InboxMessage.objects.values_list("subscription_id", "body"))
    temperature = Execution.objects.get(subscription=subs[0]).tool_snapshot["data"]["temperature_c"]
    assert bodies == {
        subs[0].pk: f"Morning: {temperature}",
        subs[1].pk: f"Morning: {temperature}",
        subs[2].pk: f"Evening: {temperature}",
        subs[3].pk: "Beijing Morning",
    }


def test_a_success_clears_the_count_of_permanent_failures_in_a_row(alice) -> None:
    failing, healthy = active_periodic(alice), active_periodic(alice, arguments={"city": "Shanghai"})
    Subscription.objects.filter(pk=failing.pk).update(consecutive_failures=2)
    run_batch(_fan_out(failing, healthy))
    assert dict(Subscription.objects.values_list("pk", "consecutive_failures")) == {failing.pk: 0, healthy.pk: 0}


def test_a_message_of_the_old_form_runs_nothing_and_leaves_the_work_to_its_batch(alice) -> None:
    from agents.worker.tasks import execute_batch

    batch = _fan_out(active_periodic(alice))
    execute_batch([Execution.objects.get().pk])  # sent before batches were recorded: execution ids
    assert Execution.objects.get().status == ExecutionStatus.QUEUED
    assert waiting() == [batch]
    execute_batch(batch)
    assert Execution.objects.get().status == ExecutionStatus.SUCCEEDED
    assert InboxMessage.objects.count() == 1


def test_a_run_taken_over_after_its_lease_writes_nothing_over_the_one_that_finished(alice, settings) -> None:
    from taskhub.executions.jobs import load_lots
    from taskhub.executions.rows import LotResult, write_results

    batch = _fan_out(active_periodic(alice))
    now = timezone.now()
    [slow] = load_lots(claim(batch, now=now))  # a worker takes it, then stalls past its lease
    later = now + timedelta(seconds=settings.EXECUTION_LEASE_S + 1)
    assert run_batch(batch, now=later) == {ExecutionStatus.SUCCEEDED: 1}  # another takes over and finishes
    stale = LotResult(
        slow.execution_ids, ExecutionStatus.FAILED, slow.attempts, "temporary", "too late", {}, now, now, "", None
    )
    assert write_results([stale]) == []  # the stalled worker's result lands on nothing
    execution = Execution.objects.get()
    assert (execution.status, execution.attempts, execution.error_message) == (ExecutionStatus.SUCCEEDED, 1, "")
    assert InboxMessage.objects.count() == 1


def test_a_batch_due_at_once_is_taken_by_a_worker_whose_clock_is_behind(alice) -> None:
    batch = _fan_out(active_periodic(alice))
    behind = timezone.now() - timedelta(minutes=5)  # hosts' clocks differ; only a retry's back-off is timed
    assert claim(batch, now=behind) == list(Execution.objects.values_list("id", flat=True))
