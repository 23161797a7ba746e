"""Leave half of each monitor page free: an event on a hot key fires (or re-arms) every
monitor of its pages at once, and 30% free room let only about a third of those
updates stay heap-only (HOT); the rest inserted into each index. PostgreSQL only;
applies to pages written from now on."""

from __future__ import annotations

from django.db import migrations

from taskhub.core.fillfactor import fillfactor


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_event_match_lease")]

    operations = [fillfactor("monitoring", "Monitor", 50)]
