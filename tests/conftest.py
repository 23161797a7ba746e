"""Fixtures shared by every test: a real Redis database of our own, and helpers for real processes."""

from __future__ import annotations

import os

# Tests flush their Redis database; never let that be the one a running system uses.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from collections.abc import Iterator

import pytest
import redis

from taskhub.core.redis import get_redis


@pytest.fixture(autouse=True)
def redis_db() -> Iterator[redis.Redis]:
    """The test Redis database, empty at the start of each test."""
    client = get_redis()
    client.flushdb()
    return client
