"""The tool gateway: the only code that opens MCP sessions.

Public API (import from here):

- ``call(tool, args, *, priority="default", max_age_s=None) -> ToolResult``
- ``call_many(requests, *, priority="default", max_age_s=None, fetched_since=None)``
  ``-> dict[CallKey, ToolResult | TaskHubError]``
- ``reset_process_state()`` (tests: forget this process's registry snapshot and local cache)
- ``call_key(tool, args) -> CallKey`` (raises for an invalid request)
- ``request_key(tool, args) -> CallKey`` (where ``call_many`` files its answer, valid or not)
- ``known_tools() -> dict[str, ToolSpec]``
- ``validate_arguments(tool, args) -> dict`` (normalised; raises ``InvalidInput``)

The functions are imported lazily so that ``tools.gateway`` can be listed in
INSTALLED_APPS (the app registry imports this package before models are ready).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.gateway.types import CallKey, ServerConfig, ToolResult, ToolSpec

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from taskhub.core.errors import TaskHubError

__all__ = [
    "CallKey",
    "ServerConfig",
    "ToolResult",
    "ToolSpec",
    "call",
    "call_key",
    "call_many",
    "known_tools",
    "reset_process_state",
    "validate_arguments",
]


def call(tool: str, args: dict[str, Any], *, priority: str = "default", max_age_s: int | None = None) -> ToolResult:
    """See ``tools.gateway.client.call``."""
    from tools.gateway import client

    return client.call(tool, args, priority=priority, max_age_s=max_age_s)


def call_many(
    requests: Iterable[tuple[str, dict[str, Any]]],
    *,
    priority: str = "default",
    max_age_s: int | None = None,
    fetched_since: datetime | None = None,
) -> dict[CallKey, ToolResult | TaskHubError]:
    """See ``tools.gateway.client.call_many``."""
    from tools.gateway import client

    return client.call_many(requests, priority=priority, max_age_s=max_age_s, fetched_since=fetched_since)


def reset_process_state() -> None:
    """See ``tools.gateway.client.reset_process_state``."""
    from tools.gateway import client

    client.reset_process_state()


def call_key(tool: str, args: dict[str, Any]) -> CallKey:
    """See ``tools.gateway.client.call_key``."""
    from tools.gateway import client

    return client.call_key(tool, args)


def request_key(tool: str, args: dict[str, Any]) -> CallKey:
    """See ``tools.gateway.client.request_key``."""
    from tools.gateway import client

    return client.request_key(tool, args)


def known_tools() -> dict[str, ToolSpec]:
    """See ``tools.gateway.client.known_tools``."""
    from tools.gateway import client

    return client.known_tools()


def validate_arguments(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """See ``tools.gateway.client.validate_arguments``."""
    from tools.gateway import client

    return client.validate_arguments(tool, args)
