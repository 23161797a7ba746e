"""Where messages go (``Channel``) and the ledger of what was sent (``Delivery``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from taskhub.core.crypto import EncryptedCharField
from taskhub.executions.models import ToolSnapshot, snapshot_reference, stored_snapshot


class ChannelKind(models.TextChoices):
    INBOX = "inbox"
    WEBHOOK = "webhook"
    EMAIL = "email"
    APPRISE = "apprise"


class Channel(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Webhook signing key (``whsec_...``): shown once at creation and on rotation, never in
    # reads; encrypted at rest.
    secret = EncryptedCharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="channel_name_per_owner")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"  # claimed by compare-and-set; a send may be under way
    SENT = "sent"
    HELD = "held"  # quiet hours
    FAILED = "failed"


class Delivery(models.Model):
    """The ledger of pushes to channels outside TaskHub (and of inbox pushes held for quiet
    hours): the inbox's own unique key records the pushes stored in it directly."""

    # Both references are kept by the ORM (``on_delete`` cascades), not by database
    # constraints: a constraint's check share-locks the execution and the channel row for
    # every push, and two workers pushing to one user's channel then share that lock (a
    # multixact). A push that races its subscription's deletion may leave a ledger row whose
    # execution is gone, as the inbox may; nothing looks the ledger up by such an id.
    # Indexed by the (execution, channel) constraint's index, which leads with it.
    execution = models.ForeignKey(
        "executions.Execution",
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False)
    # subscription id, fire key and channel id: the same push can never be recorded twice
    # (a UniqueConstraint rather than unique=True: no extra LIKE index on the hot insert path).
    idempotency_key = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_summary = models.TextField(blank=True)
    error_kind = models.CharField(max_length=16, blank=True)
    # Set by the compare-and-set claim: the token of the call that owns the row while it is
    # ``sending``, and when it took it (the lease of a crashed sender starts then).
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The message, kept only while the row is ``held`` so the release task can send it later.
    payload = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "channel"], name="delivery_once_per_channel"),
            models.UniqueConstraint(fields=["idempotency_key"], name="delivery_once_per_key"),
        ]
        indexes = [models.Index(fields=["id"], condition=models.Q(status="held"), name="delivery_held")]

    def __str__(self) -> str:
        return f"delivery {self.idempotency_key} ({self.status})"


def delivery_key(*, subscription_id: int, fire_key: str, channel_id: int) -> str:
    """The idempotency key of a push: subscription, fire key and channel (set-based delivery builds it in SQL)."""
    return f"{subscription_id}:{fire_key}:{channel_id}"


def _kept_id(to: str | type[models.Model]) -> models.ForeignKey:  # type: ignore[type-arg]
    """A reference kept as a plain id: no constraint, no index, left as it is when its row goes."""
    return models.ForeignKey(
        to, models.DO_NOTHING, null=True, blank=True, db_constraint=False, db_index=False, related_name="+"
    )


# An inbox row that is a push of a run (the rest are notices).
_PUSH = models.Q(execution__isnull=False, channel__isnull=False)


class InboxMessage(models.Model):
    """A push kept in TaskHub for the user: read over REST and streamed live (SSE)."""

    # Indexed by inbox_by_owner, which leads with it. Cascaded by the ORM, not checked by a
    # database constraint: the check would share-lock the owner's row for every push, and two
    # workers storing one user's messages would then share that lock (a multixact).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="inbox_messages",
        db_index=False,
        db_constraint=False,
    )
    # Where the message came from, kept as plain ids: the inbox is the user's archive and
    # outlives what produced it (a deleted subscription or channel leaves its messages as
    # they were). No constraint and no index: a push pays neither three foreign-key checks
    # nor three index entries, and a deletion elsewhere never has to search the inbox.
    execution = _kept_id("executions.Execution")
    subscription = _kept_id("subscriptions.Subscription")
    channel = _kept_id(Channel)
    # The delivery key for pushes, ``notice:...`` for system notices. A second write of the
    # same push or notice is skipped (``inbox.STORED_ONCE``): a push is stored once per
    # (execution, channel), which is once per delivery key (one execution per subscription and
    # fire key), and a notice, which has no execution, once per key. The inbox is its own
    # ledger: a push stored directly (``dispatch.direct``, ``dispatch.pushes``) has no
    # ``Delivery`` row; one held for quiet hours, or sent after the direct write failed, has one as well.
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    urgent = models.BooleanField(default=False)
    # A push of a run refers to its run's tool snapshot (``payload``) instead of copying it
    # (about a kilobyte per push); a notice, or a push sent another way, keeps its ``data``.
    data = models.JSONField(default=dict, blank=True)
    snapshot = snapshot_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        # One index per push, not two: the unread ones (``?unread=true``, "mark all read") are
        # found by walking the owner's messages newest first, which retention keeps to
        # INBOX_RETENTION_DAYS. A partial index of unread messages cost every push a second
        # random insert (bench/floor.py, a variant without it at 2f0cab3: 66.6 to 51.8 us of row work
        # per push) and made marking a message read a non-heap-only update.
        indexes = [models.Index(fields=["owner", "-id"], name="inbox_by_owner")]
        # A push's entry follows the executions' order (the fan-out numbers a batch's executions
        # consecutively), so it lands at the end of its index; an entry of its text key landed
        # anywhere in a key index as large as the inbox (channels/0012).
        # A row is in exactly one of the two.
        constraints = [
            models.UniqueConstraint(fields=["execution", "channel"], condition=_PUSH, name="inbox_once_per_push"),
            models.UniqueConstraint(fields=["key"], condition=~_PUSH, name="inbox_once_per_notice"),
        ]

    def __str__(self) -> str:
        return f"inbox {self.pk} of {self.owner_id}: {self.title}"

    @property
    def payload(self) -> dict[str, Any]:
        """The structured part of the message (the API's ``data``): its snapshot's, or its own."""
        value = stored_snapshot(self)
        return ToolSnapshot.payload_of(value) if value is not None else self.data


class NotificationPreferences(models.Model):
    """Quiet hours: non-urgent pushes between ``quiet_start`` and ``quiet_end`` (local time) wait."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of {self.owner_id}"
