"""Invariant 1: the same execution delivered by two processes at once gives one push per channel."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
import uuid

import pytest

from taskhub.channels.models import Delivery, InboxMessage
from taskhub.channels.services import channel_create, inbox_channel_for
from taskhub.core.redis import get_redis
from tests.channels.conftest import message_for
from tests.channels.receivers import http_receiver, smtp_server
from tests.processes import ROOT, process_env


@pytest.mark.processes
@pytest.mark.timeout(90)
@pytest.mark.django_db(transaction=True)
def test_two_processes_delivering_the_same_execution_send_one_push_per_channel(alice, execution) -> None:
    with http_receiver() as receiver, smtp_server() as (smtp_port, mails):
        channels = [
            channel_create(owner=alice, kind="webhook", name="hook", config={"url": receiver.url}),
            channel_create(owner=alice, kind="email", name="mail", config={"to": "alice@example.com"}),
            inbox_channel_for(alice),
        ]
        payload = json.dumps([dataclasses.asdict(message_for(execution, channel)) for channel in channels])
        run_id = f"race:{uuid.uuid4()}"
        env = process_env(
            WEBHOOK_ALLOWED_HOSTS="127.0.0.1/32",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port),
            LOG_LEVEL="WARNING",
        )
        racers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.channels.deliver_child", run_id, payload],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        redis = get_redis()
        deadline = time.monotonic() + 30
        while int(redis.get(f"{run_id}:ready") or 0) < 2:
            assert time.monotonic() < deadline, "racers did not start"
            time.sleep(0.01)
        redis.set(f"{run_id}:go", 1)
        results = [json.loads(racer.communicate(timeout=60)[0].decode().strip().splitlines()[-1]) for racer in racers]

    statuses = sorted(tuple(o["status"] for o in outcomes) for outcomes in results)
    per_channel = sorted(sorted([a["status"], b["status"]]) for a, b in zip(*results, strict=True))
    # One racer sends; the other finds it sent (duplicate) or still being sent (a temporary failure).
    assert len(per_channel) == 3, statuses
    assert all(pair.count("sent") == 1 and set(pair) <= {"sent", "duplicate", "failed"} for pair in per_channel), (
        statuses
    )
    assert len(receiver.requests) == 1
    assert len(mails) == 1
    assert InboxMessage.objects.filter(owner=alice).count() == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
