"""Run the same call from several threads at once, each with its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_concurrently(call: Callable[[], T], *, times: int = 2) -> list[T | BaseException]:
    """Start ``times`` threads that pass a barrier together and run ``call``; results or raised errors."""
    barrier = threading.Barrier(times)
    results: list[T | BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(call())
        except Exception as exc:  # returned to the test, which asserts on it
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
