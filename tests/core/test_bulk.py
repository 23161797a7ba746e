"""Batches as one JSON parameter: what goes in comes out, through the ORM, unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from taskhub.channels.models import InboxMessage
from taskhub.core.bulk import analyze, insert_rows, insert_skipping_conflicts, rows_relation, update_from_values

pytestmark = pytest.mark.django_db

AWKWARD = 'it\'s "quoted", back\\slash, 北京 ☀, new\nline, %s %(x)s, null \x01'
COLUMNS = (
    ("owner_id", "bigint"),
    ("key", ""),
    ("title", ""),
    ("body", ""),
    ("urgent", "boolean"),
    ("data", "jsonb"),
    ("execution_id", "bigint"),
)


def _insert(rows, **extra):  # type: ignore[no-untyped-def]
    return insert_rows(
        InboxMessage,
        columns=COLUMNS,
        rows=rows,
        constants={"created_at": "%s"},
        constant_params=[datetime(2026, 11, 25, 8, tzinfo=ZoneInfo("Asia/Shanghai"))],
        **extra,
    )


def test_inserted_values_read_back_unchanged(alice) -> None:
    data = {"price": 6.9, "nested": {"list": [1, "二", None]}, "text": AWKWARD}
    _insert([(alice.pk, "k1", AWKWARD, "", True, data, None), (alice.pk, "k2", "plain", AWKWARD, False, {}, None)])
    first, second = InboxMessage.objects.order_by("key")
    assert (first.title, first.urgent, first.data, first.execution_id) == (AWKWARD, True, data, None)
    assert (second.body, second.urgent, second.data) == (AWKWARD, False, {})
    # The constant timestamp keeps its instant, whatever the zone it was given in.
    assert first.created_at == datetime(2026, 11, 25, 0, tzinfo=UTC)
    assert InboxMessage.objects.filter(created_at__lt=datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC)).count() == 2


def test_a_conflicting_row_is_skipped_and_only_new_rows_are_returned(alice) -> None:
    _insert([(alice.pk, "k1", "first", "", False, {}, None)])
    returned = _insert(
        [(alice.pk, "k1", "second", "", False, {}, None), (alice.pk, "k2", "new", "", False, {}, None)],
        conflict="ON CONFLICT DO NOTHING",
        returning=("key", "title"),
    )
    assert returned == [("k2", "new")]
    assert InboxMessage.objects.get(key="k1").title == "first"


def test_update_sets_each_row_its_own_values_and_the_guard_holds(alice) -> None:
    _insert([(alice.pk, f"k{i}", "t", "", False, {}, None) for i in range(3)])
    ids = list(InboxMessage.objects.order_by("key").values_list("id", flat=True))
    read = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    changed = update_from_values(
        InboxMessage,
        columns=(("title", ""), ("data", "jsonb"), ("read_at", "timestamptz")),
        rows=[(ids[0], AWKWARD, {"n": 0}, read), (ids[1], "b", [1, "x"], None)],
    )
    assert sorted(changed) == sorted(ids[:2])
    rows = {m.pk: m for m in InboxMessage.objects.all()}
    assert (rows[ids[0]].title, rows[ids[0]].data, rows[ids[0]].read_at) == (AWKWARD, {"n": 0}, read)
    assert (rows[ids[1]].title, rows[ids[1]].data, rows[ids[1]].read_at) == ("b", [1, "x"], None)
    assert rows[ids[2]].title == "t"  # not named, not touched

    guarded = update_from_values(
        InboxMessage,
        columns=(("title", ""),),
        rows=[(ids[0], "guarded"), (ids[2], "guarded")],
        guard=("read_at", read + timedelta(seconds=1)),
    )
    assert guarded == []
    assert not InboxMessage.objects.filter(title="guarded").exists()


def test_shared_values_read_back_per_row_and_travel_once(alice) -> None:
    body = AWKWARD * 200  # one long message for every row, as a batch of subscribers of one call gets
    data = {"price": 6.9, "text": AWKWARD}
    other = {"price": 7.0}
    rows = [(alice.pk, f"k{i}", "t", body, False, data if i % 3 else other, None) for i in range(300)]
    rows.append((alice.pk, "own", "t", "its own body", False, {"own": True}, None))
    with CaptureQueriesContext(connection) as captured:
        _insert(rows, shared=("body", "data"))
    stored = {m.key: m for m in InboxMessage.objects.all()}
    assert len(stored) == 301
    assert all(stored[f"k{i}"].body == body and stored[f"k{i}"].data == (data if i % 3 else other) for i in range(300))
    assert (stored["own"].body, stored["own"].data) == ("its own body", {"own": True})
    if connection.vendor == "postgresql":
        # ☀ (JSON-escaped) is 200 times in the body: sent once, not once per row (60,000)
        assert captured[0]["sql"].count("\\u2600") == 200 + 1  # and once in the shared data

    ids = [stored[f"k{i}"].pk for i in range(3)]
    seen = {"read": True}
    update_from_values(
        InboxMessage,
        columns=(("title", ""), ("data", "jsonb"), ("read_at", "timestamptz")),
        rows=[(ids[0], AWKWARD, seen, None), (ids[1], AWKWARD, {}, None), (ids[2], "x", seen, None)],
        shared=("title", "data"),
    )
    updated = {m.pk: (m.title, m.data) for m in InboxMessage.objects.filter(pk__in=ids)}
    assert updated == {ids[0]: (AWKWARD, seen), ids[1]: (AWKWARD, {}), ids[2]: ("x", seen)}


def test_integer_rows_read_back_unchanged_with_nulls_and_when_empty(alice) -> None:
    # Rows of integers travel as arrays on PostgreSQL: big ids, zero, negatives and a NULL come back as given.
    ids = [2**62, 0, -7]
    rows = [(i, n, n * 10) for n, i in enumerate(ids)]
    for batch in (rows, [*rows, (5, None, 1)], []):
        source, params = rows_relation((("id", "bigint"), ("lot", "int"), ("size", "smallint")), batch)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, lot, size FROM {source}", params)  # noqa: S608 - our SQL
            assert sorted(cursor.fetchall()) == sorted(batch)


def test_an_insert_skipping_conflicts_skips_the_rows_that_exist_and_keeps_the_rest(alice) -> None:
    _insert([(alice.pk, "k1", "first", "", False, {}, None)])
    attempts = []

    def insert(conflict: str) -> list[tuple[str, str]]:
        attempts.append(conflict)
        return _insert(
            [(alice.pk, "k1", "second", "", False, {}, None), (alice.pk, "k2", "new", "", False, {}, None)],
            conflict=conflict,
            returning=("key", "title"),
        )

    with transaction.atomic():  # the pipeline's inserts run in a transaction that goes on after them
        assert insert_skipping_conflicts(insert, "ON CONFLICT DO NOTHING") == [("k2", "new")]
        assert InboxMessage.objects.count() == 2
    # The plain insert met k1 and was rolled back: no half-written row.
    assert attempts == ["", "ON CONFLICT DO NOTHING"]
    assert dict(InboxMessage.objects.values_list("key", "title")) == {"k1": "first", "k2": "new"}


def _pages(model) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible, reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table]
        )
        return cursor.fetchone()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="hint bits and the visibility map are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_analyzed_outside_a_transaction_leaves_its_pages_all_visible(alice) -> None:
    _insert([(alice.pk, f"k{i}", "t", AWKWARD * 20, False, {}, None) for i in range(3000)])
    with transaction.atomic():
        analyze(InboxMessage)  # in a transaction: statistics only (VACUUM cannot run there)
    assert _pages(InboxMessage)[2] == 3000

    analyze(InboxMessage)
    pages, visible, _ = _pages(InboxMessage)
    assert pages > 10
    assert visible == pages
