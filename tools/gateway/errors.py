"""Classify what an MCP call raised or returned into our error hierarchy, where it arises.

- broken connections, resets, timeouts -> ``TransientError`` (retry at once);
- HTTP 429/5xx (JSON-RPC error data ``{"status": ...}``), an unspecific server
  error, an open circuit, a rate limit that did not clear in time -> ``TemporaryError``;
- invalid params (-32602), HTTP 4xx, a tool error result -> ``InvalidInput``;
- unknown method/tool -> ``PermanentError``;
- the gateway's own Redis unreachable (``state_store``) -> ``TemporaryError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import redis
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, INVALID_PARAMS, METHOD_NOT_FOUND, REQUEST_TIMEOUT

from taskhub.core.errors import InvalidInput, PermanentError, TaskHubError, TemporaryError, TransientError


def from_mcp_error(exc: MCPError, *, server: str, tool: str) -> TaskHubError:
    """The error an MCP protocol error stands for."""
    data: Any = exc.data
    status = data.get("status") if isinstance(data, dict) else None
    fields = {"server": server, "tool": tool}
    text = f"{server}/{tool}: {exc.message}"
    if isinstance(status, int) and (status == 429 or status >= 500):
        return TemporaryError(text, fields=fields | {"status": status})
    if exc.code in (REQUEST_TIMEOUT, CONNECTION_CLOSED):
        return TransientError(text, fields=fields)
    if exc.code == INVALID_PARAMS or (isinstance(status, int) and 400 <= status < 500):
        return InvalidInput(text, fields={"arguments": exc.message})
    if exc.code == METHOD_NOT_FOUND:
        return PermanentError(text, fields=fields)
    # "Server returned an error response" and other server-side failures: assume overload.
    return TemporaryError(text, fields=fields)


def from_exception(exc: BaseException, *, server: str, tool: str) -> TaskHubError:
    """The error any exception out of a session stands for (transport failures are transient)."""
    if isinstance(exc, TaskHubError):
        return exc
    if isinstance(exc, MCPError):
        return from_mcp_error(exc, server=server, tool=tool)
    if isinstance(exc, BaseExceptionGroup):
        inner = exc.exceptions[0]
        return from_exception(inner, server=server, tool=tool)
    kind = "timed out" if isinstance(exc, TimeoutError) else "connection failed"
    if isinstance(exc, httpx2.HTTPStatusError):
        status = exc.response.status_code
        if status == 429 or status >= 500:
            return TemporaryError(f"{server}/{tool}: HTTP {status}", fields={"server": server, "status": status})
        return PermanentError(f"{server}/{tool}: HTTP {status}", fields={"server": server, "status": status})
    return TransientError(f"{server}/{tool}: {kind}: {type(exc).__name__}: {exc}", fields={"server": server})


def tool_error(text: str, *, server: str, tool: str) -> InvalidInput:
    """A tool that answered ``is_error``: by our servers' contract, the arguments cannot succeed."""
    return InvalidInput(f"{server}/{tool}: {text}", fields={"arguments": text})


@contextmanager
def state_store() -> Iterator[None]:
    """Around the gateway's uses of its shared state in Redis (registry version, cache, single flight,
    rate limiter, breaker): Redis unreachable is a ``TemporaryError``, retried with back-off like an
    overloaded server. Calling the servers without that state would ignore their rate limits."""
    try:
        yield
    except redis.RedisError as exc:
        raise TemporaryError("the tool gateway's Redis is unreachable", fields={"redis": str(exc)}) from exc
