"""Fixtures of the tool tests: one real tool-server process per module, and a clean gateway per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.processes import tool_servers


@pytest.fixture(scope="module")
def servers_url() -> Iterator[str]:
    """Base URL of a real ``tools.servers.app`` process shared by the module (``/weather/mcp``, ``/fuel/mcp``)."""
    with tool_servers() as url:
        yield url


@pytest.fixture(autouse=True)
def _gateway_per_test(clean_gateway: None) -> None:
    """Every tool test starts with a gateway that remembers nothing."""


@pytest.fixture
def register(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Register a tool server through the service, running its on-commit registry bump."""
    from tools.gateway import services
    from tools.gateway.models import ToolServer

    def register(name: str, url: str, **fields: Any) -> ToolServer:
        with django_capture_on_commit_callbacks(execute=True):
            return services.tool_server_save(server=ToolServer(name=name, url=url, **fields))

    return register
