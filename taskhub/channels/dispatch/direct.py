"""Channels that only write TaskHub's own database (the inbox): push and ledger row in one transaction.

A new push has its ledger row inserted already ``sent`` in the same transaction as
the channel's own write, so both become true at commit or neither does: no claim,
no second write of the row, and nothing for a crash to leave in ``sending``. Keys
that already have a ledger row (a retry, a redelivery, a message held for quiet
hours) are left to the claiming path in ``dispatch``, which knows what their status
means; so is a batch whose write fails.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import DatabaseError, transaction

from taskhub.channels import kinds
from taskhub.channels.kinds import ChannelError, Envelope, Result
from taskhub.channels.models import Delivery, DeliveryStatus
from taskhub.core.bulk import insert_rows
from taskhub.core.errors import ErrorKind

logger = logging.getLogger(__name__)

SUMMARY = "stored"


def deliver_in_database(envelopes: Sequence[Envelope], *, now: datetime) -> dict[str, Result]:
    """Deliver each envelope whose key has no ledger row yet; the results of those, by key."""
    by_kind: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in envelopes:
        by_kind[envelope.channel.kind].append(envelope)
    done: dict[str, Result] = {}
    for kind, group in by_kind.items():
        try:
            with transaction.atomic():
                new_keys = _insert_sent(group, now=now)
                fresh = [e for e in group if e.key in new_keys]
                results = kinds.backend_for(kind).deliver(fresh) if fresh else []
                if len(results) != len(fresh) or any(r.error is not None for r in results):
                    raise ChannelError(f"channel {kind!r} stored part of a batch", kind=ErrorKind.TEMPORARY)
        except (DatabaseError, ChannelError):
            logger.exception("in-database delivery rolled back", extra={"kind": kind, "count": len(group)})
            continue
        done.update((e.key, r) for e, r in zip(fresh, results, strict=True))
    return done


def _insert_sent(envelopes: Sequence[Envelope], *, now: datetime) -> set[str]:
    """Ledger rows for ``envelopes`` as ``sent``; returns the keys that were new (one statement)."""
    returned = insert_rows(
        Delivery,
        columns=(("execution_id", "bigint"), ("channel_id", "bigint"), ("idempotency_key", "")),
        rows=[(e.message.execution_id, e.channel.pk, e.key) for e in envelopes],
        constants={
            "status": f"'{DeliveryStatus.SENT}'",
            "attempts": "1",
            "response_summary": f"'{SUMMARY}'",
            "error_kind": "''",
            "created_at": "%s",
            "sent_at": "%s",
        },
        constant_params=[now, now],
        conflict="ON CONFLICT DO NOTHING",
        returning=("idempotency_key",),
    )
    return {key for (key,) in returned}
