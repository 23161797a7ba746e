"""One SQL statement for a batch of per-row updates: ``UPDATE .. FROM (VALUES ..)``.

Django's ``bulk_update`` builds a CASE per column per row, which costs more than
the rest of a batch at our volumes; this costs one statement whatever the size.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def update_from_values(
    model: type[Model],
    *,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[object]],
    guard: tuple[str, object] | None = None,
) -> int:
    """Set ``columns`` of each row named by id: ``rows`` are ``(id, *values)`` in ``columns`` order.

    ``columns`` are ``(name, cast)`` pairs; ``cast`` is the PostgreSQL type a
    parameter needs (``jsonb``, ``timestamptz``, ``smallint``; ``""`` for text).
    ``guard=(column, value)`` updates only rows whose ``column`` equals ``value``
    (a compare-and-set). Returns the number of rows updated.
    """
    if not rows:
        return 0
    postgres = connection.vendor == "postgresql"

    def cast(kind: str) -> str:
        return f"::{kind}" if postgres and kind else ""

    table = connection.ops.quote_name(model._meta.db_table)
    placeholder = "(%s" + cast("bigint") + "".join(f", %s{cast(kind)}" for _, kind in columns) + ")"
    names = ", ".join(name for name, _ in columns)
    assignments = ", ".join(f"{name} = v.{name}" for name, _ in columns)
    params: list[object] = [value for row in rows for value in row]
    where = "t.id = v.id"
    if guard is not None:
        where += f" AND t.{guard[0]} = %s"
        params.append(model._meta.get_field(guard[0]).get_db_prep_value(guard[1], connection))
    sql = (
        f"UPDATE {table} AS t SET {assignments} "  # noqa: S608 - names are ours, values are parameters
        f"FROM (VALUES {', '.join([placeholder] * len(rows))}) AS v(id, {names}) WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
