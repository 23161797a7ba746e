"""Canonical forms: one spelling for equal JSON values, and the key of a tool call."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def call_key(tool: str, arguments: dict[str, Any]) -> str:
    """sha256 of (tool, canonical arguments): subscriptions with the same key need the same call.

    With arguments normalised by the gateway (schema defaults filled in, as
    subscriptions and monitoring events store them) this is the gateway's
    ``CallKey`` hashed: one notion of "the same tool call" for fan-out,
    monitoring and the tool cache.
    """
    return hashlib.sha256(f"{tool}\x00{canonical_json(arguments)}".encode()).hexdigest()
