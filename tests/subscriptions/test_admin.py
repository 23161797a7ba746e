from __future__ import annotations

import re

import pytest
from django_celery_beat.models import PeriodicTask

from taskhub.executions.models import Execution
from taskhub.subscriptions.models import Subscription
from tests.factories import active_periodic, periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def test_admin_pages_render_with_search_filters_and_latest_executions(staff, alice, client) -> None:
    sub = active_periodic(alice)
    Execution.objects.bulk_create(
        Execution(subscription=sub, fire_key=f"2026-11-{day:02d}T00:00:00+00:00") for day in range(1, 26)
    )
    client.force_login(staff)
    pages = [
        "/admin/subscriptions/subscription/",
        "/admin/subscriptions/subscription/?q=Beijing&kind__exact=periodic&status__exact=active",
        f"/admin/subscriptions/subscription/{sub.pk}/change/",
        "/admin/executions/execution/?status__exact=queued",
        "/admin/executions/executionbatch/",
        "/admin/channels/channel/",
        "/admin/channels/delivery/",
    ]
    for page in pages:
        assert client.get(page).status_code == 200, page
    change = client.get(f"/admin/subscriptions/subscription/{sub.pk}/change/").content.decode()
    shown_days = {int(day) for day in re.findall(r"2026-11-(\d\d)T00:00:00", change)}
    assert shown_days == set(range(6, 26))  # the latest 20 executions only


@pytest.mark.parametrize(("action", "expected"), [("action_pause", "paused"), ("action_cancel", "cancelled")])
def test_admin_lifecycle_actions_go_through_the_services(staff, alice, client, action, expected) -> None:
    sub = active_periodic(alice)
    client.force_login(staff)
    response = client.post(
        "/admin/subscriptions/subscription/", {"action": action, "_selected_action": [sub.pk]}, follow=True
    )
    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.status == expected
    assert not PeriodicTask.objects.filter(name__startswith="bucket:").exists()  # the bucket went with it


def test_admin_action_reports_refused_transitions_instead_of_failing(staff, alice, client) -> None:
    draft = periodic(alice)
    client.force_login(staff)
    response = client.post(
        "/admin/subscriptions/subscription/", {"action": "action_pause", "_selected_action": [draft.pk]}, follow=True
    )
    assert "cannot pause a draft subscription" in response.content.decode()
    assert Subscription.objects.get(pk=draft.pk).status == "draft"
