"""Raw SQL for batches, portable between PostgreSQL (production, tests) and SQLite (``make run``).

A batch's rows travel as ONE JSON parameter, unpacked by the database into a
relation ``v`` (``json_to_recordset`` on PostgreSQL, ``json_each`` on SQLite;
rows of integers only, a batch's ids, travel on PostgreSQL as one array per column):
``insert_rows`` is ``INSERT .. SELECT`` from it and ``update_from_values`` an
``UPDATE .. FROM`` it. One parameter, not one per value: the driver's per-value
work (quoting, placeholder parsing) cost ten times what the database spent on
the statement itself; ``json.dumps`` of a batch runs in C.

Columns are ``(name, type)`` pairs; the type is the PostgreSQL type of the value
(``bigint``, ``jsonb``, ``timestamptz``, ``smallint``, ``uuid``, ``boolean``; ``""`` for text).
A ``jsonb`` value is the Python object itself (a dict or list, or None for NULL), never a JSON string.
``shared`` names text or jsonb columns whose values repeat across rows as the same
Python object (one rendered message for hundreds of subscribers, one tool answer):
on PostgreSQL each distinct object travels once, in a side array that the rows
point into, instead of once per row. Values are told apart by identity, so equal
but distinct objects are simply sent twice.
``ids_in`` does the same for a list of ids: ``filter(id__in=ids_in(ids))``.
``cast`` and ``param`` are for the other raw statements that take parameters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.db.models.expressions import RawSQL

Column = tuple[str, str]  # (name, PostgreSQL type; "" for text)
T = TypeVar("T")


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


def _json_default() -> Callable[[Any], Any]:
    """The encoder's fallback for one batch: instants and UUIDs as this database keeps them.

    The vendor is looked up once, and each distinct instant formatted once: a batch's
    rows mostly carry the same few (its ``now``).
    """
    postgresql = connection.vendor == "postgresql"
    instants: dict[datetime, object] = {}

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            if value not in instants:
                instants[value] = value.isoformat() if postgresql else param(value)
            return instants[value]
        if isinstance(value, uuid.UUID):
            # Django keeps a UUIDField as 32 hex characters on SQLite, as uuid on PostgreSQL.
            return str(value) if postgresql else value.hex
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return default


def rows_relation(
    columns: Sequence[Column], rows: Sequence[Sequence[object]], *, shared: Collection[str] = (), name: str = "v"
) -> tuple[str, list[object]]:
    """A FROM item named ``name`` holding ``rows`` (tuples in ``columns`` order), and its parameters.

    ``shared`` columns (text or jsonb) send each distinct value object once (module docstring).
    """
    if connection.vendor == "postgresql":
        source, params = _postgresql_relation(columns, rows, shared)
        return f"{source} AS {name}", params
    names = [name for name, _ in columns]
    payload = json.dumps([list(row) for row in rows], default=_json_default())
    # json_extract gives an object or array as its JSON text: how SQLite keeps a JSONField.
    picked = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, name in enumerate(names))
    return f"(SELECT {picked} FROM json_each(%s)) AS {name}", [payload]  # noqa: S608 - names are ours


def _postgresql_relation(
    columns: Sequence[Column], rows: Sequence[Sequence[object]], shared: Collection[str]
) -> tuple[str, list[object]]:
    """The rows as a ``json_to_recordset`` subquery (unnamed); a shared column's rows carry an index into one jsonb
    array of its distinct values (NULL stays NULL).

    The arrays are constants of the statement: parsed once, then ``->`` / ``->>`` by
    index per row, where a per-row value would be parsed once per row.
    """
    if not shared and all(kind in _INTEGER_TYPES for _, kind in columns):
        by_column = list(zip(*rows, strict=True)) or [() for _ in columns]
        if not any(None in values for values in by_column):
            return _integer_arrays(columns, by_column)
    names = [name for name, _ in columns]
    unknown = set(shared) - set(names)
    if unknown:
        raise ValueError(f"shared columns not among the columns: {sorted(unknown)}")
    positions = [i for i, name in enumerate(names) if name in shared]
    pools: dict[int, list[object]] = {i: [] for i in positions}
    seen: dict[int, dict[int, int]] = {i: {} for i in positions}
    records = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        for i in positions:
            value = row[i]
            if value is not None:
                refs = seen[i]
                ref = refs.get(id(value))
                if ref is None:
                    ref = refs[id(value)] = len(pools[i])
                    pools[i].append(value)
                record[names[i]] = ref
        records.append(record)
    inner = ", ".join(f"{name} {'int' if name in shared else kind or 'text'}" for name, kind in columns)
    default = _json_default()
    picked = []
    params: list[object] = []
    for i, (name, kind) in enumerate(columns):
        if i in pools:
            arrow = "->" if kind == "jsonb" else "->>"
            picked.append(f"(%s::jsonb {arrow} r.{name}) AS {name}")
            params.append(json.dumps(pools[i], default=default))
        else:
            picked.append(f"r.{name}")
    params.append(json.dumps(records, default=default))
    source = f"(SELECT {', '.join(picked)} FROM json_to_recordset(%s::json) AS r({inner}))"  # noqa: S608
    return source, params


_INTEGER_TYPES = frozenset({"bigint", "int", "smallint"})


def _integer_arrays(columns: Sequence[Column], by_column: Sequence[Sequence[int]]) -> tuple[str, list[object]]:
    """Columns of integers (no NULL) as one array literal each, unnested side by side (unnamed subquery).

    A batch's ids travel this way (a thousand executions with their subscriptions):
    joining numbers into text costs a tenth of building and encoding a JSON object
    per row, and PostgreSQL reads an integer array faster than it unpacks those objects.
    """
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    # int.__repr__: the number whatever int subclass holds it (never "True"); anything else is an error.
    params: list[object] = ["{" + ",".join(map(int.__repr__, values)) + "}" for values in by_column]
    names = ", ".join(name for name, _ in columns)
    return f"(SELECT * FROM unnest({arrays}) AS r({names}))", params  # noqa: S608 - names are ours


def analyze(*models: type[Model]) -> None:
    """Refresh the planner's statistics of ``models``' tables after a bulk load.

    Until autovacuum gets to a table that grew by a million rows in a minute, the
    planner keeps its old picture and can scan the whole table where an index
    probe would do (the channels of a batch's subscriptions: 12 ms instead of 1 ms
    per 500 at 50,000 subscriptions, growing with the table).

    On PostgreSQL outside a transaction it is ``VACUUM ANALYZE``: the load's rows
    then have their hint bits set and their pages marked all-visible, as autovacuum
    would leave them later. Otherwise the first statements to read them (a fan-out, a
    batch's lots) would set those bits and write every page out again.
    """
    verb = "VACUUM ANALYZE" if connection.vendor == "postgresql" and not connection.in_atomic_block else "ANALYZE"
    with connection.cursor() as cursor:
        for model in models:  # one table per statement: SQLite's ANALYZE takes one name
            cursor.execute(f"{verb} {connection.ops.quote_name(model._meta.db_table)}")


def ids_in(ids: Iterable[int]) -> RawSQL:
    """A subquery yielding ``ids``, from one JSON parameter: ``filter(pk__in=ids_in(ids))``."""
    payload = json.dumps(list(ids))
    if connection.vendor == "postgresql":
        return RawSQL("SELECT (json_array_elements_text(%s::json))::bigint", [payload])
    return RawSQL("SELECT value FROM json_each(%s)", [payload])


def insert_rows(
    model: type[Model],
    *,
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    constants: Mapping[str, str] | None = None,
    constant_params: Sequence[object] = (),
    conflict: str = "",
    returning: Sequence[str] = (),
    shared: Collection[str] = (),
) -> list[tuple[Any, ...]]:
    """``INSERT .. SELECT`` of ``rows`` into ``model``'s table in one statement.

    ``constants`` are columns set to the same SQL expression on every row (``''``,
    ``0``, ``gen_random_uuid()``, ``%s``): ours, never user input; ``constant_params``
    are the values of their ``%s``, in order. ``conflict`` is the
    ``ON CONFLICT ..`` clause, ``returning`` the columns to return (the rows the
    statement actually inserted, or updated on conflict). ``shared``: see the module docstring.
    """
    if not rows:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    source, rows_param = rows_relation(columns, rows, shared=shared)
    params = [*map(param, constant_params), *rows_param]  # the constants come first in the statement
    constants = dict(constants or {})
    targets = ", ".join([name for name, _ in columns] + list(constants))
    values = ", ".join([f"v.{name}" for name, _ in columns] + list(constants.values()))
    # WHERE true: SQLite needs it to tell an upsert's ON CONFLICT from a join's ON.
    sql = f"INSERT INTO {table} ({targets}) SELECT {values} FROM {source} WHERE true {conflict}"  # noqa: S608
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def update_from_values(
    model: type[Model],
    *,
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    guard: tuple[str, object] | None = None,
    shared: Collection[str] = (),
) -> list[int]:
    """Set ``columns`` of each row named by id: ``rows`` are ``(id, *values)`` in ``columns`` order.

    ``guard=(column, value)`` updates only rows whose ``column`` equals ``value``
    (a compare-and-set). Returns the ids of the rows updated. ``shared``: see the
    module docstring.
    """
    if not rows:
        return []
    source, params = rows_relation([("id", "bigint"), *columns], rows, shared=shared)
    condition = ""
    if guard is not None:
        condition = f"t.{guard[0]} = %s"
        params.append(model._meta.get_field(guard[0]).get_db_prep_value(guard[1], connection))
    names = [name for name, _ in columns]
    source = f"SELECT * FROM {source}"  # noqa: S608 - our SQL only
    return update_from(model, columns=names, source=source, params=params, condition=condition)


def update_from(
    model: type[Model], *, columns: Sequence[str], source: str, params: Sequence[object], condition: str = ""
) -> list[int]:
    """Set ``columns`` of ``model``'s rows (``t``) from the rows of the query ``source`` (``v``) with their id.

    ``source`` is our SQL (values are in ``params``) returning an ``id`` and ``columns``;
    ``condition`` further limits the rows updated, in terms of ``t`` and ``v``. Returns
    the ids of the rows updated. ``source`` is computed first, on its own
    (MATERIALIZED): the planner, left to join the table first, can estimate one row and
    rescan the source once per row.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{name} = v.{name}" for name in columns)
    where = f"t.id = v.id AND {condition}" if condition else "t.id = v.id"
    # RETURNING sees only the updated table on SQLite; PostgreSQL needs the alias (v has an id too).
    returned = "t.id" if connection.vendor == "postgresql" else "id"
    sql = f"""
        WITH v AS MATERIALIZED ({source})
        UPDATE {table} AS t SET {assignments} FROM v WHERE {where} RETURNING {returned}
    """  # noqa: S608 - only our SQL is interpolated; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def insert_skipping_conflicts(insert: Callable[[str], T], clause: str) -> T:
    """Run an INSERT that must skip rows whose unique key exists: first without its
    ``ON CONFLICT .. DO NOTHING`` ``clause``, then, if it hit an existing key, again with it.

    ``insert(conflict)`` executes the statement with ``conflict`` ("" or ``clause``) in
    its place and returns what it read. Hot inserts (a fan-out chunk, a batch's inbox
    rows) almost never meet a row that exists: without the clause PostgreSQL skips its
    conflict pre-check, one more descent of the unique index and a speculative
    insertion per row, about a quarter of the insert's cost.
    The first attempt runs in a savepoint, so a repeat (a tick fanned out again, a
    batch run again) costs one rolled-back attempt, and a concurrent insert of the
    same keys waits for the other transaction and then skips them, as the clause does.
    """
    try:
        with transaction.atomic():
            return insert("")
    except IntegrityError:
        return insert(clause)
