"""/metrics: the work owed (from the database) and the work done (counted by the processes that did it)."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from taskhub.executions.fanout import fanout, nominal_fire
from taskhub.executions.models import ExecutionBatch, ExecutionStatus
from taskhub.executions.runner import run_batch
from taskhub.executions.services import execution_run_now
from tests.batches import waiting
from tests.factories import active_periodic
from tests.processes import celery_worker, free_port, process_env, wait_for_port, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tools_registry")]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape(client, **headers: str) -> Samples:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    return _parse(response.content.decode())


def _succeeded(samples: Samples) -> float:
    return samples.get(("taskhub_executions_total", (("status", "succeeded"),)), 0.0)


def test_metrics_show_the_batches_owed_their_lag_and_the_runs_and_pushes_done(client, alice, bob) -> None:
    before = _scrape(client)
    subs = [active_periodic(alice), active_periodic(bob)]
    on_time = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now()) + timedelta(seconds=1)
    fanout(schedule_id=subs[0].schedule_id, now=on_time)
    # Nobody took it for 90 s (and the tick was on time: its lease runs from now).
    now = timezone.now()
    ExecutionBatch.objects.update(created_at=now - timedelta(seconds=90), lease_expires_at=now + timedelta(minutes=9))

    owed = _scrape(client)
    assert owed[("taskhub_batches", (("state", "waiting"),))] == 1
    assert owed[("taskhub_batch_lag_seconds", ())] >= 90
    assert owed[("taskhub_executions_sent_total", ())] - before[("taskhub_executions_sent_total", ())] == 2

    [batch] = waiting()
    run_batch(batch)
    done = _scrape(client)
    assert _succeeded(done) - _succeeded(before) == 2
    sent = ("taskhub_pushes_total", (("outcome", "sent"),))
    assert done[sent] - before.get(sent, 0.0) == 2
    assert done[("taskhub_batch_seconds_count", ())] - before[("taskhub_batch_seconds_count", ())] == 1
    assert done[("taskhub_batches", (("state", "waiting"),))] == 0
    assert done[("taskhub_batch_lag_seconds", ())] == 0


def test_metrics_ask_for_the_bearer_token_when_one_is_set(client, settings) -> None:
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert _scrape(client, Authorization="Bearer s3cret-token")[("taskhub_fanouts_open", ())] == 0


@pytest.mark.processes
def test_a_workers_runs_are_counted_on_its_metrics_port_and_in_the_shared_directory(
    client, alice, tmp_path, monkeypatch
) -> None:
    port = free_port()
    env = process_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path), METRICS_PORT=str(port))
    sub = active_periodic(alice)
    with celery_worker(env=env, log_path=tmp_path / "worker.log") as worker:
        wait_for_port(port, timeout=30, proc=worker)
        execution = execution_run_now(subscription_id=sub.pk, owner=alice)
        wait_until(
            lambda: type(execution).objects.get(pk=execution.pk).status == ExecutionStatus.SUCCEEDED,
            timeout=60,
            what="the run-now to succeed",
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            served = _parse(response.read().decode())
    assert _succeeded(served) == 1
    assert ("taskhub_batches", (("state", "waiting"),)) not in served  # the backlog is the web's to show
    # The web's /metrics adds up every process that writes to the directory (make run).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert _succeeded(_scrape(client)) == 1
