"""Pushing rendered messages to channels through a ledger that never sends twice.

``deliver_messages`` is the one entry point the execution pipeline calls. Per batch:

0. pushes to channels that only write our database (``in_database``: the inbox) whose
   key has no ledger row are stored by the channel, once per key, in one statement and
   without a ledger row: the channel's unique key is its ledger (``dispatch.direct``);
   the steps below handle everything else;
1. one ``bulk_create(ignore_conflicts=True)`` of ``Delivery`` rows keyed by
   ``delivery_key(subscription, fire_key, channel)``: a push is recorded once, ever;
2. one compare-and-set UPDATE claims the claimable rows (below) for this call:
   ``status -> sending`` with a fresh ``claim_token``; only rows carrying our token
   are sent, so two workers delivering the same execution send each push once;
3. one ``deliver`` call per channel kind with the claimed messages;
4. results written back in one ``UPDATE .. FROM (VALUES ..)`` (still guarded by the token).

A row is claimable when it is:
- ``pending`` (new, or a crash happened before the claim);
- ``held`` (quiet hours; claimed again, it goes out once the window is over);
- ``failed`` with a transient or temporary error (a later call retries it);
  a permanent failure is final;
- ``sending`` for longer than ``CHANNEL_SENDING_LEASE_S`` AND on a channel that
  dedupes (webhook: the retry carries the same ``webhook-id`` and the receiver drops
  the repeat; inbox: messages are unique by delivery key). A crash between send and
  record leaves email and Apprise rows in ``sending`` for good: those channels
  cannot dedupe, so they are at most once.

Outcomes: ``sent``; ``duplicate`` (already sent); ``held``; ``failed`` (with
``error_kind``; temporary while another call holds the claim: look again later);
``skipped`` (channel gone, disabled, or its kind switched off: no ledger row is written). The inbox path costs a fixed
handful of queries per batch of ``BATCH_SIZE``, however many messages it holds.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from taskhub.channels import kinds
from taskhub.channels.dispatch.direct import deliver_in_database
from taskhub.channels.dispatch.health import record_channel_health
from taskhub.channels.kinds import ChannelError, Envelope, Result
from taskhub.channels.models import Channel, Delivery, DeliveryStatus, delivery_key
from taskhub.channels.quiet import quiet_owners
from taskhub.core.bulk import update_from_values
from taskhub.core.errors import ErrorKind
from taskhub.obs import metrics

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
SENT, DUPLICATE, HELD, FAILED, SKIPPED = "sent", "duplicate", "held", "failed", "skipped"
RETRYABLE = (ErrorKind.TRANSIENT.value, ErrorKind.TEMPORARY.value)


@dataclass(frozen=True)
class OutboundMessage:
    execution_id: int
    subscription_id: int
    fire_key: str
    channel_id: int
    title: str
    body: str
    urgent: bool = False
    data: dict[str, Any] = field(default_factory=dict)  # structured payload (tool snapshot, values) for webhooks

    @property
    def key(self) -> str:
        return delivery_key(subscription_id=self.subscription_id, fire_key=self.fire_key, channel_id=self.channel_id)


@dataclass(frozen=True)
class DeliveryOutcome:
    execution_id: int
    channel_id: int
    status: str  # "sent" | "duplicate" | "held" | "failed" | "skipped"
    error_kind: ErrorKind | None = None  # set when status == "failed"
    error: str = ""


def deliver_messages(messages: Sequence[OutboundMessage]) -> list[DeliveryOutcome]:
    """Deliver each message at most once per (subscription, fire key, channel); one outcome per message, in order."""
    outcomes: list[DeliveryOutcome] = []
    for start in range(0, len(messages), BATCH_SIZE):
        outcomes.extend(_deliver_batch(messages[start : start + BATCH_SIZE]))
    for status, count in Counter(outcome.status for outcome in outcomes).items():
        metrics.PUSHES.labels(status).inc(count)
    return outcomes


def _outcome(message: OutboundMessage, status: str, error: ChannelError | None = None) -> DeliveryOutcome:
    if error is None:
        return DeliveryOutcome(message.execution_id, message.channel_id, status)
    return DeliveryOutcome(message.execution_id, message.channel_id, status, ErrorKind(error.kind), error.message)


def _claimable(keys: list[str], now: Any, dedupe_channel_ids: list[int]) -> Q:
    lease_expired = Q(
        status=DeliveryStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.CHANNEL_SENDING_LEASE_S),
        channel_id__in=dedupe_channel_ids,
    )
    return Q(idempotency_key__in=keys) & (
        Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.HELD])
        | Q(status=DeliveryStatus.FAILED, error_kind__in=RETRYABLE)
        | lease_expired
    )


def _unclaimed_outcome(message: OutboundMessage, status: str, error_kind: str, summary: str) -> DeliveryOutcome:
    if status == DeliveryStatus.HELD:
        return _outcome(message, HELD)
    if status == DeliveryStatus.FAILED:
        error = ChannelError(summary or "failed before", kind=ErrorKind(error_kind or ErrorKind.PERMANENT))
        return _outcome(message, FAILED, error)
    if status == DeliveryStatus.SENDING:
        # Another call holds the claim: it may finish, or it died mid-send. Either way the
        # caller must look again later (temporary), not count the push as delivered.
        return _outcome(message, FAILED, ChannelError("being sent by another worker", kind=ErrorKind.TEMPORARY))
    return _outcome(message, DUPLICATE)  # sent before


def _deliver_batch(messages: Sequence[OutboundMessage]) -> list[DeliveryOutcome]:
    now = timezone.now()
    token = uuid.uuid4()
    channels = Channel.objects.in_bulk({m.channel_id for m in messages})
    # Each kind's backend, looked up once per batch (None: the operator switched the kind off).
    backends = {c.kind: kinds.backend_for(c.kind) if kinds.is_enabled(c.kind) else None for c in channels.values()}
    outcomes: dict[int, DeliveryOutcome] = {}
    live: dict[str, int] = {}  # key -> index of the first message with it
    for index, message in enumerate(messages):
        channel = channels.get(message.channel_id)
        if channel is None or not channel.enabled or backends[channel.kind] is None:
            outcomes[index] = _outcome(message, SKIPPED)
        elif message.key in live:
            outcomes[index] = _outcome(message, DUPLICATE)  # the same push twice in one call
        else:
            live[message.key] = index
    quiet = quiet_owners({channels[messages[i].channel_id].owner_id for i in live.values()}, now=now)
    direct = deliver_in_database(
        [
            Envelope(message=messages[i], channel=channels[messages[i].channel_id], key=key)
            for key, i in live.items()
            if backends[channels[messages[i].channel_id].kind].in_database  # type: ignore[union-attr]
            and (messages[i].urgent or channels[messages[i].channel_id].owner_id not in quiet)
        ]
    )
    for status, envelopes in ((SENT, direct.new), (DUPLICATE, direct.repeated)):
        for envelope in envelopes:
            outcomes[live.pop(envelope.key)] = _outcome(envelope.message, status)
    record_channel_health([(envelope.channel, Result()) for envelope in direct.new])
    if not live:
        return [outcomes[i] for i in range(len(messages))]

    Delivery.objects.bulk_create(
        [
            Delivery(execution_id=messages[i].execution_id, channel_id=messages[i].channel_id, idempotency_key=key)
            for key, i in live.items()
        ],
        ignore_conflicts=True,
    )
    keys = list(live)
    dedupe_ids = [c.pk for c in channels.values() if (backend := backends[c.kind]) is not None and backend.dedupes]
    Delivery.objects.filter(_claimable(keys, now, dedupe_ids)).update(
        status=DeliveryStatus.SENDING, claim_token=token, claimed_at=now
    )
    rows = Delivery.objects.filter(idempotency_key__in=keys).values_list(
        "idempotency_key", "id", "status", "claim_token", "error_kind", "response_summary", "attempts"
    )
    to_hold: list[tuple[int, OutboundMessage]] = []
    by_kind: dict[str, list[tuple[int, Envelope, int, int]]] = defaultdict(list)
    for key, row_id, status, claim, error_kind, summary, attempts in rows:
        index = live[key]
        message = messages[index]
        channel = channels[message.channel_id]
        if claim != token or status != DeliveryStatus.SENDING:
            outcomes[index] = _unclaimed_outcome(message, status, error_kind, summary)
        elif channel.owner_id in quiet and not message.urgent:
            to_hold.append((row_id, message))
            outcomes[index] = _outcome(message, HELD)
        else:
            by_kind[channel.kind].append((index, Envelope(message=message, channel=channel, key=key), row_id, attempts))

    if to_hold:
        _hold(to_hold)
    results: list[tuple[int, int, int, Result]] = []  # (index, row id, attempts, result)
    for kind, items in by_kind.items():
        for (index, _envelope, row_id, attempts), result in zip(
            items, _send(kind, [item[1] for item in items]), strict=True
        ):
            results.append((index, row_id, attempts, result))
            error = result.error
            outcomes[index] = _outcome(messages[index], SENT if error is None else FAILED, error)
    _record(results, token)
    record_channel_health(_health_input(results, messages, channels))
    for key, index in live.items():
        if index not in outcomes:
            # No row under this key: the execution already has a delivery to this channel under
            # another key (unique execution+channel), so this push was made before.
            logger.warning("delivery exists under another key", extra={"key": key})
            outcomes[index] = _outcome(messages[index], DUPLICATE)
    return [outcomes[i] for i in range(len(messages))]


def _health_input(
    results: list[tuple[int, int, int, Result]], messages: Sequence[OutboundMessage], channels: dict[int, Channel]
) -> list[tuple[Channel, Result]]:
    return [(channels[messages[index].channel_id], result) for index, _, _, result in results]


def _send(kind: str, envelopes: list[Envelope]) -> list[Result]:
    """One batch call into the channel; a crash of the channel code fails the batch, it never leaves rows claimed."""
    try:
        results = kinds.backend_for(kind).deliver(envelopes)
    except Exception as exc:  # any bug or outage inside a channel must still be recorded in the ledger
        logger.exception("channel batch failed", extra={"kind": kind, "count": len(envelopes)})
        error = exc if isinstance(exc, ChannelError) else ChannelError(str(exc), kind=ErrorKind.TEMPORARY)
        return [Result(error=error) for _ in envelopes]
    if len(results) != len(envelopes):
        raise RuntimeError(f"channel {kind!r} returned {len(results)} results for {len(envelopes)} messages")
    return results


def _hold(items: list[tuple[int, OutboundMessage]]) -> None:
    """Park claimed rows as ``held`` with their message for the release task: one UPDATE per batch.

    ``bulk_update`` cannot add ``claim_token`` to its WHERE; these rows carry our token, and
    only a webhook past its lease could be taken from us in between (it dedupes).
    """
    Delivery.objects.bulk_update(
        [
            Delivery(pk=row_id, status=DeliveryStatus.HELD, claim_token=None, payload=dataclasses.asdict(message))
            for row_id, message in items
        ],
        ["status", "claim_token", "payload"],
    )


_RESULT_COLUMNS = (
    ("status", ""),
    ("error_kind", ""),
    ("response_summary", ""),
    ("attempts", "smallint"),
    ("claim_token", "uuid"),
    ("payload", "jsonb"),
    ("sent_at", "timestamptz"),
)


def _record(results: list[tuple[int, int, int, Result]], token: uuid.UUID) -> None:
    """Write results back in one statement, guarded by our claim (a row taken from us is left alone)."""
    now = timezone.now()
    rows = []
    for _index, row_id, attempts, result in results:
        if result.error is None:
            rows.append((row_id, DeliveryStatus.SENT, "", result.summary[:500], attempts + 1, None, None, now))
        else:
            error = result.error
            summary = (error.summary or error.message)[:500]
            rows.append((row_id, DeliveryStatus.FAILED, str(error.kind), summary, attempts + 1, None, None, None))
    update_from_values(Delivery, columns=_RESULT_COLUMNS, rows=rows, guard=("claim_token", token))
    if results:
        logger.info(
            "deliveries recorded",
            extra={"count": len(results), "failed": sum(1 for r in results if r[3].error is not None)},
        )
