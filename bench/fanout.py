"""End to end: one schedule bucket of N subscriptions fanned out, executed and pushed to the inbox.

    make bench BENCH=fanout ARGS="--n 100000"       # --n 1000000 works too

Real processes and services: a throw-away PostgreSQL database, Redis, the MCP
tool servers (offline providers) and Celery workers running the task agent.
Measures from the beat tick (``fanout``) to the last execution written back:
seconds, pushes per second, MCP calls made (counted at the servers), distinct
(tool, arguments) pairs, and the peak RSS of a worker process.

Baseline, measured in the same run: the naive design (one Celery task per
subscription, one tool call each, uncached) on a sample of ``--naive`` subscriptions.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import timedelta

import psutil
from _setup import bench_database, machine, wait_drained, wait_for


def _rss_sampler(procs: list[psutil.Process], stop: threading.Event, peak: dict[str, float]) -> None:
    while not stop.is_set():
        for proc in procs:
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    peak["max"] = max(peak["max"], p.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass
        stop.wait(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=2000)
    parser.add_argument("--naive", type=int, default=2000, help="subscriptions run the naive way, for the baseline")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: one per core)")
    args = parser.parse_args()
    with bench_database():
        from django.core.management import call_command
        from django.utils import timezone

        from taskhub.channels.models import InboxMessage
        from taskhub.executions.fanout import fanout, nominal_fire
        from taskhub.subscriptions.models import Subscription
        from tests.processes import celery_worker, process_env, tool_servers
        from tools.gateway import services
        from tools.gateway.models import ToolServer
        from tools.servers import faults

        with tool_servers() as url:
            for name in ("weather", "fuel"):
                services.tool_server_save(
                    server=ToolServer(name=name, url=f"{url}/{name}/mcp", rate_limit_per_s=5000, rate_burst=5000)
                )
            started = time.perf_counter()
            call_command("seed_demo", n=args.n, users=max(1, args.n // 100), distinct=args.distinct, prefix="bench")
            seed_s = time.perf_counter() - started
            schedule_id = Subscription.objects.values_list("schedule_id", flat=True).first()
            distinct = Subscription.objects.values("call_key").distinct().count()

            env = process_env()
            peak = {"max": 0.0}
            stop = threading.Event()
            with celery_worker(concurrency=args.workers, env=env, extra_args=["-I", "bench.naive"]) as worker:
                sampler = threading.Thread(
                    target=_rss_sampler, args=([psutil.Process(worker.pid)], stop, peak), daemon=True
                )
                sampler.start()
                calls_before = faults.call_count("weather") + faults.call_count("fuel")
                started = time.perf_counter()
                # The beat tick of the bucket's latest fire, on time.
                tick = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now())
                result = fanout(schedule_id=schedule_id, now=tick + timedelta(seconds=1))
                wait_drained(expected=result.enqueued, timeout_s=args.timeout)
                seconds = time.perf_counter() - started
                mcp_calls = faults.call_count("weather") + faults.call_count("fuel") - calls_before
                pushes = InboxMessage.objects.count()

                # Baseline: one task per subscription, one uncached tool call each.
                from bench.naive import enqueue_naive

                sample = list(Subscription.objects.order_by("id").values_list("id", flat=True)[: args.naive])
                # Counted above a watermark (a primary-key range), not over the whole inbox.
                newer = InboxMessage.objects.filter(id__gt=InboxMessage.objects.order_by("-id")[0].pk)
                started = time.perf_counter()
                enqueue_naive(sample)
                wait_for(lambda: newer.count() >= len(sample), timeout_s=args.timeout, what="the naive baseline")
                naive_s = time.perf_counter() - started
                stop.set()

        figures = {
            "subscriptions": args.n,
            "seconds": round(seconds, 2),
            "pushes": pushes,
            "pushes_per_s": round(pushes / seconds, 1),
            "mcp_calls": mcp_calls,
            "distinct_args": distinct,
            "peak_rss_mb": round(peak["max"], 1),
            "naive_sample": len(sample),
            "naive_pushes_per_s": round(len(sample) / naive_s, 1),
            "seed_s": round(seed_s, 1),
            "workers": args.workers,
            "machine": machine(),
        }
        figures["ratio_vs_naive"] = round(figures["pushes_per_s"] / figures["naive_pushes_per_s"], 1)
        for name, value in figures.items():
            print(f"{name:20} {value}")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
