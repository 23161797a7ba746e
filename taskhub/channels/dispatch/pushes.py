"""A batch of executions' messages, each for every enabled channel of its subscription.

``deliver_pushes`` is what the execution pipeline calls, with one push per lot of
executions that get the same message. It finds their channels itself, so a batch
of a fan-out never becomes one Python object per (execution, channel):

- on PostgreSQL, pushes to the inbox are stored by one statement that joins the
  batch to the subscriptions' channels, inserts the inbox rows (the inbox is its own
  ledger: it stores a push once per execution and channel, and no ``Delivery`` row is written), and
  returns what it stored plus every other (execution, channel) pair. Pushes of one
  render share their title, body and data objects, which travel once (``bulk``
  shared columns). An owner with quiet hours set, another kind of channel, or a push
  the inbox already holds (a retry, a redelivery) is left to ``deliver_messages``,
  which knows what each case means;
- on SQLite (``make run``), or if that statement fails, every pair goes through
  ``deliver_messages``.

Either way a push is recorded once per (subscription, fire key, channel): the
inbox's unique (execution, channel) decides for the inbox (an execution is unique per
subscription and fire key), the ledger's key for other channels, as in ``deliver_messages``.
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
from taskhub.channels.dispatch import FAILED, SENT, DeliveryOutcome, OutboundMessage, deliver_messages
from taskhub.channels.inbox import STORED_ONCE, InboxItem, announce, event_of
from taskhub.channels.kinds.inbox import InboxChannel
from taskhub.channels.models import (
    Channel,
    InboxMessage,
    NotificationPreferences,
)
from taskhub.core.bulk import ids_in, insert_skipping_conflicts, rows_relation
from taskhub.obs import metrics
from taskhub.subscriptions.models import Subscription

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Push:
    """One message for executions of one fire key (a runner's lot): each of them gets it on the
    enabled channels of its subscription. ``title``, ``body`` and ``data`` objects are shared
    between the pushes of one render."""

    execution_ids: Sequence[int]
    subscription_ids: Sequence[int]  # of each execution, in the same order
    fire_key: str
    title: str
    body: str
    urgent: bool
    data: dict[str, Any]
    # The run's stored tool snapshot whose payload ``data`` is: an inbox row refers to it
    # instead of storing a copy (``InboxMessage.payload``). None: rows store ``data``.
    snapshot_id: int | None = None

    def to(self, execution_id: int, subscription_id: int, channel_id: int) -> OutboundMessage:
        """This push to one of its executions, for one channel, as ``deliver_messages`` takes it."""
        return OutboundMessage(
            execution_id,
            subscription_id,
            self.fire_key,
            channel_id,
            self.title,
            self.body,
            urgent=self.urgent,
            data=self.data,
        )


# (index of the push, execution id, subscription id, channel id): one message to deliver.
Pair = tuple[int, int, int, int]


def deliver_pushes(pushes: Sequence[Push]) -> list[DeliveryOutcome]:
    """Deliver each push on its executions' subscriptions' enabled channels; returns the failed deliveries only."""
    if not any(push.execution_ids for push in pushes):
        return []
    pairs: list[Pair] | None = None
    if connection.vendor == "postgresql" and (inbox_kinds := _inbox_kinds()):
        pairs = _store_inbox(pushes, inbox_kinds, now=timezone.now())
    if pairs is None:
        pairs = _all_pairs(pushes)
    messages = [pushes[n].to(execution_id, sub_id, channel_id) for n, execution_id, sub_id, channel_id in pairs]
    return [outcome for outcome in deliver_messages(messages) if outcome.status == FAILED]


def _inbox_kinds() -> list[str]:
    """The enabled kinds the inbox backend serves: the ones this module may store directly."""
    return [
        kind
        for kind in settings.CHANNEL_BACKENDS
        if kinds.is_enabled(kind) and isinstance(kinds.backend_for(kind), InboxChannel)
    ]


def _all_pairs(pushes: Sequence[Push]) -> list[Pair]:
    """Every enabled channel of each push's executions' subscriptions (one query)."""
    by_subscription: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for n, push in enumerate(pushes):
        for execution_id, sub_id in zip(push.execution_ids, push.subscription_ids, strict=True):
            by_subscription[sub_id].append((n, execution_id))
    through = Subscription.channels.through.objects.filter(
        subscription_id__in=ids_in(by_subscription), channel_id__in=Channel.objects.filter(enabled=True).values("id")
    )
    return [
        (n, execution_id, sub_id, channel_id)
        for sub_id, channel_id in through.values_list("subscription_id", "channel_id")
        for n, execution_id in by_subscription[sub_id]
    ]


_EXECUTION_COLUMNS = (("execution_id", "bigint"), ("subscription_id", "bigint"), ("push", "int"))
_PUSH_COLUMNS = (
    ("push", "int"),
    ("fire_key", ""),
    ("urgent", "boolean"),
    ("title", ""),
    ("body", ""),
    ("data", "jsonb"),
    ("snapshot_id", "bigint"),
)
_IN_SNAPSHOT: dict[str, Any] = {}  # the data of an inbox row that refers to its snapshot: never changed


def _store_inbox(pushes: Sequence[Push], inbox_kinds: list[str], *, now: datetime) -> list[Pair] | None:
    """Store the inbox pushes in one statement; the other pairs, or None if it failed."""
    execution_rows = [
        (execution_id, sub_id, n)
        for n, push in enumerate(pushes)
        for execution_id, sub_id in zip(push.execution_ids, push.subscription_ids, strict=True)
    ]
    push_rows = [
        (n, p.fire_key, p.urgent, p.title[:200], p.body, _IN_SNAPSHOT if p.snapshot_id else p.data, p.snapshot_id)
        for n, p in enumerate(pushes)
    ]
    e_source, e_params = rows_relation(_EXECUTION_COLUMNS, execution_rows)
    p_source, p_params = rows_relation(_PUSH_COLUMNS, push_rows, shared=("title", "body", "data"))
    q = connection.ops.quote_name

    def statement(conflict: str) -> str:
        return f"""
            WITH e AS (SELECT * FROM {e_source}), p AS (SELECT * FROM {p_source}),
            sc AS (
                SELECT subscription_id, channel_id FROM {q(Subscription.channels.through._meta.db_table)}
                WHERE subscription_id = ANY(ARRAY(SELECT subscription_id FROM e))
            ),
            c AS (
                SELECT id, owner_id, kind FROM {q(Channel._meta.db_table)}
                WHERE id = ANY(ARRAY(SELECT channel_id FROM sc)) AND enabled
            ),
            pairs AS (
                SELECT e.push, e.execution_id, e.subscription_id, c.id AS channel_id, c.owner_id, c.kind, p.urgent
                FROM e JOIN p ON p.push = e.push
                       JOIN sc ON sc.subscription_id = e.subscription_id JOIN c ON c.id = sc.channel_id
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
            stored AS (  -- the inbox is its own ledger: a push once per execution and channel, no Delivery row
                INSERT INTO {q(InboxMessage._meta.db_table)} (owner_id, key, title, body, urgent, data, snapshot_id,
                                                              execution_id, subscription_id, channel_id, created_at)
                SELECT d.owner_id, d.subscription_id || ':' || p.fire_key || ':' || d.channel_id,  -- delivery_key()
                       p.title, p.body, d.urgent, p.data, p.snapshot_id, d.execution_id, d.subscription_id,
                       d.channel_id, %s
                FROM direct d JOIN p ON p.push = d.push
                {conflict}
                RETURNING id, execution_id, channel_id, owner_id
            )
            SELECT TRUE, d.push, d.execution_id, d.subscription_id, s.id, s.owner_id
            FROM stored s JOIN direct d ON d.execution_id = s.execution_id AND d.channel_id = s.channel_id
            UNION ALL
            SELECT FALSE, pairs.push, pairs.execution_id, pairs.subscription_id, pairs.channel_id, NULL
            FROM pairs LEFT JOIN stored s ON s.execution_id = pairs.execution_id AND s.channel_id = pairs.channel_id
            WHERE s.id IS NULL
        """  # noqa: S608 - only our table names are interpolated; values are parameters

    params = [*e_params, *p_params, inbox_kinds, now]

    def insert(conflict: str) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            # Every table is reached by index through = ANY(ARRAY(..)); what remains are joins of
            # this batch's rows, which the planner, estimating one row for each inserting CTE,
            # would otherwise nest into a quadratic loop.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(statement(conflict), params)
            rows = cursor.fetchall()
            cursor.execute("RESET enable_nestloop")
            return rows

    try:
        with transaction.atomic():
            # A push the inbox holds (a batch run again) is rare: skipped only when met.
            rows = insert_skipping_conflicts(insert, STORED_ONCE)
    except DatabaseError:
        logger.exception("set-based inbox delivery rolled back", extra={"count": len(execution_rows)})
        return None
    stored = [row[1:] for row in rows if row[0]]
    metrics.PUSHES.labels(SENT).inc(len(stored))
    if stored:
        transaction.on_commit(
            lambda: announce([owner for *_, owner in stored], lambda i: _event(pushes, stored[i], now))
        )
    return [row[1:5] for row in rows if not row[0]]


def _event(pushes: Sequence[Push], stored: tuple[int, int, int, int, int], created_at: datetime) -> dict[str, Any]:
    """The live feed's view of a stored push: the inbox's own event of it."""
    n, execution_id, sub_id, pk, owner = stored
    push = pushes[n]
    item = InboxItem(owner, "", push.title, push.body, push.urgent, push.data, execution_id, sub_id)
    return event_of(item, pk, created_at)
