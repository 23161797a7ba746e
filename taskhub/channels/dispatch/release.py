"""Release pushes held for quiet hours once their owner's window is over."""

from __future__ import annotations

import logging

from django.utils import timezone

from taskhub.channels.dispatch import OutboundMessage, deliver_messages
from taskhub.channels.models import Delivery, DeliveryStatus
from taskhub.channels.quiet import quiet_owners

logger = logging.getLogger(__name__)

CHUNK = 1000


def release_held_deliveries(*, chunk: int = CHUNK) -> int:
    """Deliver every held push whose owner is out of quiet hours now; the number released.

    Walks held rows by id (keyset, partial index ``delivery_held``); rows still in quiet
    hours stay held. Delivery goes through ``deliver_messages``, so its ledger rules
    (claim, at most once) apply: two concurrent releases send each push once.
    """
    released, after = 0, 0
    while True:
        rows = list(
            Delivery.objects.filter(status=DeliveryStatus.HELD, id__gt=after)
            .order_by("id")
            .values_list("id", "channel__owner_id", "payload")[:chunk]
        )
        if not rows:
            return released
        after = rows[-1][0]
        quiet = quiet_owners({owner_id for _, owner_id, _ in rows}, now=timezone.now())
        due = [OutboundMessage(**payload) for _, owner_id, payload in rows if owner_id not in quiet and payload]
        outcomes = deliver_messages(due)
        released += sum(1 for outcome in outcomes if outcome.status == "sent")
        logger.info("held deliveries released", extra={"due": len(due), "sent": released})
