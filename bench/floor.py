"""The database floor of a push: the row work of the pipeline as bare SQL, no worker, no Python per row.

    make bench BENCH=floor ARGS="--n 300000"                      # this schema
    make bench BENCH=floor ARGS="--n 300000 --variant ledger"      # the design before: a ledger row per push too

A diagnostic, not the pipeline: it seeds N subscriptions like ``fanout``, runs the
real fan-out (``fanout()``: execution and batch rows), then does what the runner
does to the database for each batch (the tool snapshot and inbox rows of
``deliver_pushes``, the write-back of ``write_results``) as two bare statements per batch from two
connections, with a fixed message and tool answer of the pipeline's size. What it
prints is the least CPU the database needs per push with this schema: the fan-out
and the row work, in microseconds per push of the whole machine's CPU.

``--variant`` also measures, in a second throw-away database in the same run, what a
design change would save against this schema (the baseline, ``current``, always measured):
``ledger`` also writes a ledger row (``Delivery``) per inbox push, as before the inbox
became its own ledger; ``ledger-by-execution`` does, with the ledger unique by
(execution, channel) alone, without the index of its text key; ``by-key`` makes the
inbox's pushes unique by their text key, as before channels/0012; ``sub-time-index``
adds the index of a subscription's executions by time that executions/0010 dropped;
``copied-answer`` is the design before executions/0009 and channels/0011: every
execution's result and every inbox row carries its own copy of the tool answer, pages
are full and an index names ``status``, so the write-back is not heap-only;
``fillfactor-N`` leaves N% of the executions' pages to the inserts.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import threading
from datetime import timedelta

from _setup import bench_database, machine

# The size of a weather forecast's answer and message in the fan-out bench (about 930 and 45 bytes).
DATA = json.dumps(
    {
        "tool": "weather_forecast",
        "result": {
            "city": "X",
            "days": [{"day": i, "text": "sunny, light breeze", "hi": 30, "lo": 20} for i in range(9)],
        },
        "status": "fresh",
    }
)
BODY = "Weather for X: sunny, light breeze, 20-30°C"
# A run's attempts log as the runner writes it (about 135 bytes).
META = json.dumps(
    {
        "attempts": [
            {
                "n": 1,
                "try": 1,
                "started_at": "2026-12-07T05:00:00.123456+00:00",
                "finished_at": "2026-12-07T05:00:00.223456+00:00",
            }
        ]
    }
)

DELIVER = """
    WITH e AS (SELECT e.id AS execution_id, e.subscription_id, e.subscription_id || ':' || e.fire_key || ':' AS prefix
               FROM executions_execution e WHERE e.id = ANY(%(ids)s) AND e.status IN ('queued', 'retrying')),
    sc AS (SELECT subscription_id, channel_id FROM subscriptions_subscription_channels
           WHERE subscription_id = ANY(ARRAY(SELECT subscription_id FROM e))),
    c AS (SELECT id, owner_id FROM channels_channel WHERE id = ANY(ARRAY(SELECT channel_id FROM sc)) AND enabled),
    pairs AS (SELECT e.execution_id, e.subscription_id, e.prefix || c.id AS key, c.id AS channel_id, c.owner_id
              FROM e JOIN sc USING (subscription_id) JOIN c ON c.id = sc.channel_id){ledger}
    INSERT INTO channels_inboxmessage (owner_id, key, title, body, urgent, data, snapshot_id, execution_id,
                                       subscription_id, channel_id, created_at)
    SELECT d.owner_id, d.key, 'Weather', %(body)s, false, {inbox_data}, d.execution_id, d.subscription_id,
           d.channel_id, now()
    FROM pairs d {join_ledger} ON CONFLICT {inbox_unique} DO NOTHING
"""
LEDGER = """,
    ledger AS (INSERT INTO channels_delivery (execution_id, channel_id, idempotency_key, status, attempts,
                                              response_summary, error_kind, created_at, sent_at)
               SELECT execution_id, channel_id, key, 'sent', 1, 'stored', '', now(), now() FROM pairs
               ON CONFLICT DO NOTHING RETURNING execution_id, channel_id)"""
SNAPSHOT = """
    INSERT INTO executions_toolsnapshot (value, first_execution_id, last_execution_id, created_at)
    VALUES (%(data)s::jsonb, %(first)s, %(last)s, now()) RETURNING id
"""
WRITE_BACK = """
    UPDATE executions_execution SET status = 'succeeded', attempts = 1, started_at = now(), finished_at = now(),
           message = %(body)s, {answer}, meta = %(meta)s::jsonb
    WHERE id = ANY(%(ids)s) AND status IN ('queued', 'retrying')
