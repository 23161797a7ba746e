"""A batch of executions' messages, each for every enabled channel of its subscription.

``deliver_pushes`` is what the execution pipeline calls. It finds each push's
channels itself, so a batch of a fan-out never becomes one Python object per
(execution, channel):

- on PostgreSQL, pushes to the inbox are stored by one statement that joins the
  batch to the subscriptions' channels, inserts the ledger rows (``sent``) and the
  inbox rows together, and returns what it stored plus every other (execution,
  channel) pair. Pushes of one render share their title, body and data objects,
  which travel once (``bulk`` shared columns). An owner with quiet hours set,
  another kind of channel, or a key the ledger already holds (a retry, a
  redelivery) is left to ``deliver_messages``, which knows what each case means;
- on SQLite (``make run``), or if that statement fails, every pair goes through
  ``deliver_messages``.

Either way a push is recorded once per (subscription, fire key, channel): the
ledger's unique key decides, as in ``deliver_messages``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from taskhub.channels import kinds
from taskhub.channels.dispatch import FAILED, DeliveryOutcome, OutboundMessage, deliver_messages
from taskhub.channels.dispatch.direct import SUMMARY
from taskhub.channels.inbox import InboxItem, announce, event_of
from taskhub.channels.kinds.inbox import InboxChannel
from taskhub.channels.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    InboxMessage,
    NotificationPreferences,
    delivery_key_prefix,
)
from taskhub.core.bulk import ids_in, rows_relation
from taskhub.subscriptions.models import Subscription

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Push:
    """One execution's message. Pushes with the same text share the same ``title``, ``body`` and ``data`` objects."""

    execution_id: int
    subscription_id: int
    fire_key: str
    title: str
    body: str
    urgent: bool
    data: dict[str, Any]

    def to(self, channel_id: int) -> OutboundMessage:
        """This push as ``deliver_messages`` takes it, for one channel."""
        return OutboundMessage(
            self.execution_id,
            self.subscription_id,
            self.fire_key,
            channel_id,
            self.title,
            self.body,
            urgent=self.urgent,
            data=self.data,
        )


def deliver_pushes(pushes: Sequence[Push]) -> list[DeliveryOutcome]:
    """Deliver each push on its subscription's enabled channels; returns the failed deliveries only."""
    if not pushes:
        return []
    pairs: list[tuple[int, int]] | None = None
    if connection.vendor == "postgresql" and (inbox_kinds := _inbox_kinds()):
        pairs = _store_inbox(pushes, inbox_kinds, now=timezone.now())
    if pairs is None:
        pairs = _all_pairs(pushes)
    messages = [pushes[i].to(channel_id) for i, channel_id in pairs]
    return [outcome for outcome in deliver_messages(messages) if outcome.status == FAILED]


def _inbox_kinds() -> list[str]:
    """The enabled kinds the inbox backend serves: the ones this module may store directly."""
    return [
        kind
        for kind in settings.CHANNEL_BACKENDS
        if kinds.is_enabled(kind) and isinstance(kinds.backend_for(kind), InboxChannel)
    ]


def _all_pairs(pushes: Sequence[Push]) -> list[tuple[int, int]]:
    """(index in ``pushes``, channel id) for every enabled channel of each push's subscription (one query)."""
    by_subscription: dict[int, list[int]] = defaultdict(list)
    for i, push in enumerate(pushes):
        by_subscription[push.subscription_id].append(i)
    through = Subscription.channels.through.objects.filter(
        subscription_id__in=ids_in(by_subscription), channel_id__in=Channel.objects.filter(enabled=True).values("id")
    )
    return [
        (i, channel_id)
        for sub_id, channel_id in through.values_list("subscription_id", "channel_id")
        for i in by_subscription[sub_id]
    ]


_PUSH_COLUMNS = (
    ("i", "int"),
    ("execution_id", "bigint"),
    ("subscription_id", "bigint"),
    ("key_prefix", ""),
    ("urgent", "boolean"),
    ("render", "int"),
)
_RENDER_COLUMNS = (("render", "int"), ("title", ""), ("body", ""), ("data", "jsonb"))


