"""Tiered retries (ARCHITECTURE.md, invariant 3), decided by the kind of error.

- transient: retried at once, up to ``TRANSIENT_IMMEDIATE_RETRIES`` times within
  the same run; if it persists it is treated like a temporary error;
- temporary: the execution is re-enqueued after 10 s, 20 s, 40 s, then fails
  as exhausted;
- permanent: fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskhub.core.errors import ErrorKind

TRANSIENT_IMMEDIATE_RETRIES = 3
BACKOFF_S = (10.0, 20.0, 40.0)


@dataclass(frozen=True)
class Decision:
    retry_in: float | None  # seconds until the next run; None: fail now


def decide(kind: ErrorKind, *, previous_attempts: int) -> Decision:
    """What to do after a failed run. ``previous_attempts`` counts runs so far, this one included."""
    if kind == ErrorKind.PERMANENT:
        return Decision(None)
    index = previous_attempts - 1
    if index < len(BACKOFF_S):
        return Decision(BACKOFF_S[index])
    return Decision(None)
