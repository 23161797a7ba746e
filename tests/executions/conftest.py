from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processes import tool_servers


@pytest.fixture(scope="module")
def servers_url() -> Iterator[str]:
    """A real tool-server process (weather, fuel) shared by the module."""
    with tool_servers() as url:
        yield url


@pytest.fixture
def weather_server(servers_url: str, clean_gateway: None) -> str:
    """The weather and fuel servers registered in the gateway, with no fault and a zero call count."""
    from tools.gateway import registry, services
    from tools.gateway.models import ToolServer

    for name in ("weather", "fuel"):
        services.tool_server_save(server=ToolServer(name=name, url=f"{servers_url}/{name}/mcp", breaker_reset_s=1))
    registry.reset()
    return servers_url
