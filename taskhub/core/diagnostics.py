"""Probes: a message sent through a queue that proves a worker consumes it."""

from __future__ import annotations

import os
import socket
import time
import uuid

from taskhub.core.redis import get_redis

PROBE_TTL_S = 600


def probe_key(run_id: str) -> str:
    return f"taskhub:probe:{run_id}"


def new_probe_run() -> str:
    return uuid.uuid4().hex


def record_probe(*, run_id: str, label: str) -> None:
    """Append ``label`` (and who ran it) to the run's list, in execution order."""
    client = get_redis()
    key = probe_key(run_id)
    entry = f"{label}|{socket.gethostname()}:{os.getpid()}|{time.time():.6f}"
    client.pipeline().rpush(key, entry).expire(key, PROBE_TTL_S).execute()


def probe_results(*, run_id: str) -> list[str]:
    """Labels recorded so far, in the order workers ran them."""
    return [entry.split("|", 1)[0] for entry in get_redis().lrange(probe_key(run_id), 0, -1)]


def wait_for_probes(*, run_id: str, count: int, timeout_s: float) -> list[str]:
    """Poll until ``count`` probes ran or ``timeout_s`` passed; returns what ran."""
    deadline = time.monotonic() + timeout_s
    while True:
        results = probe_results(run_id=run_id)
        if len(results) >= count or time.monotonic() > deadline:
            return results
        time.sleep(0.05)
