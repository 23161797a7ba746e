"""Leave a fifth of each subscriptions page free, so the runner's per-push counter
update (last_fired_at, last_succeeded_at, consecutive_failures: no indexed column)
is a heap-only (HOT) update instead of one insertion into each of the table's indexes.
PostgreSQL only; applies to pages written from now on."""

from __future__ import annotations

from django.db import migrations

from taskhub.core.fillfactor import fillfactor


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial")]

    operations = [fillfactor("subscriptions", "Subscription", 80)]
