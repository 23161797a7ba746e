"""Settings of the tool servers, read from the environment here and nowhere else.

The tool servers run without Django (they are separate processes that only need
Redis), so they do not read ``taskhub.settings``; every variable below is in the
README's configuration table and ``docker/.env.example``.
"""

from __future__ import annotations

import os
from datetime import date

import redis

from taskhub.core.redis import get_redis


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip() or default


REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
# offline: deterministic, no network (default). open-meteo: https://open-meteo.com, no key needed.
WEATHER_PROVIDER = _env("TOOLS_WEATHER_PROVIDER", "offline")
OPEN_METEO_URL = _env("TOOLS_OPEN_METEO_URL", "https://api.open-meteo.com/v1/forecast")
OPEN_METEO_AQI_URL = _env("TOOLS_OPEN_METEO_AQI_URL", "https://air-quality-api.open-meteo.com/v1/air-quality")
UPSTREAM_TIMEOUT_S = float(_env("TOOLS_UPSTREAM_TIMEOUT", "5"))
# The offline fuel series moves every 14 days; a date (ISO 8601) pins it, so tests and
# demos that name a price ("Shanghai 92 is 7.95") hold on any day. Empty: today.
FUEL_DATE = _env("TOOLS_FUEL_DATE", "")
HOST = _env("TOOLS_HOST", "127.0.0.1")
PORT = int(_env("TOOLS_PORT", "8100"))

try:
    FUEL_DAY = date.fromisoformat(FUEL_DATE) if FUEL_DATE else None
except ValueError:
    raise RuntimeError(f"TOOLS_FUEL_DATE must be a date like 2026-11-25, not {FUEL_DATE!r}") from None

if WEATHER_PROVIDER not in ("offline", "open-meteo"):
    raise RuntimeError(f"TOOLS_WEATHER_PROVIDER must be 'offline' or 'open-meteo', not {WEATHER_PROVIDER!r}")


def redis_client() -> redis.Redis:
    """The tool servers' Redis (fault switch, call counts, fuel overrides), decoded to str.

    Goes through ``taskhub.core.redis.get_redis`` with an explicit URL, which does
    not need Django settings.
    """
    return get_redis(url=REDIS_URL)
