"""Push throughput: inbox and webhook deliveries per second, batched versus one message per call.

    make bench BENCH=channels ARGS="--inbox 10000"

Runs against a throwaway database (created and dropped here, named by
TEST_DATABASE_NAME) and the Redis at REDIS_URL (the inbox publishes its live feed).
The baseline is measured in the same run: the same ``deliver_messages`` called with one
message at a time. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from taskhub.channels.dispatch import OutboundMessage, deliver_messages  # noqa: E402
from taskhub.channels.kinds.webhook import new_secret  # noqa: E402
from taskhub.channels.models import Channel  # noqa: E402
from taskhub.executions.models import Execution  # noqa: E402
from taskhub.subscriptions.models import Subscription  # noqa: E402
from taskhub.subscriptions.states import Status  # noqa: E402
from tests.channels.receivers import http_receiver  # noqa: E402


def _fixtures(users: int) -> list[tuple[int, int, int]]:
    """(subscription, execution, inbox channel) per user, written in bulk."""
    User = get_user_model()
    owners = User.objects.bulk_create([User(username=f"bench{i}") for i in range(users)])
    subs = Subscription.objects.bulk_create(
        [
            Subscription(owner=o, kind="periodic", status=Status.ACTIVE, title="w", tool="get_weather", call_key="k")
            for o in owners
        ]
    )
    runs = Execution.objects.bulk_create([Execution(subscription=s, fire_key="bench") for s in subs])
    inboxes = Channel.objects.bulk_create([Channel(owner=o, kind="inbox", name="inbox") for o in owners])
    return [(s.pk, r.pk, c.pk) for s, r, c in zip(subs, runs, inboxes, strict=True)]


def _rate(messages: list[OutboundMessage], *, batched: bool) -> float:
    started = time.perf_counter()
    outcomes = deliver_messages(messages) if batched else [deliver_messages([m])[0] for m in messages]
    elapsed = time.perf_counter() - started
    assert {o.status for o in outcomes} == {"sent"}, {o.status for o in outcomes}
    return len(messages) / elapsed


def _messages(rows: list[tuple[int, int, int]], fire_key: str, channel: int | None = None) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            execution_id=run,
            subscription_id=sub,
            fire_key=fire_key,
            channel_id=channel or inbox,
            title="Beijing weather",
            body="Sunny, 21°C",
            data={"temp": 21},
        )
        for sub, run, inbox in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inbox", type=int, default=10_000)
    parser.add_argument("--inbox-baseline", type=int, default=1_000)
    parser.add_argument("--webhook", type=int, default=1_000)
    parser.add_argument("--webhook-baseline", type=int, default=200)
    args = parser.parse_args()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1/32"]
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        # distinct executions per phase: a delivery is unique per (execution, channel)
        rows = _fixtures(max(args.inbox + args.inbox_baseline, args.webhook + args.webhook_baseline))
        figures: dict[str, object] = {"database": connection.vendor, "cpus": os.cpu_count()}
        figures["inbox_batched_per_s"] = round(_rate(_messages(rows[: args.inbox], "inbox"), batched=True))
        baseline = _messages(rows[args.inbox : args.inbox + args.inbox_baseline], "inbox-one")
        figures["inbox_one_per_call_per_s"] = round(_rate(baseline, batched=False))
        print(
            f"inbox: {figures['inbox_batched_per_s']}/s in batches of {args.inbox} "
            f"vs {figures['inbox_one_per_call_per_s']}/s one per call"
        )
        with http_receiver() as receiver:
            owner = get_user_model().objects.get(pk=Subscription.objects.get(pk=rows[0][0]).owner_id)
            hook = Channel.objects.create(
                owner=owner, kind="webhook", name="hook", config={"url": receiver.url}, secret=new_secret()
            )
            batch = _messages(rows[: args.webhook], "hook", channel=hook.pk)
            figures["webhook_batched_per_s"] = round(_rate(batch, batched=True))
            single = _messages(rows[args.webhook : args.webhook + args.webhook_baseline], "hook-one", channel=hook.pk)
            figures["webhook_one_per_call_per_s"] = round(_rate(single, batched=False))
            assert len(receiver.requests) == args.webhook + args.webhook_baseline
        print(
            f"webhook (loopback): {figures['webhook_batched_per_s']}/s in a batch of {args.webhook} "
            f"(concurrency {settings.WEBHOOK_CONCURRENCY}) vs {figures['webhook_one_per_call_per_s']}/s one per call"
        )
        figures["inbox_speedup"] = round(figures["inbox_batched_per_s"] / figures["inbox_one_per_call_per_s"], 1)
        print(json.dumps(figures))
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