def _store_inbox(pushes: Sequence[Push], inbox_kinds: list[str], *, now: datetime) -> list[tuple[int, int]] | None:
    """Store the inbox pushes in one statement; the other (index, channel id) pairs, or None if it failed."""
    renders: dict[tuple[int, int, int], int] = {}  # by the identity of the shared objects
    render_rows: list[tuple[int, str, str, dict[str, Any]]] = []
    push_rows = []
    for i, push in enumerate(pushes):
        shared = (id(push.title), id(push.body), id(push.data))
        if shared not in renders:
            renders[shared] = len(render_rows)
            render_rows.append((len(render_rows), push.title[:200], push.body, push.data))
        prefix = delivery_key_prefix(subscription_id=push.subscription_id, fire_key=push.fire_key)
        push_rows.append((i, push.execution_id, push.subscription_id, prefix, push.urgent, renders[shared]))
    p_source, p_params = rows_relation(_PUSH_COLUMNS, push_rows)
    r_source, r_params = rows_relation(_RENDER_COLUMNS, render_rows)
    q = connection.ops.quote_name
    sql = f"""
        WITH p AS (SELECT * FROM {p_source}), r AS (SELECT * FROM {r_source}),
        sc AS (
            SELECT subscription_id, channel_id FROM {q(Subscription.channels.through._meta.db_table)}
            WHERE subscription_id = ANY(ARRAY(SELECT subscription_id FROM p))
        ),
        c AS (
            SELECT id, owner_id, kind FROM {q(Channel._meta.db_table)}
            WHERE id = ANY(ARRAY(SELECT channel_id FROM sc)) AND enabled
        ),
        pairs AS (
            SELECT p.i, p.execution_id, p.subscription_id, p.key_prefix || c.id AS key, c.id AS channel_id,
                   c.owner_id, c.kind, p.urgent, p.render
            FROM p JOIN sc ON sc.subscription_id = p.subscription_id JOIN c ON c.id = sc.channel_id
        ),
        quiet AS (  -- owners with quiet hours set (channels.quiet): decided per message by deliver_messages
            SELECT owner_id FROM {q(NotificationPreferences._meta.db_table)}
            WHERE owner_id = ANY(ARRAY(SELECT owner_id FROM c))
              AND quiet_start IS NOT NULL AND quiet_end IS NOT NULL AND quiet_start <> quiet_end
        ),
        direct AS (
            SELECT * FROM pairs
            WHERE kind = ANY(%s::text[]) AND (urgent OR owner_id <> ALL(ARRAY(SELECT owner_id FROM quiet)))
        ),
        ledger AS (
            INSERT INTO {q(Delivery._meta.db_table)} (execution_id, channel_id, idempotency_key, status, attempts,
                                                      response_summary, error_kind, created_at, sent_at)
            SELECT execution_id, channel_id, key, %s, 1, %s, '', %s, %s FROM direct
            ON CONFLICT DO NOTHING
            RETURNING idempotency_key
        ),
        stored AS (
            INSERT INTO {q(InboxMessage._meta.db_table)} (owner_id, key, title, body, urgent, data, execution_id,
                                                          subscription_id, channel_id, created_at)
            SELECT d.owner_id, d.key, r.title, r.body, d.urgent, r.data, d.execution_id, d.subscription_id,
                   d.channel_id, %s
            FROM direct d JOIN ledger l ON l.idempotency_key = d.key JOIN r ON r.render = d.render
            ON CONFLICT (key) DO NOTHING
            RETURNING id, key, owner_id
        )
        SELECT TRUE, d.i, s.id, s.owner_id FROM stored s JOIN direct d ON d.key = s.key
        UNION ALL
        SELECT FALSE, pairs.i, pairs.channel_id, NULL FROM pairs WHERE pairs.key NOT IN (SELECT key FROM stored)
    """  # noqa: S608 - only our table names are interpolated; values are parameters
    params = [*p_params, *r_params, inbox_kinds, DeliveryStatus.SENT, SUMMARY, now, now, now]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Every table is reached by index through = ANY(ARRAY(..)); what remains are joins of
            # this batch's few hundred rows, which the planner, estimating one row for each
            # inserting CTE, would otherwise nest into a quadratic loop.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.execute("RESET enable_nestloop")
    except DatabaseError:
        logger.exception("set-based inbox delivery rolled back", extra={"count": len(pushes)})
        return None
    stored = [(i, pk, owner) for is_stored, i, pk, owner in rows if is_stored]
    if stored:
        transaction.on_commit(
            lambda: announce([owner for *_, owner in stored], lambda n: _event(pushes, stored[n], now))
        )
    return [(i, channel_id) for is_stored, i, channel_id, _ in rows if not is_stored]


def _event(pushes: Sequence[Push], stored: tuple[int, int, int], created_at: datetime) -> dict[str, Any]:
    """The live feed's view of a stored push: the inbox's own event of it."""
    i, pk, owner = stored
    push = pushes[i]
    item = InboxItem(owner, "", push.title, push.body, push.urgent, push.data, push.execution_id, push.subscription_id)
    return event_of(item, pk, created_at)
