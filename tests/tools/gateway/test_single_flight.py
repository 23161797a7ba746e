from __future__ import annotations

import pytest

import tools.gateway as gateway
from tests.concurrency import run_concurrently
from tools.gateway import services
from tools.gateway.models import ToolServer
from tools.servers import faults

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_misses_of_one_key_make_one_server_call(servers_url) -> None:
    services.tool_server_save(server=ToolServer(name="weather", url=f"{servers_url}/weather/mcp"))
    gateway.known_tools()  # discovery first: it is not what this test counts

    results = run_concurrently(lambda: gateway.call("current_weather", {"city": "Lhasa"}), times=8)

    assert faults.call_count("weather") == 1
    assert sorted(r.status for r in results) == ["cached"] * 7 + ["fresh"]
    assert len({r.data["temperature_c"] for r in results}) == 1
