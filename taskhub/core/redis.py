"""The one place that opens Redis connections (pooled per process)."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def _pool(url: str, decode: bool) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(
        url, decode_responses=decode, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )


def get_redis(*, decode: bool = True, url: str | None = None) -> redis.Redis:
    """A client on the shared pool for ``url`` (REDIS_URL by default).

    ``decode=False`` gives bytes, which pybreaker's Redis storage needs.
    """
    return redis.Redis(connection_pool=_pool(url or settings.REDIS_URL, decode))


def get_async_redis(*, url: str | None = None) -> redis.asyncio.Redis:
    """A new asyncio client for long-lived uses (a pub/sub stream); the caller closes it.

    Not pooled per process: asyncio connections belong to the event loop that opened them.
    """
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url or settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=30)
