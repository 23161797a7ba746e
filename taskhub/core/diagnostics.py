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


def database_session() -> str:
    """Which database session this process talks through: proves the database answers, and
    tells a kept connection from a new one (PostgreSQL's backend pid; SQLite has none)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
            return f"postgresql:{cursor.fetchone()[0]}"
        cursor.execute("SELECT 1")
        return connection.vendor


def record_probe(*, run_id: str, label: str) -> None:
    """Append ``label`` (who ran it, when, through which database session) to the run's list, in execution order."""
    client = get_redis()
    key = probe_key(run_id)
    entry = f"{label}|{socket.gethostname()}:{os.getpid()}|{time.time():.6f}|{database_session()}"
    client.pipeline().rpush(key, entry).expire(key, PROBE_TTL_S).execute()


def _probe_entries(run_id: str) -> list[list[str]]:
    return [entry.split("|") for entry in get_redis().lrange(probe_key(run_id), 0, -1)]


def probe_results(*, run_id: str) -> list[str]:
    """Labels recorded so far, in the order workers ran them."""
    return [entry[0] for entry in _probe_entries(run_id)]


def probe_sessions(*, run_id: str) -> list[str]:
    """The database session each recorded probe ran through, in the same order."""
    return [entry[3] for entry in _probe_entries(run_id)]


def wait_for_probes(*, run_id: str, count: int, timeout_s: float) -> list[str]:
    """Poll until ``count`` probes ran or ``timeout_s`` passed; returns what ran."""
    deadline = time.monotonic() + timeout_s
    while True:
        results = probe_results(run_id=run_id)
        if len(results) >= count or time.monotonic() > deadline:
            return results
        time.sleep(0.05)
