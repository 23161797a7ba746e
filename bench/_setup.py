"""Shared start-up of the benchmarks: Django on a throw-away database created for the run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


@contextmanager
def bench_database() -> Iterator[None]:
    """Create ``test_<name>`` (migrated), run the benchmark in it, drop it afterwards."""
    import django

    django.setup()
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    setup_test_environment()  # the test client's host, in-memory email
    from taskhub.core.redis import get_redis

    get_redis().flushdb()  # the benchmark's own Redis database (scripts/devenv.py bench): no warm cache
    config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        yield
    finally:
        teardown_databases(config, verbosity=0)
        teardown_test_environment()  # so a benchmark may use a second throw-away database


def machine() -> str:
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def percentiles(samples_ms: list[float], *, digits: int = 1) -> dict[str, float]:
    """``p50_ms`` and ``p95_ms`` of ``samples_ms`` (the nearest-rank p95; any sample count)."""
    import statistics

    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), digits),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], digits),
    }


def wait_for(done: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll ``done`` ten times a second until it holds; stop the benchmark after ``timeout_s``."""
    import time

    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def wait_drained(*, expected: int, timeout_s: float) -> None:
    """Wait until no batch of executions is left, then check ``expected`` executions finished.

    Polls the batch table (a few rows while work is owed, none after), not a count:
    counting a million finished rows ten times a second would load the database being measured.
    """
    from taskhub.executions.models import Execution, ExecutionBatch, ExecutionStatus

    wait_for(lambda: not ExecutionBatch.objects.exists(), timeout_s=timeout_s, what="the batches still owed")
    finished = Execution.objects.filter(status__in=[ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED]).count()
    if finished < expected:
        raise SystemExit(f"only {finished}/{expected} executions finished")
