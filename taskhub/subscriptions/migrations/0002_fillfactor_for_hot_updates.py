"""Leave a fifth of each subscriptions page free, so the runner's per-push counter
update (last_fired_at, last_succeeded_at, consecutive_failures: no indexed column)
is a heap-only (HOT) update instead of one insertion into each of the table's indexes.
PostgreSQL only; applies to pages written from now on."""

from __future__ import annotations

from django.db import migrations


def _set(fillfactor: int | None):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("subscriptions", "Subscription")._meta.db_table)
        setting = f"SET (fillfactor = {fillfactor})" if fillfactor else "RESET (fillfactor)"
        schema_editor.execute(f"ALTER TABLE {table} {setting}")

    return apply


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial")]

    operations = [migrations.RunPython(_set(80), _set(None))]
