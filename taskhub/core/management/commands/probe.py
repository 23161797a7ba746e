"""Send a probe through a queue and wait until a worker has run it."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents.worker.tasks import probe
from taskhub import queues
from taskhub.core import diagnostics


class Command(BaseCommand):
    help = "Send a probe task to a queue and wait for a worker to run it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", choices=queues.ALL, default=queues.HIGH)
        parser.add_argument("--timeout", type=float, default=15.0)

    def handle(self, *args: Any, queue: str, timeout: float, **options: Any) -> None:
        run_id = diagnostics.new_probe_run()
        started = time.monotonic()
        probe.apply_async(args=[run_id, queue], **queues.route(queue).options())
        ran = diagnostics.wait_for_probes(run_id=run_id, count=1, timeout_s=timeout)
        if not ran:
            raise CommandError(f"no worker ran the probe on queue {queue!r} within {timeout:.0f} s")
        self.stdout.write(f"probe on queue {queue!r} ran in {(time.monotonic() - started) * 1000:.0f} ms")
