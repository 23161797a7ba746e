"""What the runner reads of a claimed batch: its executions in lots, not one object per row.

A batch is a thousand executions of a few tool calls. Everything a run reads of an
execution and its subscription, but the two ids, is the same for the subscribers
of one call with one wording at one fire: the database groups them, and a ``Lot``
carries what they share once with the ids of all its executions. The runner then
calls, renders, pushes and writes back per lot; no step builds an object per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Aggregate, TextField, Value
from django.db.models.functions import Cast, Concat

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
    """``execution id:subscription id`` of every row of a group, comma-separated."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


_EXECUTION_FIELDS = ("fire_key", "attempts", "scheduled_for")
_SUBSCRIPTION_FIELDS = ("status", "kind", "priority", "tool", "call_key", "template", "title", "timezone")


def load_lots(execution_ids: Iterable[int]) -> list[Lot]:
    """The executions of ``execution_ids`` still owed (queued or retrying), grouped into lots: one query.

    JSON columns are compared and read as text, decoded once per distinct text: the
    lots of one call share their arguments object, and most metas are the same empty
    one. Lots share those objects; nothing may change them.
    """
    rows = (
        Execution.objects.filter(id__in=ids_in(execution_ids), status__in=IN_FLIGHT)
        .order_by()
        .values(
            *_EXECUTION_FIELDS,
            *(f"subscription__{name}" for name in _SUBSCRIPTION_FIELDS),
            "subscription__consecutive_failures",
            meta_text=Cast("meta", TextField()),
            arguments_text=Cast("subscription__arguments", TextField()),
        )
        .annotate(
            members=_Members(
                Concat(Cast("id", TextField()), Value(":", TextField()), Cast("subscription_id", TextField())),
                output_field=TextField(),
            )
        )
    )
    decoded: dict[str, Any] = {}

    def decode(text: str) -> Any:
        if text not in decoded:
            decoded[text] = json.loads(text)
        return decoded[text]

    lots = []
    for row in rows:
        pairs = sorted(tuple(map(int, member.split(":"))) for member in row["members"].split(","))
        subscription = LotSubscription(
            *(row[f"subscription__{name}"] for name in _SUBSCRIPTION_FIELDS[:4]),
            decode(row["arguments_text"]),
            *(row[f"subscription__{name}"] for name in _SUBSCRIPTION_FIELDS[4:]),
            row["subscription__consecutive_failures"],
        )
        lots.append(
            Lot(
                [e for e, _ in pairs],
                [s for _, s in pairs],
                row["fire_key"],
                row["attempts"] + 1,
                row["scheduled_for"],
                decode(row["meta_text"]),
                subscription,
            )
        )
    lots.sort(key=lambda lot: lot.execution_ids[0])
    return lots
