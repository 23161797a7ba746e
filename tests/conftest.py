"""Fixtures shared by every test: a real Redis database of our own, and helpers for real processes."""

from __future__ import annotations

import os

# Tests flush their Redis database; never let that be the one a running system uses.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests

from taskhub.core.redis import get_redis


@pytest.fixture(autouse=True)
def redis_db() -> Iterator[redis.Redis]:
    """The test Redis database, empty at the start of each test."""
    client = get_redis()
    client.flushdb()
    return client


@pytest.fixture
def alice(django_user_model):  # type: ignore[no-untyped-def]
    """The owner in permission tests."""
    return django_user_model.objects.create_user("alice", password="alice-pass-123")


@pytest.fixture
def bob(django_user_model):  # type: ignore[no-untyped-def]
    """A stranger to alice's objects."""
    return django_user_model.objects.create_user("bob", password="bob-pass-123")


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("staff", password="staff-pass-123")


@pytest.fixture
def api_for():  # type: ignore[no-untyped-def]
    """``api_for(user)``: a DRF client authenticated as ``user`` (None: anonymous)."""
    from rest_framework.test import APIClient

    def make(user):  # type: ignore[no-untyped-def]
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def clean_gateway(redis_db):  # type: ignore[no-untyped-def]
    """This process forgets its registry snapshot, breakers and local cache (Redis is flushed already)."""
    from tools import gateway

    gateway.reset_process_state()
    yield
    gateway.reset_process_state()


@pytest.fixture(scope="session")
def tool_servers_url():  # type: ignore[no-untyped-def]
    """One real tool-server process (weather, fuel, reminder; offline providers) for the whole session."""
    from tests.processes import tool_servers

    with tool_servers() as url:
        yield url


@pytest.fixture
def tools_registry(tool_servers_url, clean_gateway):  # type: ignore[no-untyped-def]
    """The weather, fuel and reminder servers registered in the gateway, with no fault and zero call counts.

    Subscriptions validate their tool and arguments against this registry.
    """
    from tools.gateway import registry, services
    from tools.gateway.models import ToolServer

    for name in ("weather", "fuel", "reminder"):
        services.tool_server_save(
            server=ToolServer(name=name, url=f"{tool_servers_url}/{name}/mcp", breaker_reset_s=1, rate_burst=100)
        )
    registry.reset()
    return tool_servers_url


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
