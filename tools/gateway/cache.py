"""Two-level cache of tool results: a per-process TTL dict in front of Redis.

Keys are ``(tool, canonical JSON of normalised arguments)`` hashed. A fresh copy
lives ``ttl`` seconds (the server's ``cache_ttl_s``, or less when the caller asks
for ``max_age_s``); every success also refreshes a "stale" copy kept for
``TOOLS_STALE_TTL_S`` that only the breaker fallback reads. Entries carry their
fetch time, so a reader can demand any age below the TTL it was stored with.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from taskhub.core.redis import get_redis
from tools.gateway.types import CallKey


@dataclass(frozen=True)
class Entry:
    data: dict[str, Any]
    fetched_at: float  # epoch seconds
    server: str


def digest(key: CallKey) -> str:
    return hashlib.sha256(f"{key[0]}\n{key[1]}".encode()).hexdigest()[:32]


class ResultCache:
    """Thread-safe; one per process."""

    def __init__(self, max_local: int) -> None:
        self.max_local = max_local
        self._local: dict[str, tuple[float, Entry]] = {}  # digest -> (expires, entry)
        self._lock = threading.Lock()

    def get(self, key: CallKey, max_age: float) -> tuple[Entry, str] | None:
        """A copy no older than ``max_age`` and the level it came from (``local`` or ``redis``)."""
        d, now = digest(key), time.time()
        with self._lock:
            held = self._local.get(d)
        if held and held[0] > now and now - held[1].fetched_at <= max_age:
            return held[1], "local"
        raw = get_redis().get(f"tools:cache:{d}")
        if raw is None:
            return None
        entry = Entry(**json.loads(raw))
        if now - entry.fetched_at > max_age:
            return None
        ttl = get_redis().ttl(f"tools:cache:{d}")
        self._remember(d, entry, now + max(ttl, 0))
        return entry, "redis"

    def put(self, key: CallKey, entry: Entry, ttl: float) -> None:
        """Store ``entry`` fresh for ``ttl`` seconds (nothing fresh when 0) and as the stale fallback."""
        d = digest(key)
        raw = json.dumps(entry.__dict__, separators=(",", ":"))
        with get_redis().pipeline(transaction=False) as pipe:
            if ttl > 0:
                pipe.set(f"tools:cache:{d}", raw, ex=max(1, int(ttl)))
            pipe.set(f"tools:stale:{d}", raw, ex=settings.TOOLS_STALE_TTL_S)
            pipe.execute()
        if ttl > 0:
            self._remember(d, entry, time.time() + ttl)

    def stale(self, key: CallKey) -> Entry | None:
        """The last good answer for ``key``, however old (within ``TOOLS_STALE_TTL_S``)."""
        raw = get_redis().get(f"tools:stale:{digest(key)}")
        return Entry(**json.loads(raw)) if raw else None

    def clear_local(self) -> None:
        with self._lock:
            self._local.clear()

    def _remember(self, d: str, entry: Entry, expires: float) -> None:
        with self._lock:
            if len(self._local) >= self.max_local:
                # Drop the oldest half (dicts keep insertion order): cheap and bounded.
                for old in list(self._local)[: self.max_local // 2]:
                    del self._local[old]
            self._local[d] = (expires, entry)


class SingleFlight:
    """One process fetches a missing key; the others wait for its answer in the cache.

    Cost grows with distinct work, not with workers: two processes that miss the
    same key at once would otherwise both call the server. The claim is a Redis
    ``SET NX`` that expires by itself, so a fetcher that dies releases it.
    """

    def __init__(self, cache: ResultCache, key: CallKey) -> None:
        self._cache, self._key, self._flight = cache, key, f"tools:flight:{digest(key)}"

    def claim(self, hold_s: float) -> bool:
        return bool(get_redis().set(self._flight, os.getpid(), nx=True, px=max(1, int(hold_s * 1000))))

    def release(self) -> None:
        get_redis().delete(self._flight)

    def wait(self, max_age: float, timeout_s: float) -> tuple[Entry, str] | None:
        """The answer another process is fetching, if it lands within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            hit = self._cache.get(self._key, max_age)
            if hit is not None:
                return hit
            if not get_redis().exists(self._flight):  # the fetcher finished without an answer
                return self._cache.get(self._key, max_age)
            time.sleep(0.02)
        return None
