"""Prometheus metrics of the gateway (exposed by whatever serves the process's registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter("taskhub_tool_calls_total", "Tool calls by outcome", ["server", "tool", "outcome"])
LATENCY = Histogram(
    "taskhub_tool_call_seconds",
    "Latency of tool calls that reached the server",
    ["server", "tool"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_HITS = Counter("taskhub_tool_cache_hits_total", "Cache hits by level", ["server", "level"])
# Across processes (PROMETHEUS_MULTIPROC_DIR): the state a process saw last.
BREAKER_STATE = Gauge(
    "taskhub_tool_breaker_state", "0 closed, 1 half-open, 2 open", ["server"], multiprocess_mode="mostrecent"
)
LIMITER_WAIT = Histogram(
    "taskhub_tool_limiter_wait_seconds",
    "Time spent waiting for the rate limiter",
    ["server", "priority"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
