from __future__ import annotations

import pytest
from django.db import connection

from agents.worker.tasks import probe
from taskhub import queues
from taskhub.core import diagnostics
from tests.processes import celery_worker


def test_route_keeps_each_queue_inside_its_band() -> None:
    assert queues.route(queues.HIGH, urgency=99).priority == 2
    assert queues.route(queues.DEFAULT).priority == 3
    assert queues.route(queues.LOW, urgency=1).priority == 8
    with pytest.raises(ValueError, match="unknown queue"):
        queues.route("urgent")


@pytest.mark.processes
def test_worker_drains_high_before_default_before_low_whatever_the_send_order(tmp_path) -> None:
    run_id = diagnostics.new_probe_run()
    # Sent while no worker runs, least urgent first, so FIFO order would be the reverse of the expected one.
    sends = [
        ("low", queues.route(queues.LOW)),
        ("default-late", queues.route(queues.DEFAULT, urgency=3)),
        ("default-urgent", queues.route(queues.DEFAULT, urgency=0)),
        ("high-late", queues.route(queues.HIGH, urgency=2)),
        ("high-urgent", queues.route(queues.HIGH, urgency=0)),
    ]
    for label, route in sends:
        probe.apply_async(args=[run_id, label], **route.options())

    with celery_worker(concurrency=1, log_path=tmp_path / "worker.log"):
        ran = diagnostics.wait_for_probes(run_id=run_id, count=len(sends), timeout_s=60)

    assert ran == ["high-urgent", "high-late", "default-urgent", "default-late", "low"], (
        tmp_path / "worker.log"
    ).read_text()[-3000:]


@pytest.mark.processes
def test_task_sent_without_a_route_gets_its_queue_and_the_middle_of_its_band(tmp_path) -> None:
    run_id = diagnostics.new_probe_run()
    probe.apply_async(args=[run_id, "default-late"], **queues.route(queues.DEFAULT, urgency=3).options())
    probe.delay(run_id, "plain")  # routed by task_routes: queue default, priority 4
    probe.apply_async(args=[run_id, "default-urgent"], **queues.route(queues.DEFAULT, urgency=0).options())

    with celery_worker(queues=["high"], log_path=tmp_path / "high.log"):
        assert diagnostics.wait_for_probes(run_id=run_id, count=1, timeout_s=3) == []
    with celery_worker(queues=["default"], log_path=tmp_path / "default.log"):
        ran = diagnostics.wait_for_probes(run_id=run_id, count=3, timeout_s=30)
    assert ran == ["default-urgent", "plain", "default-late"]


@pytest.mark.processes
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL backend pid names the session")
def test_a_worker_keeps_its_database_connection_from_task_to_task(tmp_path) -> None:
    # Celery's Django fix-up closes the connection around every task unless told otherwise;
    # a fan-out of a million would then pay a new PostgreSQL backend per batch.
    run_id = diagnostics.new_probe_run()
    for n in range(3):
        probe.apply_async(args=[run_id, f"p{n}"], **queues.route(queues.DEFAULT).options())
    with celery_worker(concurrency=1, log_path=tmp_path / "worker.log"):
        assert diagnostics.wait_for_probes(run_id=run_id, count=3, timeout_s=60) == ["p0", "p1", "p2"]
    sessions = diagnostics.probe_sessions(run_id=run_id)
    assert sessions[0].startswith("postgresql:")
    assert len(set(sessions)) == 1, sessions
