from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taskhub.executions.models import Execution, ExecutionStatus
from taskhub.executions.reconciler import reconcile
from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def _messages(redis_db) -> int:  # type: ignore[no-untyped-def]
    return sum(redis_db.llen(k) for k in redis_db.keys("default*"))


def test_in_flight_executions_past_their_lease_are_enqueued_again_once(
    alice, redis_db, django_capture_on_commit_callbacks
) -> None:
    sub = active_periodic(alice)
    now = timezone.now()
    lost = Execution.objects.create(
        subscription=sub, fire_key="a", status=ExecutionStatus.QUEUED, lease_expires_at=now - timedelta(seconds=1)
    )
    Execution.objects.create(  # still within its lease: a worker may be on it
        subscription=sub, fire_key="b", status=ExecutionStatus.RUNNING, lease_expires_at=now + timedelta(minutes=5)
    )
    Execution.objects.create(subscription=sub, fire_key="c", status=ExecutionStatus.SUCCEEDED)

    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile(now=now) == 1
        assert reconcile(now=now + timedelta(seconds=30)) == 0  # the new lease holds
    assert _messages(redis_db) == 1
    lost.refresh_from_db()
    assert lost.lease_expires_at > now + timedelta(minutes=5)
