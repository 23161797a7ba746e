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
from taskhub.core.canonical import call_key
from taskhub.subscriptions.models import Kind, Subscription
from taskhub.subscriptions.scheduling import crontab_for, sync_bucket
from taskhub.subscriptions.states import Status


class Command(BaseCommand):
    help = "Seed N active daily weather subscriptions over --cities cities for --users users (bulk inserts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=1000, help="subscriptions to create")
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--cities", type=int, default=100, help="distinct cities (distinct tool calls)")
        parser.add_argument("--cron", default="0 8 * * *")
        parser.add_argument("--timezone", default="Asia/Shanghai")
        parser.add_argument("--tool", default="current_weather")
        parser.add_argument("--prefix", default="demo")
        parser.add_argument("--batch", type=int, default=10_000)

    def handle(self, *args: Any, **opts: Any) -> None:
        from tools.geo import PLACES

        cities = [place.name for place in PLACES][: opts["cities"]]
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
                        Subscription(
                            owner_id=users[(done + i) % len(users)].pk,
                            kind=Kind.PERIODIC,
                            status=Status.ACTIVE,
                            title="Weather in {city}".replace("{city}", cities[(done + i) % len(cities)]),
                            tool=opts["tool"],
                            arguments={"city": cities[(done + i) % len(cities)]},
                            call_key=call_key(opts["tool"], {"city": cities[(done + i) % len(cities)]}),
                            schedule=schedule,
                            timezone=opts["timezone"],
                            template="{title}: {condition}, {temperature_c}°C",
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
        self.stdout.write(
            f"\nseeded {n:,} subscriptions for {len(users)} users over {len(cities)} cities; bucket {schedule.pk}"
        )
