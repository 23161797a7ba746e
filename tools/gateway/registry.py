"""What every process believes about the tool servers and their tools, kept current without restarts.

Why a version counter instead of pub/sub: every registry write (services.py)
increments ``tools:registry:version`` in Redis; each process compares it with
its own copy at most every ``TOOLS_REGISTRY_REFRESH_S`` (1 s) when it calls, and
reloads the enabled servers from the database when it moved. A counter needs no
listener thread (which would not survive Celery's prefork fork), cannot miss a
message while a process is busy or starting, and costs one Redis GET a second.
So a change reaches every running worker within ~1 s of its next call.

Discovery: after a reload, each enabled server is asked ``tools/list``; the
specs are kept in Redis (``tools:specs:<server>``) so a process that cannot
reach a server can still validate calls to it and serve its stale values.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings

from taskhub.core.errors import TemporaryError
from taskhub.core.redis import get_redis
from tools.gateway import breaker
from tools.gateway import errors as classify
from tools.gateway.sessions import pool
from tools.gateway.types import ServerConfig, ToolSpec

logger = logging.getLogger(__name__)
VERSION_KEY = "tools:registry:version"


@dataclass(frozen=True)
class Snapshot:
    version: str
    servers: dict[str, ServerConfig] = field(default_factory=dict)
    tools: dict[str, ToolSpec] = field(default_factory=dict)


_snapshot: Snapshot | None = None
_checked_at = 0.0
_lock = threading.Lock()


def bump() -> None:
    """Tell every process that the registry changed (called by each registry write)."""
    get_redis().incr(VERSION_KEY)


def current(*, force: bool = False) -> Snapshot:
    """The registry as of at most ``TOOLS_REGISTRY_REFRESH_S`` ago (now, with ``force``)."""
    global _snapshot, _checked_at
    now = time.monotonic()
    if not force and _snapshot is not None and now - _checked_at < settings.TOOLS_REGISTRY_REFRESH_S:
        return _snapshot
    with _lock:
        _checked_at = time.monotonic()
        try:
            with classify.state_store():
                version = str(get_redis().get(VERSION_KEY) or "0")
        except TemporaryError as exc:
            if _snapshot is None:
                raise
            # Redis is down: the registry we have is the best there is until it is back.
            logger.warning("tool registry kept: Redis unreachable", extra={"error": str(exc.__cause__)})
            return _snapshot
        if _snapshot is None or _snapshot.version != version:
            _snapshot = _load(version, _snapshot)
        return _snapshot


def _load(version: str, previous: Snapshot | None) -> Snapshot:
    from tools.gateway.models import ToolServer

    servers = {
        row.name: ServerConfig(
            name=row.name,
            url=row.url,
            transport=row.transport,
            timeout_s=row.timeout_s,
            cache_ttl_s=row.cache_ttl_s,
            rate_limit_per_s=row.rate_limit_per_s,
            rate_burst=row.rate_burst,
            breaker_fail_max=row.breaker_fail_max,
            breaker_reset_s=row.breaker_reset_s,
        )
        for row in ToolServer.objects.filter(enabled=True)
    }
    sessions = pool()
    for name in sessions.names() - set(servers):
        sessions.drop(name)  # disabled or deleted: stop talking to it
    tools: dict[str, ToolSpec] = {}
    for server in servers.values():
        for spec in discover(server):
            if tools.setdefault(spec.name, spec) is not spec:
                logger.warning("tool name served twice", extra={"tool": spec.name, "server": server.name})
    logger.info("tool registry loaded", extra={"version": version, "servers": sorted(servers), "tools": len(tools)})
    return Snapshot(version=version, servers=servers, tools=tools)


def discover(server: ServerConfig) -> list[ToolSpec]:
    """The tools of ``server``: asked now, else the last listing kept in Redis, else none."""
    key = f"tools:specs:{server.name}"
    try:
        listed = pool().list_tools(server)
    except Exception as exc:
        logger.warning("tool discovery failed", extra={"server": server.name, "error": repr(exc)})
        raw = get_redis().get(key)
        return [ToolSpec(**spec) for spec in json.loads(raw)] if raw else []
    specs = [
        ToolSpec(
            name=tool.name,
            server=server.name,
            description=tool.description or "",
            input_schema=dict(tool.input_schema),
            output_schema=dict(tool.output_schema) if tool.output_schema else None,
        )
        for tool in listed
    ]
    try:
        get_redis().set(key, json.dumps([spec.__dict__ for spec in specs]))
    except redis.RedisError as exc:  # only the fallback listing is not kept
        logger.warning("tool listing not kept: Redis unreachable", extra={"server": server.name, "error": str(exc)})
    return specs


def reset() -> None:
    """Forget this process's snapshot and breaker objects (tests; the next call reloads)."""
    global _snapshot, _checked_at
    with _lock:
        _snapshot, _checked_at = None, 0.0
    breaker.forget()
