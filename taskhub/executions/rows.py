"""Bulk insert of Execution rows: one statement per chunk, duplicates skipped by the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection

from taskhub import queues
from taskhub.core.bulk import ids_in, insert_rows, insert_skipping_conflicts, param, rows_relation, update_from
from taskhub.executions.models import IN_FLIGHT, Execution, ExecutionStatus
from taskhub.subscriptions.models import Kind, MissedPolicy, Subscription
from taskhub.subscriptions.states import Status

_NO_META: dict[str, object] = {}  # shared by every row without a meta: never changed


class NewExecution(NamedTuple):
    """A row for ``insert_executions`` (tuples: an event's alerts come by the thousand)."""

    subscription_id: int
    fire_key: str
    nominal: datetime | None
    status: str = ExecutionStatus.QUEUED
    route: queues.Route | None = None
    meta: dict[str, object] = _NO_META


class InsertedExecution(NamedTuple):
    id: int
    subscription_id: int
    status: str
    route: queues.Route | None


# A random (version 4) UUID as SQLite keeps a UUIDField: 32 hex characters, the version
# nibble 4 and the variant one of 8, 9, a, b, as Python's uuid.uuid4() would make it.
_SQLITE_UUID4 = (
    "lower(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2)"
    " || substr('89ab', 1 + (random() & 3), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6)))"
)


def _uuid_sql() -> str:
    # Django keeps a UUIDField as 32 hex characters on SQLite, as uuid on PostgreSQL.
    return "gen_random_uuid()" if connection.vendor == "postgresql" else _SQLITE_UUID4


_NEW_COLUMNS = (
    ("subscription_id", "bigint"),
    ("fire_key", ""),
    ("status", ""),
    ("scheduled_for", "timestamptz"),
    ("enqueued_at", "timestamptz"),
    ("meta", "jsonb"),
    ("created_at", "timestamptz"),
)


_EMPTY_TEXT = ("error_kind", "error_message", "message")
# A (subscription, fire key) that has its execution keeps it (``execution_once_per_fire``).
_ONCE_PER_FIRE = "ON CONFLICT (subscription_id, fire_key) DO NOTHING"


def insert_executions(rows: list[NewExecution], *, now: datetime) -> list[InsertedExecution]:
    """Insert ``rows``; a (subscription, fire key) that exists is skipped. Returns only the new rows.

    ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, SQLite >= 3.35):
    the database, not a read-then-write, decides which tick created a row.
    """
    returned = insert_rows(
        Execution,
        columns=_NEW_COLUMNS,
        rows=[
            (
                row.subscription_id,
                row.fire_key,
                row.status,
                row.nominal,
                now if row.status == ExecutionStatus.QUEUED else None,
                row.meta,
                now,
            )
            for row in rows
        ],
        # The public id is made by the database.
        constants={
            "instance_id": _uuid_sql(),
            "attempts": "0",
            "error_kind": "''",
            "error_message": "''",
            "message": "''",
        },
        conflict=_ONCE_PER_FIRE,
        returning=("id", "subscription_id", "fire_key", "status"),
        shared=("meta",),
    )
    routes = {(row.subscription_id, row.fire_key): row.route for row in rows}
    return [InsertedExecution(pk, sub_id, status, routes[(sub_id, key)]) for pk, sub_id, key, status in returned]


@dataclass(frozen=True)
class Tick:
    """One fire of a bucket, as the fan-out inserts it."""

    schedule_id: int
    fire_key: str
    nominal: datetime
    lateness_s: float
    missed_keys: tuple[str, ...] = ()


Position = tuple[str, int]  # (call_key, id): the fan-out's keyset order over a bucket


def insert_tick_executions(tick: Tick, *, after: Position, upto: Position, now: datetime) -> list[InsertedExecution]:
    """The executions of one tick for the bucket's subscriptions at (call_key, id) in (``after``, ``upto``].

    Set-based: ``INSERT .. SELECT`` from the subscriptions, no row passes through
    Python. Each subscription gets a ``missed`` row per key in ``tick.missed_keys``
    and one row for the tick itself: ``queued`` when it still runs at this lateness
    (``fanout.runs_now``: within the grace period, or catch-up-once within its
    window), else ``missed``. An existing (subscription, fire key) is skipped.
    Returns the new rows with their route (``queues.route_for_subscription``).
    """
    table = connection.ops.quote_name(Execution._meta.db_table)
    subs = connection.ops.quote_name(Subscription._meta.db_table)
    on_time = tick.lateness_s <= settings.FIRE_GRACE_S
    runs = (
        "TRUE"
        if on_time
        else f"(s.missed_policy = '{MissedPolicy.CATCH_UP_ONCE}' AND s.catch_up_window_s >= %(lateness)s)"
    )
    keys = [(k, False) for k in tick.missed_keys] + [(tick.fire_key, True)]
    fires = " UNION ALL ".join(
        f"SELECT %(key{i})s AS fire_key, {'TRUE' if current else 'FALSE'} AS current_fire"
        for i, (_, current) in enumerate(keys)
    )
    params: dict[str, object] = {
        "schedule": tick.schedule_id,
        "after_key": after[0],
        "after_id": after[1],
        "upto_key": upto[0],
        "upto_id": upto[1],
        "nominal": param(tick.nominal),
        "lateness": tick.lateness_s,
        "now": param(now),
        **{f"key{i}": key for i, (key, _) in enumerate(keys)},
    }
    status = f"CASE WHEN f.current_fire AND {runs} THEN 'queued' ELSE 'missed' END"
    # The bucket's subscriptions in (after, upto], a row per fire key. The insert hands out
    # ids in (call_key, id) order, so batches cut from the returned rows hold a few calls each.
    source = f"""
        SELECT s.id AS subscription_id, s.priority, s.call_key, f.fire_key, f.current_fire, {status} AS status
        FROM {subs} s CROSS JOIN ({fires}) f
        WHERE s.schedule_id = %(schedule)s AND s.status = '{Status.ACTIVE}' AND s.kind = '{Kind.PERIODIC}'
          AND (s.call_key, s.id) > (%(after_key)s, %(after_id)s) AND (s.call_key, s.id) <= (%(upto_key)s, %(upto_id)s)
          AND (s.starts_at IS NULL OR s.starts_at <= %(nominal)s)
          AND (s.ends_at IS NULL OR s.ends_at >= %(nominal)s)
    """  # noqa: S608 - only our table names and constants are interpolated; values are parameters

    def insert_from(rows: str, conflict: str) -> str:
        return f"""
            INSERT INTO {table} (subscription_id, fire_key, instance_id, status, attempts, scheduled_for,
                                 enqueued_at, error_kind, error_message, message, meta, created_at)
            SELECT src.subscription_id, src.fire_key, {_uuid_sql()}, src.status, 0,
                   CASE WHEN src.current_fire THEN %(nominal)s END,
                   CASE WHEN src.status = 'queued' THEN %(now)s END,
                   '', '', '', '{{}}', %(now)s
            FROM {rows}
            WHERE true  -- SQLite: tells the upsert's ON CONFLICT from a join's ON
            ORDER BY src.call_key, src.subscription_id, src.fire_key
            {conflict}
            RETURNING id, subscription_id, fire_key, status
        """  # noqa: S608 - only our table names and constants are interpolated; values are parameters

    def insert(conflict: str) -> list[tuple[int, int, str, int | None]]:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # RETURNING sees only the new rows: their subscriptions' priorities come from the
                # source rows the insert read, kept by the CTE, not from a second read of the table.
                cursor.execute(
                    f"""
                    WITH src AS MATERIALIZED ({source}), new AS ({insert_from("src", conflict)})
                    SELECT new.id, new.subscription_id, new.status, src.priority
                    FROM new JOIN src ON src.subscription_id = new.subscription_id AND src.fire_key = new.fire_key
                    """,  # noqa: S608 - only our SQL is interpolated
                    params,
                )
                return sorted(cursor.fetchall())
            # SQLite has no DML in a CTE: one more indexed query for the priorities.
            cursor.execute(insert_from(f"({source}) AS src", conflict), params)
            inserted = sorted((pk, sub_id, row_status) for pk, sub_id, _, row_status in cursor.fetchall())
        queued = [sub_id for _, sub_id, row_status in inserted if row_status == ExecutionStatus.QUEUED]
        priorities = (
            dict(Subscription.objects.filter(pk__in=ids_in(queued)).values_list("pk", "priority")) if queued else {}
        )
        return [(pk, sub_id, row_status, priorities.get(sub_id)) for pk, sub_id, row_status in inserted]

    # Rows of this tick rarely exist already (a second beat, a resumed fan-out): skip them only when met.
    returned = insert_skipping_conflicts(insert, _ONCE_PER_FIRE)
    routes: dict[int, queues.Route] = {}  # by priority: a chunk's subscriptions have a few
    for priority in {priority for *_, row_status, priority in returned if row_status == ExecutionStatus.QUEUED}:
        routes[priority] = queues.route_for_subscription(
            kind=Kind.PERIODIC, priority=priority, lateness_s=tick.lateness_s
        )
    return [
        InsertedExecution(pk, sub_id, row_status, routes[priority] if row_status == ExecutionStatus.QUEUED else None)
        for pk, sub_id, row_status, priority in returned
    ]


_RESULT_COLUMNS = (
    ("lot", "int"),
    ("status", ""),
    ("attempts", "int"),
    ("error_kind", ""),
    ("error_message", ""),
    ("meta", "jsonb"),
    ("started_at", "timestamptz"),
    ("finished_at", "timestamptz"),
    ("message", ""),
    ("snapshot_id", "bigint"),
)


class LotResult(NamedTuple):
    """What a run writes back to each of ``execution_ids`` (``write_results``); ``attempts`` counts this run."""

    execution_ids: Sequence[int]
    status: str
    attempts: int
    error_kind: str
    error_message: str
    meta: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None
    message: str
    snapshot_id: int | None


# Over the state the run started from only: still owed, and no other run wrote an attempt since.
_STILL_OWED = f"t.status IN ({', '.join(repr(str(s)) for s in IN_FLIGHT)}) AND t.attempts = v.attempts - 1"


def write_results(results: Sequence[LotResult]) -> list[int]:
    """Write the result columns of each lot's executions in one statement; returns the ids written.

    Each execution travels as its id and its lot's number, each lot's columns once. An
    execution that is no longer owed, or that another run already wrote this attempt
    of (a run that outlived its lease and was taken over), is left as it is. Message
    and meta objects that lots share (one render, one attempts log) travel once each
    (``bulk`` shared columns).
    """
    members = [(pk, n) for n, result in enumerate(results) for pk in result.execution_ids]
    if not members:
        return []
    m_source, m_params = rows_relation((("id", "bigint"), ("lot", "int")), members, name="m")
    l_source, l_params = rows_relation(
        _RESULT_COLUMNS,
        [(n, *result[1:]) for n, result in enumerate(results)],
        shared=("meta", "message"),
        name="l",
    )
    return update_from(
        Execution,
        columns=[name for name, _ in _RESULT_COLUMNS[1:]],
        source=f"SELECT m.id, l.* FROM {m_source} JOIN {l_source} ON l.lot = m.lot",  # noqa: S608 - our SQL only
        params=[*m_params, *l_params],
        condition=_STILL_OWED,
    )
