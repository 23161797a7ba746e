"""Retention: history past its retention deleted a chunk at a time, against one big ORM delete.

    make bench BENCH=retention ARGS="--n 100000"

Seeds N subscriptions (``seed_demo``), then writes, by bare SQL, what a month of
runs leaves per subscription: an old run past ``EXECUTION_RETENTION_DAYS`` with its
ledger row and inbox message (past ``INBOX_RETENTION_DAYS``), and a newer run that
supersedes it. The rows are the pipeline's, their speed of writing is not measured.

Then ``prune_history`` is called one chunk per call (beat's entry deletes up to
100,000 rows per table per run) until nothing is left to delete: total time, rows
per second (executions, ledger rows and inbox messages) and the longest call (how
long one transaction holds its rows). The baseline, on the same rows written
again: the one ORM ``delete()`` of every old execution and inbox message that one
would write without the module. The most memory Python held in each is measured
in passes of their own (tracemalloc slows what it traces). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from _setup import bench_database, machine

CHUNK = 5_000


def _write_history(*, old_days: int) -> int:
    """Every run afresh: an old one (with ledger row and inbox message) per subscription, then a newer one (ids
    grow with time, as the pipeline writes them); returns the old runs."""
    from django.db import connection

    sql = f"""
        WITH old AS (
            INSERT INTO executions_execution (subscription_id, fire_key, instance_id, status, attempts, error_kind,
                error_message, message, meta, finished_at, created_at)
            SELECT id, 'old', gen_random_uuid(), 'succeeded', 1, '', '', 'Weather: sunny', '{{}}',
                now() - interval '{old_days} days', now() - interval '{old_days} days'
            FROM subscriptions_subscription ORDER BY id
            RETURNING id, subscription_id
        ), ledger AS (
            INSERT INTO channels_delivery (execution_id, channel_id, idempotency_key, status, attempts,
                response_summary, error_kind, created_at, sent_at)
            SELECT old.id, sc.channel_id, old.subscription_id || ':old:' || sc.channel_id, 'sent', 1, '', '',
                now() - interval '{old_days} days', now() - interval '{old_days} days'
            FROM old JOIN subscriptions_subscription_channels sc ON sc.subscription_id = old.subscription_id
        )
        INSERT INTO channels_inboxmessage (owner_id, key, title, body, urgent, data, execution_id, subscription_id,
            created_at)
        SELECT s.owner_id, 'old:' || old.id, 'Weather', 'Weather: sunny', false, '{{"result": {{"city": "X"}}}}',
            old.id, old.subscription_id, now() - interval '{old_days} days'
        FROM old JOIN subscriptions_subscription s ON s.id = old.subscription_id
    """  # noqa: S608 - our SQL only
    newer_sql = """
        INSERT INTO executions_execution (subscription_id, fire_key, instance_id, status, attempts, error_kind,
            error_message, message, meta, finished_at, created_at)
        SELECT id, 'new', gen_random_uuid(), 'succeeded', 1, '', '', 'Weather: sunny', '{}', now(), now()
        FROM subscriptions_subscription ORDER BY id
    """
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE executions_execution, channels_delivery, channels_inboxmessage")
        cursor.execute(sql)
        written = cursor.rowcount
        cursor.execute(newer_sql)
        cursor.execute("ANALYZE executions_execution; ANALYZE channels_delivery; ANALYZE channels_inboxmessage")
    return written


def _prune_all(prune: Callable[..., Any]) -> list[float]:
    """Call ``prune`` one chunk at a time, as beat would, until it deletes nothing; the seconds of each call."""
    calls = []
    while True:
        started = time.perf_counter()
        result = prune(chunk=CHUNK, limit=CHUNK)
        calls.append(time.perf_counter() - started)
        if not (result.executions or result.inbox_messages):
            return calls


def _python_peak_mb(run: Callable[[], Any]) -> float:
    """The most memory Python held while ``run`` ran, above what it held before (tracemalloc)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    with bench_database():
        from django.conf import settings
        from django.core.management import call_command
        from django.db import transaction
        from django.utils import timezone

        from taskhub.channels.models import Delivery, InboxMessage
        from taskhub.executions.models import Execution
        from taskhub.executions.retention import prune_history

        settings.EXECUTION_RETENTION_DAYS, settings.INBOX_RETENTION_DAYS = 30, 90
        call_command("seed_demo", n=args.n, users=max(1, args.n // 100), distinct=100, prefix="bench")
        old = _write_history(old_days=100)
        rows = old * 3  # each old run: its execution, its ledger row, its inbox message

        calls = _prune_all(prune_history)
        prune_s = sum(calls)
        left = (Execution.objects.count(), Delivery.objects.count(), InboxMessage.objects.count())
        if left != (args.n, 0, 0):
            raise SystemExit(f"prune left {left} (executions, ledger rows, inbox) for {args.n} subscriptions")

        def naive() -> None:
            cutoff = timezone.now() - timedelta(days=30)
            with transaction.atomic():
                Execution.objects.filter(created_at__lt=cutoff).delete()
                InboxMessage.objects.filter(created_at__lt=cutoff).delete()

        _write_history(old_days=100)
        started = time.perf_counter()
        naive()
        naive_s = time.perf_counter() - started

        # Memory in passes of their own: tracing allocations slows what it traces.
        _write_history(old_days=100)
        prune_mb = _python_peak_mb(lambda: _prune_all(prune_history))
        _write_history(old_days=100)
        naive_mb = _python_peak_mb(naive)

    figures = {
        "subscriptions": args.n,
        "rows": rows,
        "prune_s": round(prune_s, 2),
        "prune_rows_per_s": round(rows / prune_s),
        "prune_calls": len(calls),
        "longest_call_s": round(max(calls), 3),
        "prune_python_peak_mb": round(prune_mb, 1),
        "naive_s": round(naive_s, 2),
        "naive_rows_per_s": round(rows / naive_s),
        "naive_python_peak_mb": round(naive_mb, 1),
        "machine": machine(),
    }
    print(
        f"pruned {rows:,} rows ({old:,} old runs) in {prune_s:.2f} s over {len(calls)} calls: "
        f"{figures['prune_rows_per_s']:,} rows/s, longest call {max(calls):.3f} s, Python peak {prune_mb:.1f} MB"
    )
    print(
        f"baseline, one ORM delete in one transaction: {naive_s:.2f} s, {figures['naive_rows_per_s']:,} rows/s, "
        f"all in one transaction, Python peak {naive_mb:.1f} MB"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
