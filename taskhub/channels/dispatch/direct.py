"""Channels that only write TaskHub's own database (the inbox): their rows are their own ledger.

Such a channel stores a push under its delivery key, unique in its table, in one
statement: a new key is the push made, a key stored before is a repeat. No
``Delivery`` row is written for it, so nothing can be left in ``sending`` and
nothing is written twice. Keys the ledger already holds (a push held for quiet
hours, or one that went through the claiming path after this one failed) are left
to the claiming path in ``dispatch``, which knows what their status means; so is a
batch whose write fails.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction

from taskhub.channels import kinds
from taskhub.channels.kinds import Envelope
from taskhub.channels.models import Delivery

logger = logging.getLogger(__name__)


@dataclass
class Stored:
    """What ``deliver_in_database`` did with the envelopes it stored."""

    new: list[Envelope] = field(default_factory=list)  # stored now: pushed
    repeated: list[Envelope] = field(default_factory=list)  # stored before: a duplicate


def deliver_in_database(envelopes: Sequence[Envelope]) -> Stored:
    """Store each envelope whose key has no ledger row; envelopes left out are the claiming path's."""
    if not envelopes:
        return Stored()
    keys = [envelope.key for envelope in envelopes]
    in_ledger = set(Delivery.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    by_kind: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in envelopes:
        if envelope.key not in in_ledger:
            by_kind[envelope.channel.kind].append(envelope)
    done = Stored()
    for kind, group in by_kind.items():
        try:
            with transaction.atomic():
                new_keys = kinds.backend_for(kind).store(group)
        except DatabaseError:
            logger.exception("in-database delivery rolled back", extra={"kind": kind, "count": len(group)})
            continue
        for envelope in group:
            (done.new if envelope.key in new_keys else done.repeated).append(envelope)
    return done
