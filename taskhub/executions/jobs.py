"""What the runner reads of a claimed batch: its executions in lots, not one object per row.

A batch is a thousand executions of a few tool calls. Everything a run reads of an
execution and its subscription, but the two ids, is the same for the subscribers
of one call with one wording at one fire: the database groups them, and a ``Lot``
carries what they share once with the ids of all its executions. The runner then
calls, renders, pushes and writes back per lot; no step builds an object per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Aggregate, JSONField

from taskhub.core.bulk import ids_in
from taskhub.executions.models import IN_FLIGHT, Execution


@dataclass(slots=True, frozen=True)
class LotSubscription:
    """What the subscriptions of a lot have in common, as a run reads it (``message.compose`` reads the wording)."""

    status: str
    kind: str
    priority: int
    tool: str
    arguments: dict[str, Any]
    call_key: str
    template: str
    title: str
    timezone: str
    consecutive_failures: int


@dataclass(slots=True, frozen=True)
class Lot:
    """Executions of one batch that a run treats alike: same fire, attempt, meta and subscription settings."""

    execution_ids: list[int]
    subscription_ids: list[int]  # of each execution, in the same order
    fire_key: str
    attempts: int  # this run's number: the runs written before it, plus one
    scheduled_for: datetime | None
    meta: dict[str, Any]
    subscription: LotSubscription

    @property
    def manual(self) -> bool:
        """A user's "run now" (fire key ``manual:<uuid>``)."""
        return self.fire_key.startswith("manual:")

    def part(self, execution_ids: set[int]) -> Lot:
        """The executions of this lot among ``execution_ids``, as a lot of their own."""
        kept = [(e, s) for e, s in zip(self.execution_ids, self.subscription_ids, strict=True) if e in execution_ids]
        return Lot(
            [e for e, _ in kept],
            [s for _, s in kept],
            self.fire_key,
            self.attempts,
            self.scheduled_for,
            self.meta,
            self.subscription,
        )


class _Members(Aggregate):
    """``[execution id, subscription id]`` of every row of a group, as one JSON array."""

    function = "JSON_AGG"
    # As text, which JSONField decodes (psycopg would decode a json value itself).
    template = "%(function)s(JSON_BUILD_ARRAY(%(expressions)s))::text"
    output_field = JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler, connection, function="JSON_GROUP_ARRAY", template="%(function)s(JSON_ARRAY(%(expressions)s))"
        )


_EXECUTION_FIELDS = ("fire_key", "attempts", "scheduled_for")
# In LotSubscription's order.
_SUBSCRIPTION_FIELDS = tuple(field.name for field in dataclasses.fields(LotSubscription))


def load_lots(execution_ids: Iterable[int]) -> list[Lot]:
    """The executions of ``execution_ids`` still owed (queued or retrying), grouped into lots: one query.

    The database groups the rows (JSON columns by value) and sends each lot's columns
    once, with its members' ids as one JSON array.
    """
    rows = (
        Execution.objects.filter(id__in=ids_in(execution_ids), status__in=IN_FLIGHT)
        .order_by()
        .values_list(
            *_EXECUTION_FIELDS,
            "meta",
            *(f"subscription__{name}" for name in _SUBSCRIPTION_FIELDS),
        )
        .annotate(members=_Members("id", "subscription_id"))
    )
    lots = []
    for *columns, members in rows:
        fire_key, attempts, scheduled_for, meta, *subscription = columns
        pairs = sorted(members)
        lots.append(
            Lot(
                [e for e, _ in pairs],
                [s for _, s in pairs],
                fire_key,
                attempts + 1,
                scheduled_for,
                meta,
                LotSubscription(*subscription),
            )
        )
    lots.sort(key=lambda lot: lot.execution_ids[0])
    return lots
