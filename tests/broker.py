"""What waits in the real broker (Redis), read the way Celery's Redis transport stores it."""

from __future__ import annotations

import base64
import json
from typing import Any


def queued(redis_db: Any, task: str, *, queue: str = "high") -> list[list[Any]]:
    """The positional arguments of each ``task`` message waiting in the broker on ``queue`` (any priority)."""
    found = []
    for name in redis_db.keys(f"{queue}*"):
        for raw in redis_db.lrange(name, 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] == task:
                found.append(json.loads(base64.b64decode(message["body"]))[0])
    return found
