"""A separate process that delivers messages at a signal: ``python -m tests.channels.deliver_child RUN_ID JSON``.

Used by the idempotency test: two of these race to deliver the same execution. Each
announces itself on Redis (``INCR <run>:ready``), waits for ``<run>:go``, delivers,
and prints the outcomes as JSON on stdout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")
    django.setup()
    from taskhub.channels.dispatch import OutboundMessage, deliver_messages
    from taskhub.core.redis import get_redis

    run_id, raw = sys.argv[1], sys.argv[2]
    messages = [OutboundMessage(**fields) for fields in json.loads(raw)]
    redis = get_redis()
    redis.incr(f"{run_id}:ready")
    deadline = time.monotonic() + 30
    while not redis.exists(f"{run_id}:go"):
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.002)
    outcomes = deliver_messages(messages)
    print(json.dumps([dataclasses.asdict(outcome) for outcome in outcomes]))  # noqa: T201 (the parent reads it)


if __name__ == "__main__":
    main()
