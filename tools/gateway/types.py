"""Value types of the gateway's public API (no Django imports: safe anywhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Priority = Literal["high", "default", "low"]
Status = Literal["fresh", "cached", "stale"]
# (tool name, canonical JSON of the normalised arguments): equal keys are one call.
CallKey = tuple[str, str]


@dataclass(frozen=True)
class ToolResult:
    """A tool's structured answer. ``stale`` means the server could not be asked (circuit open)."""

    data: dict[str, Any]
    status: Status
    fetched_at: datetime
    server: str


@dataclass(frozen=True)
class ToolSpec:
    """A tool as discovered with ``tools/list``."""

    name: str
    server: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class ServerConfig:
    """A snapshot of one enabled ``ToolServer`` row; sessions are reopened when it changes."""

    name: str
    url: str
    transport: str
    timeout_s: float
    cache_ttl_s: int
    rate_limit_per_s: float
    rate_burst: int
    breaker_fail_max: int
    breaker_reset_s: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
