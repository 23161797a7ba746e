"""Chat fixtures: a scripted parser (drives the service with fixed intents) and the OpenAI-compatible stub process."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from agents.chat.intent import Draft, Manage, ParseContext, Refusal
from taskhub.channels.models import NotificationPreferences


class ScriptedParser:
    """A test stand-in for a parser: returns the intents it was given, in order, and records each context.

    Used only to drive the chat service; the real parsers are tested on their own.
    """

    def __init__(self, *intents: Draft | Manage | Refusal):
        self.intents = deque(intents)
        self.contexts: list[ParseContext] = []

    def parse(self, text: str, context: ParseContext) -> Draft | Manage | Refusal:
        self.contexts.append(context)
        return self.intents.popleft()


@pytest.fixture
def shanghai_user(alice):  # type: ignore[no-untyped-def]
    """alice, whose preferences put her in Asia/Shanghai."""
    NotificationPreferences.objects.update_or_create(owner=alice, defaults={"timezone": "Asia/Shanghai"})
    return alice


def intent_call(intent: dict[str, Any]) -> dict[str, Any]:
    """A stub step: the model reasons, then calls submit_intent with ``intent``."""
    return {"content": "Step by step: ...", "tool_call": {"name": "submit_intent", "arguments": {"intent": intent}}}
