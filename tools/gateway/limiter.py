"""A rate limiter per server, shared by every process through Redis, that serves high priority first.

Token bucket in one Lua script (atomic, Redis clock): ``rate_limit_per_s`` tokens
per second up to ``rate_burst``. Priority: a caller may take a token only if it
leaves at least its floor in the bucket: ``high`` 0, ``default`` half the
reserve, ``low`` the whole reserve (half the burst, at most burst-1). When the
quota is short, high callers drain the bucket before it ever climbs to the
others' floors, so they are served first; with ``rate_burst`` 1 there is no reserve.

Adaptive (AIMD): the effective rate is ``rate_limit_per_s x factor``. The factor
halves (down to 0.1) when the server answers 429/5xx, times out, or takes more
than half its timeout; it grows back by 0.05 per success up to 1.
"""

from __future__ import annotations

import time

from taskhub.core.errors import TemporaryError
from taskhub.core.redis import get_redis
from tools.gateway import metrics
from tools.gateway.types import Priority, ServerConfig

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'factor')
local factor = tonumber(b[3]) or 1
local rate = tonumber(ARGV[1]) * factor
local burst = tonumber(ARGV[2])
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local need = 1 + tonumber(ARGV[3])
local wait = 0
if tokens >= need then tokens = tokens - 1 else wait = math.ceil((need - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return {wait, math.floor(factor * 1000)}
"""

_ADJUST = """
local f = tonumber(redis.call('HGET', KEYS[1], 'factor')) or 1
if ARGV[1] == 'down' then f = math.max(0.1, f * 0.5) else f = math.min(1, f + 0.05) end
redis.call('HSET', KEYS[1], 'factor', tostring(f))
return tostring(f)
"""

_POLL_MAX_S = 0.05


def _key(server: str) -> str:
    return f"tools:ratelimit:{server}"


def _floor(server: ServerConfig, priority: Priority) -> float:
    reserve = min(server.rate_burst - 1, max(1, server.rate_burst // 2)) if server.rate_burst > 1 else 0
    return {"high": 0.0, "default": reserve / 2, "low": float(reserve)}[priority]


def acquire(server: ServerConfig, priority: Priority, *, deadline_s: float) -> float:
    """Take one token for ``server``, waiting up to ``deadline_s``; returns the limiter's factor.

    Raises ``TemporaryError`` when no token came in time.
    """
    started = time.monotonic()
    floor = _floor(server, priority)
    while True:
        wait_ms, factor = get_redis().eval(
            _TAKE, 1, _key(server.name), server.rate_limit_per_s, server.rate_burst, floor
        )
        if wait_ms == 0:
            metrics.LIMITER_WAIT.labels(server.name, priority).observe(time.monotonic() - started)
            return factor / 1000
        left = deadline_s - (time.monotonic() - started)
        if left <= 0:
            metrics.LIMITER_WAIT.labels(server.name, priority).observe(time.monotonic() - started)
            raise TemporaryError(
                f"{server.name}: rate limit, no slot within {deadline_s:.1f}s", fields={"server": server.name}
            )
        time.sleep(min(wait_ms / 1000, _POLL_MAX_S, left))


def slow_down(server: str) -> None:
    """Multiplicative decrease after an overload signal."""
    get_redis().eval(_ADJUST, 1, _key(server), "down")


def speed_up(server: str) -> None:
    """Additive increase after a healthy answer (only called while the factor is below 1)."""
    get_redis().eval(_ADJUST, 1, _key(server), "up")


def factor(server: str) -> float:
    """The current share of the configured rate."""
    return float(get_redis().hget(_key(server), "factor") or 1)
