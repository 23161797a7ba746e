"""Long-lived MCP sessions: one per server per process, the only place that opens them.

A session costs ~50 ms to open and ~4 ms per call once open (DEPENDENCIES.md),
so each process keeps one per server on a private event loop (an anyio blocking
portal on a daemon thread) and sync code calls through the portal. The pool is
keyed by pid: after Celery's prefork fork the child finds a pool that is not its
own and starts a fresh one lazily (the parent's loop thread does not exist in
the child). A session that fails at the transport level is closed and reopened
on the next call; a changed ``ServerConfig`` reopens it too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shlex
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

import anyio
import httpx2
from anyio.from_thread import BlockingPortal
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, Tool

from tools.gateway.types import ServerConfig

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def open_client(server: ServerConfig) -> AsyncIterator[Client]:
    """An entered MCP client for ``server`` (caching off: the gateway caches, and listings must be fresh)."""
    if server.transport == "stdio":
        command = shlex.split(server.url)
        async with Client(StdioServerParameters(command=command[0], args=command[1:]), cache=None) as client:
            yield client
        return
    timeout = httpx2.Timeout(server.timeout_s, connect=min(server.timeout_s, 5.0))
    async with (
        httpx2.AsyncClient(timeout=timeout) as http,
        Client(streamable_http_client(server.url, http_client=http), cache=None) as client,
    ):
        yield client


async def _call(client: Client, tool: str, args: dict[str, Any], timeout: float) -> CallToolResult:
    with anyio.fail_after(timeout):
        return await client.call_tool(tool, args)


async def _list(client: Client, timeout: float) -> list[Tool]:
    tools: list[Tool] = []
    cursor = None
    with anyio.fail_after(timeout):
        while True:
            page = await client.session.list_tools(cursor=cursor) if cursor else await client.list_tools()
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return tools


def _start_portal() -> BlockingPortal:
    """A blocking portal on a daemon thread that lives as long as the process.

    anyio's ``start_blocking_portal`` runs on a non-daemon executor thread, which
    would keep a process that never closes it (a worker, pytest) from exiting.
    """
    started: queue.Queue[BlockingPortal | BaseException] = queue.Queue()

    async def serve() -> None:
        async with BlockingPortal() as portal:
            started.put(portal)
            await portal.sleep_until_stopped()

    def run() -> None:
        try:
            anyio.run(serve)
        except BaseException as exc:
            started.put(exc)

    threading.Thread(target=run, name="mcp-sessions", daemon=True).start()
    portal = started.get(timeout=10)
    if isinstance(portal, BaseException):
        raise portal
    return portal


class SessionPool:
    """The sessions of one process. Thread-safe: call_many's threads share it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.portal = _start_portal()
        self._sessions: dict[str, tuple[ServerConfig, AbstractContextManager[Client], Client]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def client(self, server: ServerConfig) -> Client:
        """The open session for ``server``, opened now if there is none (or its config changed)."""
        with self._lock(server.name):
            held = self._sessions.get(server.name)
            if held is not None and held[0] == server:
                return held[2]
            if held is not None:
                self._close(server.name, held)
            cm = self.portal.wrap_async_context_manager(open_client(server))
            client = cm.__enter__()
            self._sessions[server.name] = (server, cm, client)
            logger.info("mcp session opened", extra={"server": server.name, "url": server.url})
            return client

    def call_tool(self, server: ServerConfig, tool: str, args: dict[str, Any]) -> CallToolResult:
        """``tools/call`` over the long-lived session; on any failure the session is dropped, then it re-raises."""
        client = self.client(server)
        try:
            return self.portal.call(_call, client, tool, args, server.timeout_s)
        except BaseException:
            self.drop(server.name, only=client)
            raise

    def list_tools(self, server: ServerConfig) -> list[Tool]:
        """``tools/list`` (every page) over the long-lived session."""
        client = self.client(server)
        try:
            return self.portal.call(_list, client, server.timeout_s)
        except BaseException:
            self.drop(server.name, only=client)
            raise

    def drop(self, name: str, *, only: Client | None = None) -> None:
        """Close the session of ``name`` (if it is still ``only``, when given)."""
        with self._lock(name):
            held = self._sessions.get(name)
            if held is not None and (only is None or held[2] is only):
                self._close(name, held)

    def names(self) -> set[str]:
        return set(self._sessions)

    def _close(self, name: str, held: tuple[ServerConfig, AbstractContextManager[Client], Client]) -> None:
        self._sessions.pop(name, None)
        try:
            held[1].__exit__(None, None, None)
        except BaseException as exc:  # a broken session may fail to close; it is gone either way
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            logger.info("mcp session closed with an error", extra={"server": name, "error": repr(exc)})


_pool: SessionPool | None = None
_pool_lock = threading.Lock()


def pool() -> SessionPool:
    """This process's pool (a new one after a fork)."""
    global _pool
    if _pool is None or _pool.pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool.pid != os.getpid():
                _pool = SessionPool()
    return _pool
