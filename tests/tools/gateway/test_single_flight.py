from __future__ import annotations

import pytest

import tools.gateway as gateway
from tests.concurrency import run_concurrently
from tools.gateway import client, services
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


def test_a_miss_answered_by_another_worker_before_the_claim_is_not_fetched_again(servers_url) -> None:
    services.tool_server_save(server=ToolServer(name="weather", url=f"{servers_url}/weather/mcp"))
    first = gateway.call("current_weather", {"city": "Lhasa"})  # another worker's fetch, stored in Redis
    gateway.reset_process_state()  # this worker saw the miss before that answer landed

    # The interleaving a race produces, made deterministic: the miss is behind us, the
    # other worker's claim is released, so this worker wins the claim.
    key = client.call_key("current_weather", {"city": "Lhasa"})
    server = client._server_of("current_weather")
    answer = client._fetch_once(key, server, "default", server.cache_ttl_s)

    assert faults.call_count("weather") == 1
    assert answer.data == first.data
