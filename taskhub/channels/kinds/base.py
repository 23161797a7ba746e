"""The contract every push channel implements: deliver a batch, say how each item went.

A channel is one class with one method. It never touches the ledger (``Delivery``):
``taskhub.channels.dispatch`` claims rows, calls ``deliver`` once per kind with the
claimed items, and records the results. A channel reports each item's failure as a
``ChannelError`` whose ``kind`` (transient, temporary, permanent) is decided where
the failure arises, e.g. a 503 is temporary, a 404 permanent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from taskhub.core.errors import ErrorKind, InvalidInput, TaskHubError

if TYPE_CHECKING:
    from taskhub.channels.dispatch import OutboundMessage
    from taskhub.channels.models import Channel


class ChannelError(TaskHubError):
    """A push that did not go through. ``kind`` decides whether a later call may retry it."""

    def __init__(self, message: str, *, kind: ErrorKind, summary: str = "") -> None:
        super().__init__(message, kind=kind)
        self.summary = summary or message


class ChannelGone(ChannelError):
    """The receiver says the channel no longer exists (HTTP 410): disable it now."""

    def __init__(self, message: str, *, summary: str = "") -> None:
        super().__init__(message, kind=ErrorKind.PERMANENT, summary=summary)


@dataclass(frozen=True)
class Envelope:
    """One claimed push: the message, its channel, and the ledger key (stable across retries)."""

    message: OutboundMessage
    channel: Channel
    key: str


@dataclass(frozen=True)
class Result:
    """How one envelope went: ``error`` is None on success; ``summary`` goes to the ledger."""

    summary: str = ""
    error: ChannelError | None = None


class PushChannel:
    """Base class of channel kinds. Subclasses set ``kind`` and implement ``deliver``.

    ``dedupes`` says whether the receiver can recognise a repeat of the same key
    (a webhook's ``webhook-id``): only such channels are re-sent after a crash left a
    delivery in ``sending``. ``may_disable`` is False where failures are ours, not the user's.
    ``in_database`` channels write only TaskHub's own database, under a unique key:
    their rows are their own ledger (``store``), and no ``Delivery`` row is written.
    """

    kind: ClassVar[str]
    dedupes: ClassVar[bool] = False
    may_disable: ClassVar[bool] = True
    # True when the channel only writes TaskHub's own database, once per key (``store``).
    in_database: ClassVar[bool] = False

    def deliver(self, envelopes: Sequence[Envelope]) -> list[Result]:
        """Send every envelope; return one ``Result`` per envelope, in order. Never raise per item."""
        raise NotImplementedError

    def store(self, envelopes: Sequence[Envelope]) -> set[str]:
        """``in_database`` channels: write the envelopes whose key was never written, in the caller's
        transaction, all or nothing (raise); return their keys. A key written before is a repeat."""
        raise NotImplementedError

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config to store, normalised; ``InvalidInput`` naming ``config.<field>`` when wrong."""
        return {}

    @staticmethod
    def require_str(config: dict[str, Any], name: str) -> str:
        value = config.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(
                f"config.{name}: required", fields={f"config.{name}": ["a non-empty string is required"]}
            )
        return value.strip()
