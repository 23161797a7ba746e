"""Where messages go (``Channel``) and the ledger of what was sent (``Delivery``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
    execution = models.ForeignKey("executions.Execution", on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    # subscription id, fire key and channel id: the same push can never be recorded twice.
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["execution", "channel"], name="delivery_once_per_channel")]

    def __str__(self) -> str:
        return f"delivery {self.idempotency_key} ({self.status})"


def delivery_key(*, subscription_id: int, fire_key: str, channel_id: int) -> str:
    """The idempotency key of a push: subscription, fire key and channel."""
    return f"{subscription_id}:{fire_key}:{channel_id}"
