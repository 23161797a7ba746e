"""A circuit breaker per server whose state lives in Redis, so every worker sees the same circuit.

pybreaker with ``CircuitRedisStorage`` (it needs a bytes Redis client). Only
transient and temporary failures count; a caller's bad arguments say nothing
about the server's health. Breakers are rebuilt when a server's config changes.
"""

from __future__ import annotations

import threading

import pybreaker

from taskhub.core.errors import PermanentError
from taskhub.core.redis import get_redis
from tools.gateway import metrics
from tools.gateway.types import ServerConfig

_STATE_VALUE = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}
_breakers: dict[str, tuple[ServerConfig, pybreaker.CircuitBreaker]] = {}
_lock = threading.Lock()


def _is_callers_fault(exc: BaseException) -> bool:
    return isinstance(exc, PermanentError)


def breaker(server: ServerConfig) -> pybreaker.CircuitBreaker:
    """The breaker of ``server`` (shared state in Redis under ``tools:breaker:<name>``)."""
    with _lock:
        held = _breakers.get(server.name)
        if held is None or held[0] != server:
            storage = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, get_redis(decode=False), namespace=f"tools:breaker:{server.name}"
            )
            held = (
                server,
                pybreaker.CircuitBreaker(
                    fail_max=server.breaker_fail_max,
                    reset_timeout=server.breaker_reset_s,
                    exclude=[_is_callers_fault],
                    state_storage=storage,
                    name=server.name,
                ),
            )
            _breakers[server.name] = held
        return held[1]


def state(server: ServerConfig) -> str:
    """``closed``, ``open`` or ``half-open``, as every process sees it; also exported as a metric."""
    current = breaker(server).current_state
    metrics.BREAKER_STATE.labels(server.name).set(_STATE_VALUE.get(current, 0))
    return current


def forget() -> None:
    """Drop this process's breaker objects (their state stays in Redis)."""
    with _lock:
        _breakers.clear()
