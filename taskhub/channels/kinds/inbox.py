"""Inbox: pushes stored in TaskHub itself, read over REST and streamed live."""

from __future__ import annotations

from collections.abc import Sequence

from taskhub.channels.inbox import InboxItem, inbox_write
from taskhub.channels.kinds.base import Envelope, PushChannel, Result


class InboxChannel(PushChannel):
    kind = "inbox"
    # Failures here are our database's, not the user's doing: never disable an inbox.
    may_disable = False
    # A message is stored under its delivery key (unique): storing it again is a no-op,
    # so a delivery left in "sending" by a crash may safely be sent again (exactly once),
    # and a push stored directly needs no ledger row (``store``).
    dedupes = True
    in_database = True

    def deliver(self, envelopes: Sequence[Envelope]) -> list[Result]:
        """One INSERT for the whole batch; a database error propagates and fails the batch as a whole."""
        self.store(envelopes)
        return [Result(summary="stored") for _ in envelopes]

    def store(self, envelopes: Sequence[Envelope]) -> set[str]:
        """One INSERT for the whole batch: a message per delivery key, ever (the inbox is its own ledger)."""
        return inbox_write(
            [
                InboxItem(
                    owner_id=envelope.channel.owner_id,
                    key=envelope.key,
                    title=envelope.message.title,
                    body=envelope.message.body,
                    urgent=envelope.message.urgent,
                    data=envelope.message.data,
                    execution_id=envelope.message.execution_id,
                    subscription_id=envelope.message.subscription_id,
                    channel_id=envelope.channel.pk,
                )
                for envelope in envelopes
            ]
        )
