"""History older than its retention is deleted, a chunk at a time, by one beat entry.

Every push leaves rows behind: its execution, its inbox message or ledger rows
(``Delivery``: other channels, and held inbox pushes), and for an alert the event it came from; every run a few tool
snapshots, kept while an execution refers to them and as long as the inbox keeps
the messages that refer to them. A million daily pushes
would grow the database by a few GB a day for ever; ``prune_history`` keeps it
to what the retention settings ask (``EXECUTION_RETENTION_DAYS``,
``EVENT_RETENTION_DAYS``, ``INBOX_RETENTION_DAYS``; 0 keeps everything).

Rows are walked from the oldest by primary key (ids grow with time): each table
is read from its start until the first row newer than its cutoff, so a run reads
what it deletes plus one chunk, whatever the size of the table, and needs no
index of its own. What is still at work or still read is kept however old it
is: an owed execution, one with a delivery not yet final, each subscription's
last run and last success (its "last fired" and "last succeeded"), an event not
yet matched, and the latest fire of each schedule (how missed fires are found
after downtime).
Deletions go through the ORM, which removes what hangs on a row (an execution's
ledger rows) as the user's own deletions do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q
from django.utils import timezone as djtz

from taskhub.channels.models import Delivery, DeliveryStatus, InboxMessage
from taskhub.core.bulk import ids_in
from taskhub.executions.models import Execution, ExecutionStatus, ScheduleFire, ToolSnapshot
from taskhub.monitoring.models import Event

logger = logging.getLogger(__name__)

CHUNK = 5_000
# Rows deleted per table per run at most: a run stays short, the next one goes on.
RUN_LIMIT = 100_000

_UNFINISHED_DELIVERY = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.HELD)
_RAN = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)
_NEWER = Execution.objects.filter(subscription_id=OuterRef("subscription_id"), created_at__gt=OuterRef("created_at"))
# An execution that is history and nothing more: finished, all its deliveries final, and
# neither its subscription's last run nor its last success (``selectors.with_last_runs``).
_SUPERSEDED = [
    ~Exists(Delivery.objects.filter(execution_id=OuterRef("pk"), status__in=_UNFINISHED_DELIVERY)),
    Q(status__in=[ExecutionStatus.SKIPPED, ExecutionStatus.MISSED])
    | Q(Exists(_NEWER.filter(status__in=_RAN)), status=ExecutionStatus.FAILED)
    | Q(Exists(_NEWER.filter(status=ExecutionStatus.SUCCEEDED)), status=ExecutionStatus.SUCCEEDED),
]

# The executions that refer to a snapshot are among those its run wrote: only that range is read.
# (Its inbox rows are not looked for: a snapshot is kept as long as the inbox keeps messages.)
_REFERRING = Execution.objects.filter(
    pk__gte=OuterRef("first_execution_id"), pk__lte=OuterRef("last_execution_id"), snapshot_id=OuterRef("pk")
)


@dataclass(frozen=True)
class Pruned:
    executions: int = 0
    tool_snapshots: int = 0
    inbox_messages: int = 0
    events: int = 0
    schedule_fires: int = 0


def prune_history(*, now: datetime | None = None, chunk: int = CHUNK, limit: int = RUN_LIMIT) -> Pruned:
    """Delete the executions (with their ledger rows), inbox messages, events and fires past their retention."""
    now = now or djtz.now()
    counts: dict[str, int] = {}
    if days := settings.EXECUTION_RETENTION_DAYS:
        cutoff = now - timedelta(days=days)
        newer_fire = ScheduleFire.objects.filter(schedule_id=OuterRef("schedule_id"), fire_at__gt=OuterRef("fire_at"))
        counts["executions"] = _prune(Execution, "created_at", cutoff, _SUPERSEDED, chunk, limit)
        counts["schedule_fires"] = _prune(ScheduleFire, "created_at", cutoff, [Exists(newer_fire)], chunk, limit)
    if days := settings.EVENT_RETENTION_DAYS:
        matched = [Q(done_at__isnull=False)]
        counts["events"] = _prune(Event, "received_at", now - timedelta(days=days), matched, chunk, limit)
    if days := settings.INBOX_RETENTION_DAYS:
        counts["inbox_messages"] = _prune(InboxMessage, "created_at", now - timedelta(days=days), [], chunk, limit)
    if settings.EXECUTION_RETENTION_DAYS and settings.INBOX_RETENTION_DAYS:
        # Inbox rows refer to snapshots too, by then past their own retention (a run may still hold some).
        cutoff = now - timedelta(days=max(settings.EXECUTION_RETENTION_DAYS, settings.INBOX_RETENTION_DAYS))
        counts["tool_snapshots"] = _prune(ToolSnapshot, "created_at", cutoff, [~Exists(_REFERRING)], chunk, limit)
    pruned = Pruned(**counts)
    if any(vars(pruned).values()):
        logger.info("history pruned", extra={f"pruned_{name}": n for name, n in vars(pruned).items()})
    return pruned


def _prune(model: type[Model], stamp: str, cutoff: datetime, done: Sequence[Q | Exists], chunk: int, limit: int) -> int:
    """Delete up to ``limit`` of ``model``'s rows stamped before ``cutoff`` that are ``done``, oldest first.

    Returns how many were deleted (rows hanging on them, removed by the ORM, not counted).
    """
    deleted = 0
    after = 0
    while deleted < limit:
        size = min(chunk, limit - deleted)
        rows = list(model.objects.filter(pk__gt=after).order_by("pk").values_list("pk", stamp)[:size])
        # The old rows at the start: the first newer row ends the walk.
        end = next((i for i, (_, at) in enumerate(rows) if at >= cutoff), len(rows))
        old = [pk for pk, _ in rows[:end]]
        if old:
            with transaction.atomic():
                _, counts = model.objects.filter(*done, pk__in=ids_in(old)).only("pk").delete()
            deleted += counts.get(model._meta.label, 0)
            after = old[-1]
        if len(old) < len(rows) or len(rows) < size:
            break
    return deleted
