from __future__ import annotations

import pytest
from django.core.management import call_command

from taskhub.monitoring.models import EventSource
from tests.monitoring.helpers import monitor, observe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def test_staff_create_an_event_source_see_its_secret_once_and_browse_monitoring(staff, alice, client) -> None:
    monitor(alice)
    observe(6.9, minute=0)
    client.force_login(staff)
    added = client.post(
        "/admin/monitoring/eventsource/add/", {"name": "feed", "enabled": "on", "tools": "[]"}, follow=True
    )
    source = EventSource.objects.get(name="feed")
    assert source.secret.startswith("whsec_")
    assert source.secret in added.content.decode()
    assert source.secret not in client.get(f"/admin/monitoring/eventsource/{source.pk}/change/").content.decode()
    for page in ("event", "monitor", "monitorkey"):
        assert client.get(f"/admin/monitoring/{page}/").status_code == 200, page


def test_the_event_source_command_prints_a_new_secret(capsys) -> None:
    call_command("event_source", "feed", "--tools", "fuel_price")
    assert "secret whsec_" in capsys.readouterr().out
    assert EventSource.objects.get(name="feed").tools == ["fuel_price"]
