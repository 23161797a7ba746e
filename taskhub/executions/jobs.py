"""What the runner reads of a claimed execution and its subscription: plain rows, not model instances.

A batch is hundreds of executions; building an ``Execution`` and a ``Subscription``
instance for each cost more than every statement of the run together. A ``Job``
holds only the columns a run uses, read in one query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast

from taskhub.core.bulk import ids_in
from taskhub.executions.models import IN_FLIGHT, Execution


@dataclass(slots=True, frozen=True)
class JobSubscription:
    """The subscription of a job, as the run sees it (``message.compose`` reads the wording fields)."""

    pk: int
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
class Job:
    """One claimed execution: what its run reads, never written back through this object."""

    pk: int
    subscription_id: int
    fire_key: str
    attempts: int  # this run's number: the runs written before it, plus one
    scheduled_for: datetime | None
    meta: dict[str, Any]
    subscription: JobSubscription

    @property
    def manual(self) -> bool:
        """A user's "run now" (fire key ``manual:<uuid>``)."""
        return self.fire_key.startswith("manual:")


_EXECUTION_FIELDS = ("id", "subscription_id", "fire_key", "attempts", "scheduled_for")
_SUBSCRIPTION_FIELDS = (
    "status",
    "kind",
    "priority",
    "tool",
    "call_key",
    "template",
    "title",
    "timezone",
    "consecutive_failures",
)


def load_jobs(execution_ids: Iterable[int]) -> list[Job]:
    """The jobs of ``execution_ids`` still owed (queued or retrying), in id order: one query
    joining each execution to its subscription.

    The JSON columns are read as text and decoded once per distinct text: the
    subscribers of one tool call have the same arguments, most metas are empty, and
    the alerts of one event with the same condition have the same meta. Jobs then
    share those objects; nothing may change them.
    """
    rows = (
        Execution.objects.filter(id__in=ids_in(execution_ids), status__in=IN_FLIGHT)
        .order_by("id")
        .annotate(meta_text=Cast("meta", TextField()), arguments_text=Cast("subscription__arguments", TextField()))
        .values_list(
            *_EXECUTION_FIELDS,
            "meta_text",
            *(f"subscription__{name}" for name in _SUBSCRIPTION_FIELDS),
            "arguments_text",
        )
    )
    decoded: dict[str, Any] = {}

    def decode(text: str) -> Any:
        if text not in decoded:
            decoded[text] = json.loads(text)
        return decoded[text]

    width = len(_EXECUTION_FIELDS)
    jobs = []
    for row in rows:
        execution, meta, sub, arguments = row[:width], row[width], row[width + 1 : -1], row[-1]
        subscription = JobSubscription(row[1], *sub[:4], decode(arguments), *sub[4:])  # type: ignore[arg-type]
        pk, sub_id, fire_key, attempts, scheduled_for = execution
        jobs.append(Job(pk, sub_id, fire_key, attempts + 1, scheduled_for, decode(meta), subscription))  # type: ignore[arg-type]
    return jobs
