"""The call pipeline: validate, cache, breaker, rate limit, session, classify, record.

Order for one (tool, args): validate against the tool's input schema (before
anything else, so bad input never costs a call) -> fresh cache (process, then
Redis) -> breaker (open: stale copy or ``TemporaryError``) -> rate limiter ->
the long-lived session -> cache the answer. ``call_many`` does the same for
each distinct key, concurrently on a bounded thread pool over the shared sessions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jsonschema
import pybreaker
from django.conf import settings

from taskhub.core.canonical import canonical_json
from taskhub.core.errors import InvalidInput, PermanentError, TaskHubError, TemporaryError, TransientError
from tools.gateway import breaker, limiter, metrics, registry
from tools.gateway import errors as classify
from tools.gateway.cache import Entry, ResultCache, SingleFlight
from tools.gateway.sessions import pool
from tools.gateway.types import CallKey, Priority, ServerConfig, ToolResult, ToolSpec

logger = logging.getLogger(__name__)
PRIORITIES = ("high", "default", "low")


@cache
def _cache() -> ResultCache:
    return ResultCache(settings.TOOLS_LOCAL_CACHE_SIZE)


def known_tools() -> dict[str, ToolSpec]:
    """Every tool of every enabled server, by name."""
    return dict(registry.current().tools)


def _spec(tool: str) -> ToolSpec:
    snapshot = registry.current()
    if tool not in snapshot.tools:
        snapshot = registry.current(force=True)  # maybe registered a moment ago
    if tool not in snapshot.tools:
        raise PermanentError(f"unknown tool {tool!r}", fields={"tool": "unknown or disabled tool"})
    return snapshot.tools[tool]


_validators: dict[str, tuple[ToolSpec, Any]] = {}


def _validator(spec: ToolSpec) -> Any:
    """A compiled validator per tool, rebuilt when the tool's spec changes."""
    held = _validators.get(spec.name)
    if held is None or held[0] is not spec:
        cls = jsonschema.validators.validator_for(spec.input_schema, default=jsonschema.Draft202012Validator)
        held = _validators[spec.name] = (spec, cls(spec.input_schema))
    return held[1]


