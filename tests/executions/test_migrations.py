"""Migrations that move data: what a deployment upgrading an existing database sees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tools_registry")]

BEFORE = [("executions", "0008_references_kept_by_the_orm")]
AFTER = [("executions", "0009_tool_answer_stored_once_result_written_in_place")]


@pytest.fixture
def migrate() -> Iterator[object]:
    """``migrate(targets)``: the database at ``targets``; back to the latest state afterwards."""

    def to(targets: list[tuple[str, str]]) -> object:
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return MigrationExecutor(connection).loader.project_state(targets).apps

    yield to
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_copied_tool_answers_become_one_snapshot_each_and_statuses_keep_their_index(alice, migrate) -> None:
    sub = active_periodic(alice)
    old = migrate(BEFORE)
    Execution = old.get_model("executions", "Execution")
    beijing = {"data": {"city": "Beijing"}, "status": "fresh", "fetched_at": "2026-12-07T00:00:00+00:00"}
    shanghai = {**beijing, "data": {"city": "Shanghai"}}
    for n, (status, answer) in enumerate(
        [("succeeded", beijing), ("succeeded", beijing), ("succeeded", shanghai), ("failed", None)]
    ):
        Execution.objects.create(subscription_id=sub.pk, fire_key=f"k{n}", status=status, tool_snapshot=answer)

    new = migrate(AFTER)

    Execution = new.get_model("executions", "Execution")
    ToolSnapshot = new.get_model("executions", "ToolSnapshot")
    rows = list(Execution.objects.order_by("pk").values_list("snapshot__value", "exceptional"))
    assert rows == [(beijing, False), (beijing, False), (shanghai, False), (None, True)]
    assert ToolSnapshot.objects.count() == 2  # one per distinct answer, not one per execution

    old = migrate(BEFORE)  # and back: each execution has its copy again
    Execution = old.get_model("executions", "Execution")
    assert list(Execution.objects.order_by("pk").values_list("tool_snapshot", flat=True)) == [
        beijing,
        beijing,
        shanghai,
        None,
    ]
