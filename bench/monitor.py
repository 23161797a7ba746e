"""Monitoring at scale: one event on a key with 100,000 monitors among 1,000,000, matched and delivered.

    make bench BENCH=monitor                             # 1,000,000 monitors, 300 keys, 100,000 on the hot one
    make bench BENCH=monitor ARGS="--n 100000 --hot 10000 --share 0.5"

Seeds ``--n`` active threshold monitors ("fuel price below X") over 300 (region,
grade) keys with multi-row ``INSERT .. SELECT generate_series``; ``--hot`` of
them watch Shanghai 92, and ``--share`` of those have a threshold above the
event's price. Then one event (price 6.9, previously 7.95) is matched in this
process (``event_match``: the indexed UPDATE .. RETURNING, then the execution
rows) and delivered to the inbox by real Celery workers through the execution
pipeline. Prints matching time, alerts delivered per second and total time; the
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta

from _setup import bench_database, machine, wait_drained

KEYS = 300
PRICE, PREVIOUS = 6.9, 7.95


def _keys() -> list[tuple[str, dict[str, str]]]:
    from tools.geo import PLACES, province_of

    regions = ["Shanghai"] + [p.name for p in PLACES if province_of(p) is not None and p.name != "Shanghai"]
    calls = [("fuel_price", {"region": r, "grade": g}) for r in regions for g in ("92", "95", "98", "0")]
    return calls[:KEYS]


def seed(*, n: int, hot: int, share: float, users: int) -> int:
    """Users, inbox channels, subscriptions, monitor rows and watched keys; returns the expected matches."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    from taskhub.channels.models import Channel, ChannelKind
    from taskhub.core.canonical import call_key

    User = get_user_model()
    User.objects.bulk_create([User(username=f"mon-{i}", password=make_password(None)) for i in range(users)])
    owners = list(User.objects.filter(username__startswith="mon-").order_by("id").values_list("id", flat=True))
    Channel.objects.bulk_create([Channel(owner_id=o, kind=ChannelKind.INBOX, name="inbox") for o in owners])
    keys = [(i, tool, json.dumps(args), call_key(tool, args)) for i, (tool, args) in enumerate(_keys())]
    pct = round(share * 100)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_keys (idx int PRIMARY KEY, tool text, args jsonb, key text)")
        cursor.executemany("INSERT INTO bench_keys VALUES (%s, %s, %s::jsonb, %s)", keys)
        # Subscription g: the hot key for g <= hot, else one of the other keys; thresholds 7.0-7.6
        # (match 6.9) for g % 100 < pct of the hot ones, 6.0-6.6 (do not) for the rest.
        cursor.execute(
            """
            INSERT INTO subscriptions_subscription (owner_id, kind, status, title, tool, arguments, call_key,
                timezone, condition, template, priority, missed_policy, catch_up_window_s, consecutive_failures,
                created_from, source_ref, created_at, updated_at)
            SELECT %(owner0)s + g %% %(users)s, 'monitor', 'active', 'Fuel below ' || t.threshold, k.tool, k.args,
                k.key, 'Asia/Shanghai', jsonb_build_object('field', 'price', 'op', 'lt', 'value', t.threshold), '', 1,
                'catch_up_once', 3600, 0, 'api', 'bench:' || g, %(now)s, %(now)s
            FROM generate_series(1, %(n)s) AS g
            CROSS JOIN LATERAL (SELECT CASE WHEN g <= %(hot)s THEN 0 ELSE 1 + (g - %(hot)s) %% %(others)s END AS idx,
                (CASE WHEN g %% 100 < %(pct)s THEN 7.0 ELSE 6.0 END + (g %% 7) / 10.0)::float AS threshold) AS t
            JOIN bench_keys k ON k.idx = t.idx
            """,
            {"owner0": owners[0], "users": users, "n": n, "hot": hot, "others": KEYS - 1, "pct": pct, "now": now},
        )
        cursor.execute(
            """
            INSERT INTO monitoring_monitor (subscription_id, key, active, priority, timezone, interval_s, margin,
                cooldown_s, daily_cap, alert_once, field, direction, threshold, condition, armed, alerts_today)
            SELECT id, call_key, true, priority, timezone, 300, 0, 0, 0, false, 'price', 'lt',
                (condition->>'value')::float, NULL, true, 0
            FROM subscriptions_subscription WHERE kind = 'monitor'
            """
        )
        cursor.execute(
            """
            INSERT INTO subscriptions_subscription_channels (subscription_id, channel_id)
            SELECT s.id, c.id FROM subscriptions_subscription s JOIN channels_channel c ON c.owner_id = s.owner_id
            WHERE s.call_key = %s
            """,
            [keys[0][3]],
        )
        cursor.execute(
            """
            INSERT INTO monitoring_monitorkey (key, tool, arguments, monitors, interval_s, fields, next_poll_at,
                last_observed_at, last_payload, last_poll_outcome, last_polled_at)
            SELECT k.key, k.tool, k.args, count(*), 300, '["price"]'::jsonb, %(later)s, %(before)s,
                jsonb_build_object('price', %(previous)s::float), 'fresh', %(before)s
            FROM monitoring_monitor m JOIN bench_keys k ON k.key = m.key GROUP BY k.key, k.tool, k.args
            """,
            {"later": now + timedelta(hours=1), "before": now - timedelta(minutes=5), "previous": PREVIOUS},
        )
        cursor.execute("ANALYZE")
    return sum(1 for g in range(1, hot + 1) if g % 100 < pct)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--hot", type=int, default=100_000, help="monitors on the key the event is about")
    parser.add_argument("--share", type=float, default=0.5, help="share of the hot monitors the event matches")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: one per core)")
    args = parser.parse_args()
    with bench_database():
        from django.utils import timezone

        from taskhub.executions.models import Execution, ExecutionStatus
        from taskhub.monitoring.matching import event_match
        from taskhub.monitoring.services import NewEvent, events_record
        from tests.processes import celery_worker, process_env

        started = time.perf_counter()
        expected = seed(n=args.n, hot=args.hot, share=args.share, users=args.users)
        seed_s = time.perf_counter() - started

        with celery_worker(concurrency=args.workers, env=process_env()):
            time.sleep(3)  # the worker's start-up is not part of the figure
            region, grade = "Shanghai", "92"
            started = time.perf_counter()
            event = NewEvent(
                "bench",
                "price-drop-1",
                "fuel_price",
                {"region": region, "grade": grade},
                {"price": PRICE, "region": region, "grade": grade},
                timezone.now(),
            )
            [event_id] = events_record([event], match=False)  # this process matches it, timed
            result = event_match(event_id=event_id)
            wait_drained(expected=result.alerts, timeout_s=args.timeout)
            total_s = time.perf_counter() - started
            alerts_s = total_s - result.match_s  # from the matched rows to the last alert delivered
            event_match(event_id=event_id)  # a replay: must add nothing

        delivered = Execution.objects.filter(status=ExecutionStatus.SUCCEEDED).count()
        figures = {
            "monitors": args.n,
            "keys": KEYS,
            "hot_key_monitors": args.hot,
            "matched": result.alerts,
            "expected": expected,
            "match_s": result.match_s,
            "insert_s": result.insert_s,
            "alerts_s": round(alerts_s, 2),
            "alerts_delivered": delivered,
            "alerts_per_s": round(delivered / alerts_s, 1),
            "total_s": round(total_s, 2),
            "replay_new_alerts": Execution.objects.count() - result.alerts,
            "seed_s": round(seed_s, 1),
            "workers": args.workers,
            "machine": machine(),
        }
        for name, value in figures.items():
            print(f"{name:20} {value}")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
