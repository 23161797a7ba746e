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


@pytest.fixture
def alice(django_user_model):  # type: ignore[no-untyped-def]
    """The owner in permission tests."""
    return django_user_model.objects.create_user("alice", password="alice-pass-123")


@pytest.fixture
def bob(django_user_model):  # type: ignore[no-untyped-def]
    """A stranger to alice's objects."""
    return django_user_model.objects.create_user("bob", password="bob-pass-123")


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("staff", password="staff-pass-123")


@pytest.fixture
def api_for():  # type: ignore[no-untyped-def]
    """``api_for(user)``: a DRF client authenticated as ``user`` (None: anonymous)."""
    from rest_framework.test import APIClient

    def make(user):  # type: ignore[no-untyped-def]
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def clean_gateway(redis_db):  # type: ignore[no-untyped-def]
    """This process forgets its registry snapshot, breakers and local cache (Redis is flushed already)."""
    from tools.gateway import client, registry

    registry.reset()
    client._cache().clear_local()
    yield
    registry.reset()
