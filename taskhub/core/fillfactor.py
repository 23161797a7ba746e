"""A migration operation that leaves room in a table's pages for heap-only (HOT) updates.

PostgreSQL only: on any other database (SQLite under ``make run``) it does
nothing, so the same migrations apply everywhere. It applies to pages written
from then on.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def fillfactor(app_label: str, model_name: str, percent: int) -> migrations.RunPython:
    """``ALTER TABLE .. SET (fillfactor = percent)`` on PostgreSQL; reversed by ``RESET``."""

    def apply(value: int | None) -> Any:
        def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            table = schema_editor.quote_name(apps.get_model(app_label, model_name)._meta.db_table)
            setting = f"SET (fillfactor = {value})" if value else "RESET (fillfactor)"
            schema_editor.execute(f"ALTER TABLE {table} {setting}")

        return run

    return migrations.RunPython(apply(percent), apply(None))
