"""The fault switch of the offline tool servers, and the call counter tests read.

A test (or an operator rehearsing an outage) makes a running server misbehave
from another process by writing one Redis key; the server reads it on every
``tools/call`` request, so the change applies to the very next call:

    from tools.servers import faults
    faults.set_fault("weather", "temporary", calls=3)   # the next 3 calls answer 503
    faults.clear_fault("weather")

Modes (``MODES``):
- ``none``: behave.
- ``transient``: drop the connection mid-response, as a reset or a crashed peer
  would (the client sees a broken connection, never an answer).
- ``temporary``: answer HTTP 503 with a JSON-RPC error ``-32003`` whose ``data``
  is ``{"status": 503}`` and a ``Retry-After`` header: an overloaded server.
- ``permanent``: answer HTTP 400 with JSON-RPC ``-32602`` (invalid params): an
  argument the server will never accept.

``calls=N`` limits the fault to the next N calls; without it the fault holds
until cleared. Keys: ``tools:fault:<server>`` (a hash: mode, remaining).

Every ``tools/call`` that reaches a server is also counted, before any fault, in
``tools:calls:<server>`` and logged with its arrival time (the last 10,000) in
``tools:calllog:<server>``; ``call_count`` and ``call_times`` read them. Tests use
them to prove deduplication and rate limits at the server, where they matter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
import redis

from tools.servers import config

MODES = ("none", "transient", "temporary", "permanent")
# JSON-RPC code of "overloaded, retry later" (implementation-defined server error range).
OVERLOADED = -32003
_CALL_LOG_MAX = 10_000

# One round trip per call: count it, log its time, and consume one unit of the
# fault (deleting the fault when its last unit is used).
_TAKE = """
redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[2]), -1)
local mode = redis.call('HGET', KEYS[1], 'mode')
if not mode then return false end
if redis.call('HEXISTS', KEYS[1], 'remaining') == 1 then
  local left = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
  if left <= 0 then redis.call('DEL', KEYS[1]) end
  if left < 0 then return false end
end
return mode
"""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _keys(server: str) -> tuple[str, str, str]:
    return f"tools:fault:{server}", f"tools:calls:{server}", f"tools:calllog:{server}"


def set_fault(server: str, mode: str, *, calls: int | None = None, client: redis.Redis | None = None) -> None:
    """Make ``server`` fail in ``mode`` from its next call on (for ``calls`` calls, or until cleared)."""
    if mode not in MODES:
        raise ValueError(f"fault mode must be one of {', '.join(MODES)}, not {mode!r}")
    r = client or config.redis_client()
    key = _keys(server)[0]
    if mode == "none":
        r.delete(key)
        return
    with r.pipeline() as pipe:
        pipe.delete(key)
        pipe.hset(key, mapping={"mode": mode, **({"remaining": calls} if calls is not None else {})})
        pipe.execute()


def clear_fault(server: str, *, client: redis.Redis | None = None) -> None:
    """Let ``server`` behave again."""
    set_fault(server, "none", client=client)


def take_fault(server: str, *, client: redis.Redis | None = None) -> str:
    """Count one call at ``server`` and return the fault mode it must suffer (``none`` usually)."""
    r = client or config.redis_client()
    mode = r.eval(_TAKE, 3, *_keys(server), repr(time.time()), _CALL_LOG_MAX)
    return str(mode) if mode else "none"


def call_count(server: str, *, client: redis.Redis | None = None) -> int:
    """How many ``tools/call`` requests reached ``server`` (since the key was last cleared)."""
    return int((client or config.redis_client()).get(_keys(server)[1]) or 0)


def call_times(server: str, *, client: redis.Redis | None = None) -> list[float]:
    """Arrival times (epoch seconds) of the last calls at ``server``, oldest first."""
    return [float(t) for t in (client or config.redis_client()).lrange(_keys(server)[2], 0, -1)]


def reset_calls(server: str, *, client: redis.Redis | None = None) -> None:
    """Forget the calls counted at ``server``."""
    (client or config.redis_client()).delete(*_keys(server)[1:])


def _error(request_id: Any, code: int, message: str, status: int) -> bytes:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message, "data": {"status": status}}}
    return json.dumps(body).encode()


class FaultMiddleware:
    """ASGI middleware in front of one MCP server: counts ``tools/call`` requests and applies the fault switch.

    Only JSON-RPC ``tools/call`` POSTs are touched; the handshake and ``tools/list``
    always pass, so a faulty server can still be discovered (as in real outages,
    where calls fail before listings do).
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], server: str) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = _parse(bytes(body))
        if request is not None and request.get("method") == "tools/call":
            mode = await anyio.to_thread.run_sync(take_fault, self.server)
            if mode != "none":
                await self._fail(mode, request.get("id"), send)
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _fail(self, mode: str, request_id: Any, send: Send) -> None:
        if mode == "transient":
            # Promise a body and stop half-way: the peer sees the connection break.
            start = {"type": "http.response.start", "status": 200}
            start["headers"] = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
            await send(start)
            await send({"type": "http.response.body", "body": b'{"jsonrpc": "2.0", ', "more_body": True})
            return
        if mode == "temporary":
            body, status = _error(request_id, OVERLOADED, "server overloaded, retry later", 503), 503
            headers = [(b"content-type", b"application/json"), (b"retry-after", b"1")]
        else:
            body, status = _error(request_id, -32602, "invalid argument (injected fault)", 400), 400
            headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then defers to the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
