"""``/healthz``: is this process able to reach what it depends on?"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from taskhub.core.redis import get_redis

logger = logging.getLogger(__name__)


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_redis() -> str | None:
    try:
        get_redis(url=settings.REDIS_URL).ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis answer; 503 naming each one that does not."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    failing = {name: error for name, error in checks.items() if error}
    if failing:
        logger.warning("health check failed", extra={"failing": sorted(failing)})
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok", "checks": {name: "ok" for name in checks}})
