"""Shared rate limits across processes, and registry changes reaching a running process."""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from tests.processes import python_module
from tools.gateway import services
from tools.gateway.models import ToolServer
from tools.servers import faults

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

RATE, BURST, SECONDS = 10.0, 4, 2.5


def _caller(priority: str) -> contextlib.AbstractContextManager:
    args = ["call", "fuel_price", json.dumps({"region": "广东"}), priority, str(SECONDS), "0"]
    return python_module("tests.tools.gateway.gateway_proc", *args)


def _outcomes(proc) -> list[dict]:
    out, _ = proc.communicate(timeout=60)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_two_processes_never_exceed_the_quota_and_high_priority_is_served_first(servers_url) -> None:
    services.tool_server_save(
        server=ToolServer(
            name="fuel",
            url=f"{servers_url}/fuel/mcp",
            cache_ttl_s=0,
            rate_limit_per_s=RATE,
            rate_burst=BURST,
            timeout_s=1,
        )
    )
    with _caller("high") as high, _caller("low") as low:
        high_out, low_out = _outcomes(high), _outcomes(low)
    times = faults.call_times("fuel")
    # Quota: in any window of w seconds at most burst + rate * w calls reach the server.
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            window = times[j] - start
            assert j - i + 1 <= BURST + RATE * window + 1, (i, j, window)
    served_high = sum(1 for o in high_out if o.get("status") == "fresh")
    served_low = sum(1 for o in low_out if o.get("status") == "fresh")
    assert served_high + served_low == len(times)
    assert served_high >= 15
    assert served_high > 3 * served_low
    assert any(o.get("error") == "temporary" for o in low_out)  # low waited past its deadline


def _watch_until(proc, predicate, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        line = proc.stdout.readline()
        if line and predicate(set(json.loads(line))):
            return time.monotonic() - started
    raise AssertionError("the running process did not see the change in time")


def test_running_process_sees_a_new_server_and_a_disabled_one_within_5_seconds(servers_url) -> None:
    weather = services.tool_server_save(server=ToolServer(name="weather", url=f"{servers_url}/weather/mcp"))
    with python_module("tests.tools.gateway.gateway_proc", "watch") as proc:
        _watch_until(proc, lambda tools: "current_weather" in tools, timeout=30)  # started and loaded
        services.tool_server_save(server=ToolServer(name="fuel", url=f"{servers_url}/fuel/mcp"))
        assert _watch_until(proc, lambda tools: "fuel_price" in tools) < 5
        weather.enabled = False
        services.tool_server_save(server=weather)
        assert _watch_until(proc, lambda tools: "current_weather" not in tools) < 5


def test_a_running_celery_worker_uses_a_new_server_and_drops_a_disabled_one_within_5_seconds(
    servers_url, tmp_path
) -> None:
    from agents.worker.gateway_tasks import preheat
    from taskhub import queues
    from tests.processes import celery_worker, wait_until

    low = queues.route(queues.LOW).options()
    weather = services.tool_server_save(server=ToolServer(name="weather", url=f"{servers_url}/weather/mcp"))
    with celery_worker(queues=["low"], concurrency=1, log_path=tmp_path / "worker.log"):
        preheat.apply_async(args=[[["current_weather", {"city": "Beijing"}]]], **low)
        wait_until(lambda: faults.call_count("weather") == 1, timeout=30, what="the worker to start")

        services.tool_server_save(server=ToolServer(name="fuel", url=f"{servers_url}/fuel/mcp"))
        registered = time.monotonic()
        while faults.call_count("fuel") == 0:  # ask until the running worker knows the new server
            assert time.monotonic() - registered < 5, "the worker did not pick up the new server within 5 s"
            preheat.apply_async(args=[[["fuel_price", {"region": "Shanghai"}]]], kwargs={"max_age_s": 0}, **low)
            time.sleep(0.2)

        weather.enabled = False
        services.tool_server_save(server=weather)
        time.sleep(5)
        weather_calls, fuel_calls = faults.call_count("weather"), faults.call_count("fuel")
        preheat.apply_async(args=[[["current_weather", {"city": "Shanghai"}]]], **low)
        preheat.apply_async(args=[[["fuel_price", {"region": "Beijing"}]]], kwargs={"max_age_s": 0}, **low)  # marker
        wait_until(lambda: faults.call_count("fuel") > fuel_calls, timeout=10, what="the marker call")
        assert faults.call_count("weather") == weather_calls  # the disabled server was not called
