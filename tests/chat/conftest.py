"""Chat fixtures: a scripted parser (drives the service with fixed intents) and the OpenAI-compatible stub process."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
import requests

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


@pytest.fixture(scope="session")
def openai_stub_url():  # type: ignore[no-untyped-def]
    """The scripted OpenAI-compatible stub (tools/stubs/openai_stub.py) as a real process."""
    from tests.processes import asgi_server

    with asgi_server("tools.stubs.openai_stub:app") as url:
        yield url


class Stub:
    def __init__(self, url: str):
        self.url = url

    def script(self, *steps: dict[str, Any]) -> None:
        requests.post(f"{self.url}/_script", json={"responses": list(steps)}, timeout=5).raise_for_status()

    def seen(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_requests", timeout=5).json()["requests"]


@pytest.fixture
def llm_stub(openai_stub_url, settings):  # type: ignore[no-untyped-def]
    """The LLM configured to be the stub (no retries, short timeout), with an empty script."""
    requests.post(f"{openai_stub_url}/_reset", timeout=5).raise_for_status()
    settings.OPENAI_BASE_URL = f"{openai_stub_url}/v1"
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_MAX_RETRIES = 0
    settings.OPENAI_TIMEOUT = 0.5
    return Stub(openai_stub_url)


def intent_call(intent: dict[str, Any]) -> dict[str, Any]:
    """A stub step: the model reasons, then calls submit_intent with ``intent``."""
    return {"content": "Step by step: ...", "tool_call": {"name": "submit_intent", "arguments": {"intent": intent}}}
