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


@cache
def _client(url: str, decode: bool) -> redis.Redis:
    # A client is thread-safe and cheap to share, but costly to build (its response
    # callbacks): the gateway asks for one on every cache lookup.
    return redis.Redis(connection_pool=_pool(url, decode))


def get_redis(*, decode: bool = True, url: str | None = None) -> redis.Redis:
    """The client on the shared pool for ``url`` (REDIS_URL by default).

    ``decode=False`` gives bytes, which pybreaker's Redis storage needs.
    """
    return _client(url or settings.REDIS_URL, decode)


def get_async_redis(*, url: str | None = None) -> redis.asyncio.Redis:
    """A new asyncio client for long-lived uses (a pub/sub stream); the caller closes it.

    Not pooled per process: asyncio connections belong to the event loop that opened them.
    """
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url or settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=30)


def pubsub_channel(name: str) -> str:
    """``name`` as a pub/sub channel of this deployment: ``<db>:<name>``.

    Keys live in REDIS_URL's database, but pub/sub channels are global to the
    server: without the database in the name, two deployments (or test runs)
    sharing a Redis on different databases would hear each other's messages.
    """
    return f"{_pool(settings.REDIS_URL, True).connection_kwargs.get('db', 0)}:{name}"
