"""Chat conversations and their turns. Written by ``taskhub.chat.services`` only."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Language(models.TextChoices):
    EN = "en"
    ZH = "zh"


class Conversation(models.Model):
    """One user's exchange with the chat agent; ``pending_draft`` is the unfinished draft a follow-up fills.

    ``version`` counts the answered turns: a follow-up parsed against one version
    is stored only if the conversation is still at that version (compare-and-set).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    pending_draft = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["owner", "-id"], name="conversation_owner")]

    def __str__(self) -> str:
        return f"conversation {self.pk} of {self.owner_id}"


class Role(models.TextChoices):
    USER = "user"
    AGENT = "agent"


class Turn(models.Model):
    """One message: the user's text with the parsed intent, or the agent's reply (question, card, result)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    role = models.CharField(max_length=8, choices=Role.choices)
    text = models.TextField()
    intent = models.JSONField(null=True, blank=True)
    reply = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"
