"""End to end: one schedule bucket of N subscriptions fanned out, executed and pushed to the inbox.

    make bench BENCH=fanout ARGS="--n 100000"       # --n 1000000 works too

Real processes and services: a throw-away PostgreSQL database, Redis, the MCP
tool servers (offline providers) and Celery workers running the task agent.
Measures from the beat tick (``fanout``) to the last execution written back:
seconds, pushes per second, MCP calls made (counted at the servers), distinct
(tool, arguments) pairs, the peak RSS of a worker process, and where the machine's
CPU went meanwhile (seconds and microseconds per push by process group: PostgreSQL
backends, autovacuum, workers, tool servers, Redis, this process, steal, idle).

Baseline, measured in the same run: the naive design (one Celery task per
subscription, one tool call each, uncached) on a sample of ``--naive`` subscriptions.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from datetime import timedelta

import psutil
from _setup import bench_database, machine, wait_drained, wait_for


def _group(proc: psutil.Process, worker_pid: int) -> str | None:
    """The process group a process's CPU is counted in, or None for the rest of the machine."""
    if proc.pid == os.getpid():
        return "bench (fan-out, polling)"
    if worker_pid in (proc.pid, proc.ppid()):  # the prefork pool's processes are the worker's children
        return "workers"
    name = proc.name()
    if name.startswith("postgres"):
        # A backend's title is "postgres: user database host(port) state"; the server's own
        # processes name their role ("postgres: autovacuum worker", "postgres: checkpointer").
        title = " ".join(proc.cmdline())
        if "autovacuum" in title:
            return "postgresql autovacuum"
        return "postgresql backends" if "(" in title else "postgresql server"
    if name.startswith("redis"):
        return "redis"
    if "uvicorn" in " ".join(proc.cmdline()):
        return "tool servers"
    return None


class _Sampler(threading.Thread):
    """Every 0.5 s: the workers' peak RSS, and the CPU seconds every process of interest has used.

    A process's CPU is counted from its first sample to its last, so a process that lives
    shorter than a sample interval is missed (PostgreSQL backends here live as long as the run).
    Each process is classified once: sampling reads one small file per process of interest.
    """

    def __init__(self, worker: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.worker, self.stop, self.peak_rss_mb = worker, threading.Event(), 0.0
        self.procs: dict[int, tuple[psutil.Process, str] | None] = {}
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.machine_first = psutil.cpu_times()

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.5)

    def sample(self) -> None:
        for pid in psutil.pids():
            try:
                if pid not in self.procs:
                    proc = psutil.Process(pid)
                    group = _group(proc, self.worker.pid)
                    self.procs[pid] = (proc, group) if group else None
                if (known := self.procs[pid]) is None:
                    continue
                proc, group = known
                times = proc.cpu_times()
                if group == "workers":
                    self.peak_rss_mb = max(self.peak_rss_mb, proc.memory_info().rss / 2**20)
            except psutil.Error:
                continue
            self.first.setdefault(pid, times.user + times.system)
            self.last[pid] = times.user + times.system

    def finish(self) -> dict[str, float]:
        """Stop sampling; CPU seconds by group, the rest of the machine, and its idle time."""
        self.stop.set()
        self.join()
        self.sample()
        machine_now = psutil.cpu_times()
        busy = {name: getattr(machine_now, name) - getattr(self.machine_first, name) for name in machine_now._fields}
        idle = busy.pop("idle") + busy.pop("iowait", 0.0)
        # Time the hypervisor gave to other guests, and interrupts: no process's, so not in any group.
        unowned = {"steal": busy.pop("steal", 0.0), "interrupts": busy.pop("irq", 0.0) + busy.pop("softirq", 0.0)}
        cpu: dict[str, float] = {}
        for pid, first in self.first.items():
            group = self.procs[pid][1]  # type: ignore[index]
            cpu[group] = cpu.get(group, 0.0) + self.last[pid] - first
        cpu["rest of the machine"] = sum(busy.values()) - sum(cpu.values())
        cpu.update(unowned, idle=idle)
        return {name: round(seconds, 1) for name, seconds in cpu.items()}


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
            with celery_worker(concurrency=args.workers, env=env, extra_args=["-I", "bench.naive"]) as worker:
                sampler = _Sampler(psutil.Process(worker.pid))
                sampler.start()
                calls_before = faults.call_count("weather") + faults.call_count("fuel")
                started = time.perf_counter()
                # The beat tick of the bucket's latest fire, on time.
                tick = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now())
                result = fanout(schedule_id=schedule_id, now=tick + timedelta(seconds=1))
                wait_drained(expected=result.enqueued, timeout_s=args.timeout)
                seconds = time.perf_counter() - started
                cpu_s = sampler.finish()
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

        figures = {
            "subscriptions": args.n,
            "seconds": round(seconds, 2),
            "pushes": pushes,
            "pushes_per_s": round(pushes / seconds, 1),
            "mcp_calls": mcp_calls,
            "distinct_args": distinct,
            "peak_rss_mb": round(sampler.peak_rss_mb, 1),
            "naive_sample": len(sample),
            "naive_pushes_per_s": round(len(sample) / naive_s, 1),
            "seed_s": round(seed_s, 1),
            "workers": args.workers,
            "cpu_s": cpu_s,
            "cpu_us_per_push": {name: round(used * 1e6 / max(pushes, 1), 1) for name, used in cpu_s.items()},
            "machine": machine(),
        }
        figures["ratio_vs_naive"] = round(figures["pushes_per_s"] / figures["naive_pushes_per_s"], 1)
        for name, value in figures.items():
            print(f"{name:20} {value}")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
