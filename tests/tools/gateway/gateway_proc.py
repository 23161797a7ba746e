"""A separate process that uses the gateway, for tests that need a second (or long-running) caller.

python -m tests.tools.gateway.gateway_proc call TOOL ARGS_JSON [PRIORITY] [SECONDS] [MAX_AGE]
    calls TOOL repeatedly for SECONDS (once when 0); one JSON line per call:
    {"status": "fresh"|"cached"|"stale"} or {"error": kind}
python -m tests.tools.gateway.gateway_proc watch
    prints the sorted names of known tools as a JSON line every 0.1 s, forever
"""

from __future__ import annotations

import json
import os
import sys
import time


def emit(value: object) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")


def main(argv: list[str]) -> None:
    import django

    django.setup()
    import tools.gateway as gateway
    from taskhub.core.errors import TaskHubError

    if argv[0] == "watch":
        while True:
            emit(sorted(gateway.known_tools()))
            time.sleep(0.1)
    tool, args = argv[1], json.loads(argv[2])
    priority = argv[3] if len(argv) > 3 else "default"
    seconds = float(argv[4]) if len(argv) > 4 else 0.0
    max_age = int(argv[5]) if len(argv) > 5 else None
    end = time.monotonic() + seconds
    while True:
        try:
            result = gateway.call(tool, args, priority=priority, max_age_s=max_age)
            emit({"status": result.status})
        except TaskHubError as exc:
            emit({"error": exc.kind.value})
        if time.monotonic() >= end:
            return


if __name__ == "__main__":
    main(sys.argv[1:])
