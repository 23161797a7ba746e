"""Raw SQL for batches, portable between PostgreSQL (production, tests) and SQLite (``make run``).

``update_from_values`` is one statement for a batch of per-row updates: Django's
``bulk_update`` builds a CASE per column per row, which costs more than the rest
of a batch at our volumes; this costs one statement whatever the size.
``cast`` and ``param`` are for every raw statement that takes parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Model


def cast(kind: str) -> str:
    """``::kind`` on PostgreSQL (psycopg sends a ``str`` parameter as text: jsonb needs it); nothing elsewhere."""
    return f"::{kind}" if kind and connection.vendor == "postgresql" else ""


def param(value: object) -> object:
    """``value`` as the ORM stores it, for a raw statement's parameters.

    SQLite keeps a datetime as text in naive UTC; the driver's own adapter would
    write an aware one with its offset (``+08:00``), which the ORM's lookups then
    compare as text and get wrong. PostgreSQL takes the datetime as it is.
    """
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


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
    table = connection.ops.quote_name(model._meta.db_table)
    placeholder = "(%s" + cast("bigint") + "".join(f", %s{cast(kind)}" for _, kind in columns) + ")"
    names = ", ".join(name for name, _ in columns)
    assignments = ", ".join(f"{name} = v.{name}" for name, _ in columns)
    params: list[object] = [param(value) for row in rows for value in row]
    where = "t.id = v.id"
    if guard is not None:
        where += f" AND t.{guard[0]} = %s"
        params.append(model._meta.get_field(guard[0]).get_db_prep_value(guard[1], connection))
    # The VALUES list is named in a CTE: SQLite takes no column list on a subquery's alias (``AS v(id, ..)``).
    sql = (
        f"WITH v (id, {names}) AS (VALUES {', '.join([placeholder] * len(rows))}) "  # noqa: S608 - names are ours
        f"UPDATE {table} AS t SET {assignments} FROM v WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
