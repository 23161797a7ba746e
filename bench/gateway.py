"""Calls per second through the tool gateway, measured in one run.

    make bench BENCH=gateway [ARGS="--calls N"]

Starts the tool servers (a real uvicorn process on a free port), registers them,
and measures `current_weather` calls from sync code:
- warm: every call answered by the per-process cache;
- cold: every call reaches the server over the long-lived session (cache_ttl_s 0);
- new_client: a new MCP client per call (asyncio.run + handshake), for comparison.
The last line printed is one JSON object with the figures.
Runs on a throw-away database, against the same real PostgreSQL and Redis as the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time

from _setup import bench_database


def _rate(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    calls = parser.parse_args().calls
    with bench_database():
        _run(calls)


def _run(calls: int) -> None:
    from mcp import Client

    import tools.gateway as gateway
    from tests.processes import tool_servers
    from tools.gateway import services
    from tools.gateway.models import ToolServer
    from tools.geo import PLACES

    cities = [p.name for p in PLACES]
    with tool_servers() as url:
        ToolServer.objects.filter(name="weather").delete()
        server = services.tool_server_save(
            server=ToolServer(
                name="weather", url=f"{url}/weather/mcp", cache_ttl_s=0, rate_limit_per_s=100_000, rate_burst=100_000
            )
        )
        from tools.gateway import registry

        registry.bump()
        gateway.call("current_weather", {"city": "Beijing"})  # open the session, discover
        cold = _rate(calls, lambda i: gateway.call("current_weather", {"city": cities[i % len(cities)]}))
        server.cache_ttl_s = 3600
        services.tool_server_save(server=server)
        registry.bump()
        time.sleep(1.1)
        for city in cities:
            gateway.call("current_weather", {"city": city})
        warm = _rate(calls * 10, lambda i: gateway.call("current_weather", {"city": cities[i % len(cities)]}))

        async def once(city: str) -> None:
            async with Client(f"{url}/weather/mcp", cache=None) as client:
                await client.call_tool("current_weather", {"city": city})

        fresh = _rate(max(20, calls // 5), lambda i: asyncio.run(once(cities[i % len(cities)])))
        ToolServer.objects.filter(name="weather").delete()
    figures = {
        "warm_cache_calls_per_s": round(warm),
        "cold_cache_calls_per_s": round(cold),
        "new_client_per_call_calls_per_s": round(fresh, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(f"warm cache (process cache hit):        {warm:10.0f} calls/s")
    print(f"cold cache (long-lived session):       {cold:10.0f} calls/s  ({1000 / cold:.1f} ms/call)")
    print(f"new MCP client per call (no session):  {fresh:10.1f} calls/s  ({1000 / fresh:.1f} ms/call)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
