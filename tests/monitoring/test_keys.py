"""The poll plan (``MonitorKey``): recounted per set of keys, a bounded number of statements whatever the set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taskhub.monitoring import pollers
from taskhub.monitoring.models import MonitorKey
from taskhub.monitoring.services import keys_refresh
from taskhub.subscriptions import services
from taskhub.subscriptions.states import Status
from tests.monitoring.helpers import START, monitor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

BEIJING_92 = {"region": "Beijing", "grade": "92"}


def _on_key_rows(ctx: CaptureQueriesContext, verb: str) -> int:
    return sum(1 for q in ctx.captured_queries if q["sql"].startswith(verb) and "monitoring_monitorkey" in q["sql"])


def test_refreshing_a_watched_key_reads_its_row_once_and_a_key_nobody_uses_is_dropped(alice) -> None:
    sub = monitor(alice, interval_s=120)
    key = MonitorKey.objects.get()
    with CaptureQueriesContext(connection) as ctx:
        keys_refresh(keys={key.pk})
    assert _on_key_rows(ctx, "SELECT") == 1
    assert (MonitorKey.objects.get().monitors, MonitorKey.objects.get().interval_s) == (1, 120)
    services.subscription_delete(subscription_id=sub.pk, owner=alice)
    assert not MonitorKey.objects.exists()


def test_completing_ended_monitors_recounts_their_keys_once_for_the_batch(alice, bob) -> None:
    subs = [monitor(alice), monitor(bob), monitor(alice, arguments=BEIJING_92)]
    subs += [monitor(bob, arguments=BEIJING_92, interval_s=120), monitor(alice, arguments=BEIJING_92, interval_s=600)]
    for sub in subs[:4]:
        services.subscription_update(
            subscription_id=sub.pk, owner=None, spec=services.SubscriptionSpec(ends_at=START + timedelta(minutes=10))
        )
    with CaptureQueriesContext(connection) as ctx:
        pollers.poll_due(now=START + timedelta(minutes=30))  # the keys are not due: nothing is polled
    assert _on_key_rows(ctx, "SELECT") == 2  # the due keys, then the two keys of the four ended monitors
    assert _on_key_rows(ctx, "UPDATE") == 1
    for sub in subs:
        sub.refresh_from_db()
    assert [sub.status for sub in subs] == [Status.COMPLETED] * 4 + [Status.ACTIVE]
    plan = {k.arguments["region"]: (k.monitors, k.interval_s) for k in MonitorKey.objects.all()}
    assert plan == {"Shanghai": (0, 300), "Beijing": (1, 600)}
