"""Secrets at rest: the column holds a token, the model gives back the secret."""

from __future__ import annotations

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from taskhub.channels.services import channel_create, channel_rotate_secret
from taskhub.core import crypto
from taskhub.monitoring.models import EventSource

pytestmark = pytest.mark.django_db


def _stored(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {table} WHERE id = %s", [pk])  # noqa: S608 - our table names
        return cursor.fetchone()[0]


def test_a_webhook_secret_is_stored_encrypted_and_read_back_for_signing(alice, settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1/32"]
    channel = channel_create(owner=alice, kind="webhook", name="hook", config={"url": "http://127.0.0.1:9/h"})
    secret = channel.secret
    assert secret.startswith("whsec_")
    stored = _stored("channels_channel", channel.pk)
    assert secret not in stored
    assert crypto.decrypt(stored) == secret
    assert type(channel).objects.get(pk=channel.pk).secret == secret
    Webhook(type(channel).objects.get(pk=channel.pk).secret)  # a usable signing key

    rotated = channel_rotate_secret(channel=channel)
    assert rotated != secret
    assert crypto.decrypt(_stored("channels_channel", channel.pk)) == rotated


def test_an_event_source_secret_is_stored_encrypted() -> None:
    source = EventSource.objects.create(name="feed", secret="whsec_" + "A" * 40)
    assert "whsec_" not in _stored("monitoring_eventsource", source.pk)
    assert EventSource.objects.get(pk=source.pk).secret == "whsec_" + "A" * 40


def test_a_secret_written_before_encryption_reads_as_itself_and_is_encrypted_on_save() -> None:
    source = EventSource.objects.create(name="legacy", secret="x")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE monitoring_eventsource SET secret = %s WHERE id = %s", ["whsec_plain", source.pk])
    legacy = EventSource.objects.get(pk=source.pk)
    assert legacy.secret == "whsec_plain"
    legacy.save(update_fields=["secret"])
    assert _stored("monitoring_eventsource", source.pk) != "whsec_plain"
    assert EventSource.objects.get(pk=source.pk).secret == "whsec_plain"
