"""Writes to the in-app inbox, and the live feed that announces them (Redis pub/sub).

Every write is one INSERT plus at most two Redis round trips, whatever the number
of messages: the inbox takes the whole fan-out of a popular schedule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from taskhub.channels.models import InboxMessage
from taskhub.core.bulk import insert_rows
from taskhub.core.redis import get_redis, pubsub_channel

logger = logging.getLogger(__name__)


# A push stored before (same execution and channel), or a notice (same key), keeps its row:
# the inbox is its own ledger (``inbox_once_per_push``, ``inbox_once_per_notice``). No
# conflict target, so that one statement may hold both.
STORED_ONCE = "ON CONFLICT DO NOTHING"


def feed_channel(owner_id: int) -> str:
    """The pub/sub channel a user's live inbox stream listens on."""
    return feed_channels([owner_id])[owner_id]


def feed_channels(owner_ids: Iterable[int]) -> dict[int, str]:
    """``feed_channel`` of each of ``owner_ids``: the deployment's prefix looked up once for a batch."""
    prefix = pubsub_channel("taskhub:inbox:")
    return {owner: f"{prefix}{owner}" for owner in owner_ids}


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


_COLUMNS = (
    ("owner_id", "bigint"),
    ("key", ""),
    ("title", ""),
    ("body", ""),
    ("urgent", "boolean"),
    ("data", "jsonb"),
    ("execution_id", "bigint"),
    ("subscription_id", "bigint"),
    ("channel_id", "bigint"),
)


def inbox_write(items: Sequence[InboxItem]) -> set[str]:
    """Store the ``items`` whose key is not stored yet and announce them live; returns their keys.

    A repeat is a no-op: the inbox is its own ledger (a push is stored once per
    execution and channel, so once per delivery key; a notice once per notice key).
    """
    if not items:
        return set()
    now = timezone.now()
    returned = insert_rows(
        InboxMessage,
        columns=_COLUMNS,
        rows=[
            (
                item.owner_id,
                item.key,
                item.title[:200],
                item.body,
                item.urgent,
                item.data,
                item.execution_id,
                item.subscription_id,
                item.channel_id,
            )
            for item in items
        ],
        constants={"created_at": "%s"},
        constant_params=[now],
        conflict=STORED_ONCE,
        returning=("key", "id"),
        # The subscribers of one tool call get the same text and data objects: sent once each.
        shared=("title", "body", "data"),
    )
    ids = dict(returned)
    unannounced = dict(ids)  # a key twice in ``items`` is stored, and announced, once
    new = [(item, pk) for item in items if (pk := unannounced.pop(item.key, None)) is not None]
    # Announced once committed: a rolled-back write must not ping anyone.
    transaction.on_commit(
        lambda: announce([item.owner_id for item, _ in new], lambda i: event_of(new[i][0], new[i][1], now))
    )
    return set(ids)


def announce(owner_ids: Sequence[int], event: Callable[[int], dict[str, Any]]) -> None:
    """Publish ``event(i)`` on the live feed of ``owner_ids[i]``, for the owners with a stream open.

    A Redis outage loses only the live ping, never the message. One ``PUBSUB NUMSUB``
    first: most owners have no stream open, and a batch of thousands of pushes then
    costs one round trip instead of a publish each; events are built only for listeners.
    """
    if not owner_ids:
        return
    try:
        redis = get_redis()
        feeds = feed_channels(set(owner_ids))
        listened = {name for name, count in redis.pubsub_numsub(*feeds.values()) if count}  # decoded: str
        if not listened:
            return
        with redis.pipeline(transaction=False) as pipe:
            for i, owner in enumerate(owner_ids):
                if feeds[owner] in listened:
                    pipe.publish(feeds[owner], json.dumps(event(i), cls=DjangoJSONEncoder))
            pipe.execute()
    except OSError as exc:  # redis.ConnectionError subclasses it
        logger.warning("inbox live feed not published", extra={"error": str(exc), "count": len(owner_ids)})


def event_of(item: InboxItem, pk: int, created_at: Any) -> dict[str, Any]:
    """What the live stream shows of a message just written (unread): the fields REST shows."""
    return {
        "id": pk,
        "title": item.title[:200],
        "body": item.body,
        "urgent": item.urgent,
        "data": item.data,
        "execution": item.execution_id,
        "subscription": item.subscription_id,
        "created_at": created_at,
        "read_at": None,
    }