"""
# The ledger's rows of a push unique by (execution, channel), whose entries follow the
# executions' order, instead of by the text key, whose entries land anywhere in its index
# (``--variant ledger-by-execution``); the inbox's pushes are unique that way since
# channels/0012, and ``--variant by-key`` is the design before.
LEDGER_BY_EXECUTION = ["ALTER TABLE channels_delivery DROP CONSTRAINT delivery_once_per_key"]
INBOX_BY_KEY = [
    "DROP INDEX inbox_once_per_push",  # a partial unique constraint is a unique index
    "DROP INDEX inbox_once_per_notice",
    "ALTER TABLE channels_inboxmessage ADD CONSTRAINT inbox_once_per_key UNIQUE (key)",
]
SUB_TIME_INDEX = ["CREATE INDEX exec_by_sub_time ON executions_execution (subscription_id, created_at DESC)"]
# The design before executions/0009 (and channels/0011), for ``--variant copied-answer``.
COPIED_ANSWER = [
    "ALTER TABLE executions_execution ADD COLUMN tool_snapshot jsonb",
    "ALTER TABLE executions_execution RESET (fillfactor)",
    "DROP INDEX exec_exceptional_newest",
    "CREATE INDEX exec_exceptional_latest ON executions_execution (id DESC)"
    " WHERE status IN ('failed', 'retrying', 'skipped', 'missed')",
]


VARIANTS = ("current", "ledger", "ledger-by-execution", "by-key", "sub-time-index", "copied-answer")


def _machine_cpu_s() -> float:
    """Busy CPU-seconds of the whole machine so far (every process: the database's included)."""
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / 100


def measure(n: int, variant: str, connections: int) -> dict[str, float]:
    """Seed, fan out and do the row work of ``n`` pushes in a throw-away database with ``variant``'s schema."""
    with bench_database():
        import psycopg
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from taskhub.executions.fanout import fanout, nominal_fire
        from taskhub.executions.models import ExecutionBatch
        from taskhub.subscriptions.models import Subscription

        call_command("seed_demo", n=n, users=max(1, n // 100), distinct=2000, prefix="bench")
        # ``copied-answer`` has ledger rows too, as the design it stands for still had.
        ledgered = variant in ("ledger", "ledger-by-execution", "copied-answer")
        deliver = DELIVER.format(
            ledger=LEDGER if ledgered else "",
            join_ledger="JOIN ledger l ON l.execution_id = d.execution_id AND l.channel_id = d.channel_id"
            if ledgered
            else "",
            inbox_data="%(data)s::jsonb, NULL" if variant == "copied-answer" else "'{}', %(snapshot)s",
            inbox_unique="(key)" if variant == "by-key" else "",
        )
        copied = variant == "copied-answer"
        schema = {
            "copied-answer": COPIED_ANSWER,
            "ledger-by-execution": LEDGER_BY_EXECUTION,
            "by-key": INBOX_BY_KEY,
            "sub-time-index": SUB_TIME_INDEX,
        }.get(variant, [])
        write_back = WRITE_BACK.format(
            answer="tool_snapshot = %(data)s::jsonb" if copied else "snapshot_id = %(snapshot)s"
        )
        with connection.cursor() as cursor:
            for statement in schema:
                cursor.execute(statement)
            if variant.startswith("fillfactor-"):
                cursor.execute(f"ALTER TABLE executions_execution SET (fillfactor = {int(variant[11:])})")

        schedule_id = Subscription.objects.values_list("schedule_id", flat=True).first()
        tick = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now())
        cpu = _machine_cpu_s()
        pushes = fanout(schedule_id=schedule_id, now=tick + timedelta(seconds=1)).enqueued
        fanout_cpu = _machine_cpu_s() - cpu

        batches = [[int(pk) for pk in ids] for ids in ExecutionBatch.objects.values_list("execution_ids", flat=True)]
        db = connection.settings_dict
        dsn = f"host={db['HOST']} port={db['PORT']} dbname={db['NAME']} user={db['USER']}"

        def work(mine: list[list[int]]) -> None:
            with psycopg.connect(dsn) as conn:
                for ids in mine:
                    params = {"ids": ids, "body": BODY, "data": DATA, "meta": META, "first": ids[0], "last": ids[-1]}
                    with conn.transaction(), conn.cursor() as cursor:
                        if not copied:  # stored before the pushes that refer to it, as the runner does
                            cursor.execute(SNAPSHOT, params)
                            params["snapshot"] = cursor.fetchone()[0]
                        cursor.execute("SET LOCAL enable_nestloop = off")
                        cursor.execute(deliver, params)
                        cursor.execute(write_back, params)

        threads = [threading.Thread(target=work, args=(batches[i::connections],)) for i in range(connections)]
        cpu = _machine_cpu_s()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rows_cpu = _machine_cpu_s() - cpu
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM channels_inboxmessage")
            stored = cursor.fetchone()[0]
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'executions_execution'"
            )
            updated, heap_only = cursor.fetchone()
        if stored != pushes:
            raise SystemExit(f"only {stored}/{pushes} inbox rows stored")
    floor = (fanout_cpu + rows_cpu) / pushes * 1e6
    return {
        "fanout_cpu_us_per_push": round(fanout_cpu / pushes * 1e6, 1),
        "rows_cpu_us_per_push": round(rows_cpu / pushes * 1e6, 1),
        "floor_cpu_us_per_push": round(floor, 1),
        # Of the write-back's updates, the share PostgreSQL wrote in place (no new index entries).
        "heap_only_updates": round(heap_only / max(updated, 1), 3),
        # A million pushes' CPU spread over both cores: the least time the database alone needs.
        "floor_1m_on_2_cores_s": round(floor / 2, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument(
        "--variant",
        default="current",
        help=f"{', '.join(VARIANTS)} or fillfactor-N, or several, comma-separated (docstring)",
    )
    parser.add_argument("--connections", type=int, default=2, help="as many as the fan-out bench's workers")
    args = parser.parse_args()
    variants = args.variant.split(",")
    for variant in variants:
        if variant not in VARIANTS and not (variant.startswith("fillfactor-") and variant[11:].isdigit()):
            parser.error(f"--variant: unknown variant {variant!r}")
    figures: dict[str, object] = {"subscriptions": args.n}
    for variant in dict.fromkeys(["current", *variants]):  # the baseline first, in the same run
        measured = measure(args.n, variant, args.connections)
        figures.update({f"{variant}_{name}": value for name, value in measured.items()})
        for name, value in measured.items():
            print(f"{variant:10} {name:24} {value}")
    figures["machine"] = machine()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
