"""Writes to the in-app inbox, and the live feed that announces them (Redis pub/sub).

Every write is one ``bulk_create`` plus one Redis pipeline, whatever the number of
messages: the inbox takes the whole fan-out of a popular schedule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from taskhub.channels.models import InboxMessage
from taskhub.core.redis import get_redis

logger = logging.getLogger(__name__)


def feed_channel(owner_id: int) -> str:
    """The pub/sub channel a user's live inbox stream listens on."""
    return f"taskhub:inbox:{owner_id}"


@dataclass(frozen=True)
class InboxItem:
    owner_id: int
    key: str
    title: str
    body: str = ""
    urgent: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    execution_id: int | None = None
    subscription_id: int | None = None
    channel_id: int | None = None


def event_of(message: InboxMessage) -> dict[str, Any]:
    """What REST and the live stream show of a message."""
    return {
        "id": message.pk,
        "title": message.title,
        "body": message.body,
        "urgent": message.urgent,
        "data": message.data,
        "execution": message.execution_id,
        "subscription": message.subscription_id,
        "created_at": message.created_at,
        "read_at": message.read_at,
    }


def inbox_write(items: Sequence[InboxItem]) -> list[InboxMessage]:
    """Store ``items`` (a key already stored keeps its row: no duplicates) and announce them live."""
    if not items:
        return []
    now = timezone.now()
    rows = [
        InboxMessage(
            owner_id=item.owner_id,
            key=item.key,
            title=item.title[:200],
            body=item.body,
            urgent=item.urgent,
            data=item.data,
            execution_id=item.execution_id,
            subscription_id=item.subscription_id,
            channel_id=item.channel_id,
            created_at=now,
        )
        for item in items
    ]
    # ON CONFLICT (key) DO UPDATE SET key = key: a repeat is a no-op that still returns the row's id.
    created = InboxMessage.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["key"], update_fields=["key"]
    )
    # Announced once committed: a rolled-back write must not ping anyone.
    transaction.on_commit(lambda: _publish(created))
    return created


def _publish(messages: Sequence[InboxMessage]) -> None:
    """Announce on each owner's feed; a Redis outage loses only the live ping, never the message."""
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(feed_channel(message.owner_id), json.dumps(event_of(message), cls=DjangoJSONEncoder))
            pipe.execute()
    except OSError as exc:  # redis.ConnectionError subclasses it
        logger.warning("inbox live feed not published", extra={"error": str(exc), "count": len(messages)})
