from __future__ import annotations

import email

import pytest

from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.services import channel_create
from taskhub.executions.models import Execution
from tests.channels.conftest import message_for
from tests.channels.receivers import smtp_server
from tests.processes import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


@pytest.fixture
def smtp(settings):  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # pytest-django swaps in locmem
    with smtp_server() as (port, received):
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        yield received


def test_email_goes_to_a_real_smtp_server_with_text_and_html(alice, execution, smtp) -> None:
    channel = channel_create(owner=alice, kind="email", name="mail", config={"to": "alice@example.com"})
    [outcome] = deliver_messages([message_for(execution, channel, body="Sunny <b>21°C</b>")])
    assert outcome.status == "sent"
    [envelope] = smtp
    assert envelope.rcpt_tos == ["alice@example.com"]
    parsed = email.message_from_bytes(envelope.content)
    assert parsed["Subject"] == "Beijing weather"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in parsed.walk()
        if not part.is_multipart()
    }
    assert "Sunny <b>21°C</b>" in parts["text/plain"]
    assert "&lt;b&gt;" in parts["text/html"]  # the body is escaped in HTML


def test_a_batch_of_emails_is_sent_and_recorded(alice, smtp) -> None:
    from tests.factories import active_periodic

    sub = active_periodic(alice)
    channel = channel_create(owner=alice, kind="email", name="mail", config={"to": "alice@example.com"})
    runs = [Execution.objects.create(subscription=sub, fire_key=f"f{i}") for i in range(5)]
    outcomes = deliver_messages([message_for(run, channel) for run in runs])
    assert [o.status for o in outcomes] == ["sent"] * 5
    assert len(smtp) == 5


def test_an_unreachable_smtp_server_is_a_transient_failure(alice, execution, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    channel = channel_create(owner=alice, kind="email", name="mail", config={"to": "alice@example.com"})
    [outcome] = deliver_messages([message_for(execution, channel)])
    assert (outcome.status, outcome.error_kind) == ("failed", "transient")


@pytest.mark.parametrize("config", [{}, {"to": "not-an-address"}, {"to": 5}])
def test_email_config_is_validated(alice, api_for, config) -> None:
    response = api_for(alice).post("/api/v1/channels/", {"kind": "email", "name": "m", "config": config}, format="json")
    assert response.status_code == 400
    assert "config.to" in response.json()["fields"]
