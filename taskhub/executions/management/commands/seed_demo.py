"""Create demo users and active subscriptions in bulk (up to millions), with their buckets."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from taskhub.channels.models import Channel, ChannelKind
from taskhub.core.bulk import analyze
from taskhub.core.canonical import call_key
from taskhub.executions.demo import TEMPLATES, demo_calls, title_of
from taskhub.subscriptions.models import Kind, Subscription
from taskhub.subscriptions.scheduling import crontab_for, sync_bucket
from taskhub.subscriptions.states import Status


class Command(BaseCommand):
    help = "Seed N active daily subscriptions over --distinct different tool calls for --users users (bulk inserts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=1000, help="subscriptions to create")
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--distinct", type=int, default=100, help="different (tool, arguments) pairs")
        parser.add_argument("--cron", default="0 8 * * *")
        parser.add_argument("--timezone", default="Asia/Shanghai")
        parser.add_argument("--prefix", default="demo")
        parser.add_argument("--batch", type=int, default=10_000)

    def handle(self, *args: Any, **opts: Any) -> None:
        calls = demo_calls(opts["distinct"])
        User = get_user_model()
        password = make_password(None)  # unusable: demo users log in only through tokens an admin issues
        users = User.objects.bulk_create(
            [User(username=f"{opts['prefix']}-{i}", password=password) for i in range(opts["users"])],
            ignore_conflicts=True,
        )
        users = list(User.objects.filter(username__startswith=f"{opts['prefix']}-").order_by("id"))
        Channel.objects.bulk_create(
            [Channel(owner=u, kind=ChannelKind.INBOX, name="inbox") for u in users], ignore_conflicts=True
        )
        inbox = dict(Channel.objects.filter(owner__in=users, name="inbox").values_list("owner_id", "id"))
        schedule = crontab_for(cron=opts["cron"], timezone=opts["timezone"])
        through = Subscription.channels.through
        started, done, n = time.monotonic(), 0, opts["n"]
        while done < n:
            size = min(opts["batch"], n - done)
            with transaction.atomic():
                subs = Subscription.objects.bulk_create(
                    [
                        self._subscription(
                            users[(done + i) % len(users)].pk, calls[(done + i) % len(calls)], schedule, opts
                        )
                        for i in range(size)
                    ]
                )
                through.objects.bulk_create([through(subscription_id=s.pk, channel_id=inbox[s.owner_id]) for s in subs])
            done += size
            rate = done / max(time.monotonic() - started, 1e-6)
            sys.stdout.write(f"\r{done:>10,}/{n:,} subscriptions ({rate:,.0f}/s)")
            sys.stdout.flush()
        with transaction.atomic():
            sync_bucket(schedule.pk)
        analyze(User, Channel, Subscription, through)
        self.stdout.write(
            f"\nseeded {n:,} subscriptions for {len(users)} users, {len(calls)} distinct calls, bucket {schedule.pk}"
        )

    @staticmethod
    def _subscription(
        owner_id: int, call: tuple[str, dict[str, Any]], schedule: Any, opts: dict[str, Any]
    ) -> Subscription:
        tool, arguments = call
        return Subscription(
            owner_id=owner_id,
            kind=Kind.PERIODIC,
            status=Status.ACTIVE,
            title=title_of(tool, arguments),
            tool=tool,
            arguments=arguments,
            call_key=call_key(tool, arguments),
            schedule=schedule,
            timezone=opts["timezone"],
            template=TEMPLATES[tool],
        )