def validate_arguments(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """``args`` checked against ``tool``'s input schema, with schema defaults filled in.

    Raises ``PermanentError`` for an unknown tool and ``InvalidInput`` naming each bad field.
    """
    spec = _spec(tool)
    if not isinstance(args, dict):
        raise InvalidInput(f"{tool}: arguments must be an object", fields={"arguments": "must be an object"})
    errors = sorted(_validator(spec).iter_errors(args), key=lambda e: list(e.absolute_path))
    fields = {(".".join(map(str, e.absolute_path)) or _missing(e) or "arguments"): e.message for e in errors}
    # Only declared arguments (unless the schema says otherwise): nothing else is stored, keyed or templated.
    declared = spec.input_schema.get("properties")
    if isinstance(declared, dict) and "additionalProperties" not in spec.input_schema:
        fields |= {name: f"{tool} takes no argument {name!r}" for name in args if name not in declared}
    if fields:
        raise InvalidInput(f"{tool}: invalid arguments: {', '.join(sorted(fields))}", fields=fields)
    defaults = {k: v["default"] for k, v in spec.input_schema.get("properties", {}).items() if "default" in v}
    return defaults | args


def _missing(error: jsonschema.ValidationError) -> str | None:
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return missing[0] if missing else None
    return None


# (tool, canonical JSON of the args as given) -> (the spec it was checked against, its key).
# A batch of 500 executions names a few distinct calls: each is checked against the
# schema once per process and spec version, not once per execution.
_keys: dict[tuple[str, str], tuple[ToolSpec, CallKey]] = {}
_KEYS_HELD = 50_000


def call_key(tool: str, args: dict[str, Any]) -> CallKey:
    """The key that identifies a call: equal keys are called once and share a cache entry."""
    given = (tool, canonical_json(args))
    spec = _spec(tool)
    held = _keys.get(given)
    if held is not None and held[0] is spec:
        return held[1]
    key = tool, canonical_json(validate_arguments(tool, args))
    if len(_keys) >= _KEYS_HELD:
        _keys.clear()
    _keys[given] = (spec, key)
    return key


def _result(entry: Entry, status: str) -> ToolResult:
    return ToolResult(entry.data, status, datetime.fromtimestamp(entry.fetched_at, UTC), entry.server)  # type: ignore[arg-type]


def _fetch(server: ServerConfig, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """One real call (inside the breaker). Raises classified errors; adapts the limiter."""
    started = time.monotonic()
    try:
        result = pool().call_tool(server, tool, args)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        error = classify.from_exception(exc, server=server.name, tool=tool)
        if isinstance(error, TransientError | TemporaryError):
            limiter.slow_down(server.name)
        raise error from exc
    elapsed = time.monotonic() - started
    metrics.LATENCY.labels(server.name, tool).observe(elapsed)
    if elapsed > server.timeout_s / 2:
        limiter.slow_down(server.name)
    if result.is_error:
        text = " ".join(getattr(part, "text", "") for part in result.content) or "tool error"
        raise classify.tool_error(text, server=server.name, tool=tool)
    if result.structured_content is not None:
        return dict(result.structured_content)
    return {"text": " ".join(getattr(part, "text", "") for part in result.content)}


def _ttl(server: ServerConfig, max_age_s: int | None) -> int:
    return server.cache_ttl_s if max_age_s is None else min(server.cache_ttl_s, max_age_s)


def _server_of(tool: str) -> ServerConfig:
    server = registry.current().servers.get(_spec(tool).server)
    if server is None:
        raise PermanentError(f"unknown tool {tool!r}", fields={"tool": "unknown or disabled tool"})
    return server


@classify.state_store()
def _cached(key: CallKey, server: ServerConfig, ttl: int, fetched_since: float | None) -> ToolResult | None:
    """A good-enough cached answer: fresh within ``ttl``, or fetched at or after ``fetched_since``.

    ``fetched_since`` lets every batch of one beat tick share the answer fetched for
    that tick, however long the tick's fan-out runs past the TTL: one call per
    distinct (tool, args) per tick.
    """
    results = _cache()
    if ttl <= 0:
        return None
    hit = results.get(key, ttl)
    if hit is None and fetched_since is not None:
        entry = results.stale(key)
        if entry is not None and entry.fetched_at >= fetched_since:
            hit = (entry, "tick")
    return _served_from_cache(hit, server, key[0]) if hit is not None else None


def _call_validated(key: CallKey, priority: Priority, max_age_s: int | None) -> ToolResult:
    server = _server_of(key[0])
    ttl = _ttl(server, max_age_s)
    return _cached(key, server, ttl, None) or _fetch_once(key, server, priority, ttl)


@classify.state_store()
def _fetch_once(key: CallKey, server: ServerConfig, priority: Priority, ttl: int) -> ToolResult:
    """A cache miss: fetch it, unless another process is fetching the same key (single flight)."""
    results = _cache()
    flight = SingleFlight(results, key)
    claimed = ttl > 0 and flight.claim(hold_s=server.timeout_s)
    # Another process fetching this key right now: take its answer.
    if ttl > 0 and not claimed and (hit := flight.wait(ttl, timeout_s=server.timeout_s)) is not None:
        return _served_from_cache(hit, server, key[0])
    # Claimed, but another process may have stored the answer and released its claim
    # between our miss and our claim: look once more before calling the server.
    if claimed and (hit := results.get(key, ttl)) is not None:
        flight.release()
        return _served_from_cache(hit, server, key[0])
    try:
        return _fetch_and_store(key, server, priority, ttl)
    finally:
        if claimed:
            flight.release()


def _served_from_cache(hit: tuple[Entry, str], server: ServerConfig, tool: str) -> ToolResult:
    metrics.CACHE_HITS.labels(server.name, hit[1]).inc()
    metrics.CALLS.labels(server.name, tool, "cached").inc()
    return _result(hit[0], "cached")


def _fetch_and_store(key: CallKey, server: ServerConfig, priority: Priority, ttl: float) -> ToolResult:
    """A real call through breaker and limiter; its answer is cached, or the stale copy served when open."""
    tool, canonical = key
    results = _cache()
    circuit = breaker.breaker(server)
    try:
        if breaker.state(server) == pybreaker.STATE_OPEN:
            # Fail fast without the limiter; pybreaker half-opens after the reset timeout.
            data = circuit.call(_fetch, server, tool, json.loads(canonical))
        else:
            factor = limiter.acquire(server, priority, deadline_s=server.timeout_s)
            data = circuit.call(_fetch, server, tool, json.loads(canonical))
            if factor < 1:
                limiter.speed_up(server.name)
    except pybreaker.CircuitBreakerError:
        breaker.state(server)
        stale = results.stale(key)
        metrics.CALLS.labels(server.name, tool, "stale" if stale else "open").inc()
        if stale is None:
            raise TemporaryError(f"{server.name}: circuit open", fields={"server": server.name}) from None
        return _result(stale, "stale")
    except TaskHubError as exc:
        metrics.CALLS.labels(server.name, tool, exc.kind.value).inc()
        logger.info("tool call failed", extra={"server": server.name, "tool": tool, "kind": exc.kind.value})
        raise
    entry = Entry(data=data, fetched_at=time.time(), server=server.name)
    results.put(key, entry, ttl)
    metrics.CALLS.labels(server.name, tool, "fresh").inc()
    return _result(entry, "fresh")


def _check_priority(priority: str) -> Priority:
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}", fields={"priority": priority})
    return priority  # type: ignore[return-value]


def call(tool: str, args: dict[str, Any], *, priority: str = "default", max_age_s: int | None = None) -> ToolResult:
    """Call ``tool`` with ``args``; a cached answer no older than the TTL (and ``max_age_s``) may be served.

    Raises ``InvalidInput``/``PermanentError`` (bad call), ``TemporaryError`` (overload,
    rate limit, circuit open without a stale copy) or ``TransientError`` (connection, timeout).
    """
    return _call_validated(call_key(tool, args), _check_priority(priority), max_age_s)


def call_many(
    requests: Iterable[tuple[str, dict[str, Any]]],
    *,
    priority: str = "default",
    max_age_s: int | None = None,
    fetched_since: datetime | None = None,
) -> dict[CallKey, ToolResult | TaskHubError]:
    """Call each distinct (tool, normalised args) once, concurrently; results and errors by ``CallKey``.

    An invalid request maps its key (tool, canonical JSON of the args as given) to
    its ``InvalidInput``/``PermanentError``; other requests still run. An answer
    fetched at or after ``fetched_since`` is served even past its TTL (one call per tick).
    Cached answers are served in this thread; only the misses go to the pool.
    """
    level = _check_priority(priority)
    since = fetched_since.timestamp() if fetched_since is not None else None
    results: dict[CallKey, ToolResult | TaskHubError] = {}
    misses: list[tuple[CallKey, ServerConfig, int]] = []
    requests = list(requests)
    try:
        registry.current()  # load the registry (and its DB rows) here, not once per thread
    except TemporaryError as exc:  # no registry yet and none to be had (its Redis is unreachable)
        return {request_key(tool, args): exc for tool, args in requests}
    for key in _distinct_keys(requests, results):
        try:
            server = _server_of(key[0])
            ttl = _ttl(server, max_age_s)
            answer = _cached(key, server, ttl, since)
        except TaskHubError as exc:
            results[key] = exc
            continue
        if answer is None:
            misses.append((key, server, ttl))
        else:
            results[key] = answer

    def one(miss: tuple[CallKey, ServerConfig, int]) -> ToolResult | TaskHubError:
        try:
            return _fetch_once(miss[0], miss[1], level, miss[2])
        except TaskHubError as exc:
            return exc

    if len(misses) <= 1:
        results.update({miss[0]: one(miss) for miss in misses})
        return results
    with ThreadPoolExecutor(max_workers=min(settings.TOOLS_CALL_CONCURRENCY, len(misses))) as executor:
        results.update(zip((miss[0] for miss in misses), executor.map(one, misses), strict=True))
    return results


def _distinct_keys(
    requests: Iterable[tuple[str, dict[str, Any]]], errors: dict[CallKey, ToolResult | TaskHubError]
) -> set[CallKey]:
    keys: set[CallKey] = set()
    for tool, args in requests:
        try:
            keys.add(call_key(tool, args))
        except TaskHubError as exc:
            errors[request_key(tool, args)] = exc
    return keys


def request_key(tool: str, args: dict[str, Any]) -> CallKey:
    """Where ``call_many`` files the answer to (tool, args): its ``call_key``, or, when the
    request is invalid (unknown tool, bad arguments), (tool, canonical JSON of the args as given)."""
    try:
        return call_key(tool, args)
    except TaskHubError:
        return tool, canonical_json(args)


def reset_process_state() -> None:
    """Forget this process's registry snapshot and local cache (tests; after a fork). Redis is untouched."""
    registry.reset()
    _cache().clear_local()
    _keys.clear()
