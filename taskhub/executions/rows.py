"""Bulk insert of Execution rows: one statement per chunk, duplicates skipped by the database."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from taskhub import queues
from taskhub.core.bulk import update_from_values
from taskhub.executions.models import Execution, ExecutionStatus


@dataclass(frozen=True)
class NewExecution:
    subscription_id: int
    fire_key: str
    nominal: datetime | None
    status: str = ExecutionStatus.QUEUED
    route: queues.Route | None = None
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class InsertedExecution:
    id: int
    subscription_id: int
    status: str
    route: queues.Route | None


_COLUMNS = (
    "subscription_id",
    "fire_key",
    "instance_id",
    "status",
    "attempts",
    "scheduled_for",
    "enqueued_at",
    "lease_expires_at",
    "error_kind",
    "error_message",
    "message",
    "meta",
    "created_at",
)


def insert_executions(rows: list[NewExecution], *, now: datetime) -> list[InsertedExecution]:
    """Insert ``rows``; a (subscription, fire key) that exists is skipped. Returns only the new rows.

    ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, SQLite >= 3.35):
    the database, not a read-then-write, decides which tick created a row.
    """
    if not rows:
        return []
    table = connection.ops.quote_name(Execution._meta.db_table)
    lease = now + timedelta(seconds=settings.EXECUTION_LEASE_S)
    # psycopg sends text for a str parameter: jsonb needs the cast.
    json_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    placeholders = "(" + ", ".join(json_param if c == "meta" else "%s" for c in _COLUMNS) + ")"
    params: list[object] = []
    for row in rows:
        in_flight = row.status == ExecutionStatus.QUEUED
        params.extend(
            (
                row.subscription_id,
                row.fire_key,
                uuid.uuid4().hex if connection.vendor == "sqlite" else uuid.uuid4(),
                row.status,
                0,
                row.nominal,
                now if in_flight else None,
                lease if in_flight else None,
                "",
                "",
                "",
                json.dumps(row.meta),
                now,
            )
        )
    # Only our table name, column names and %s placeholders are interpolated; values are parameters.
    values = ", ".join([placeholders] * len(rows))
    sql = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {values} "  # noqa: S608
        "ON CONFLICT (subscription_id, fire_key) DO NOTHING RETURNING id, subscription_id, fire_key, status"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    routes = {(row.subscription_id, row.fire_key): row.route for row in rows}
    return [InsertedExecution(pk, sub_id, status, routes[(sub_id, key)]) for pk, sub_id, key, status in returned]


_RESULT_COLUMNS = (
    ("status", ""),
    ("error_kind", ""),
    ("error_message", ""),
    ("meta", "jsonb"),
    ("lease_expires_at", "timestamptz"),
    ("finished_at", "timestamptz"),
    ("message", ""),
    ("tool_snapshot", "jsonb"),
)


def write_results(executions: list[Execution]) -> None:
    """Write the result columns of ``executions`` in one statement."""
    update_from_values(
        Execution,
        columns=_RESULT_COLUMNS,
        rows=[
            (
                e.pk,
                e.status,
                e.error_kind,
                e.error_message,
                json.dumps(e.meta),
                e.lease_expires_at,
                e.finished_at,
                e.message,
                json.dumps(e.tool_snapshot) if e.tool_snapshot is not None else None,
            )
            for e in executions
        ],
    )
