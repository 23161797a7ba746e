"""Everything that happened to a subscription: one row per (subscription, fire key)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Case, Q, Value, When

from taskhub.core.errors import ErrorKind


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued"  # until its result is written: a worker may be running it (ExecutionBatch)
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"
    SKIPPED = "skipped"
    MISSED = "missed"


ERROR_KIND_CHOICES = [(kind.value, kind.value) for kind in ErrorKind]
# Work that a worker still owes us; each such execution is in an ExecutionBatch.
IN_FLIGHT = (ExecutionStatus.QUEUED, ExecutionStatus.RETRYING)
# The rare outcomes, the ones worth an index of their own (``Execution.exceptional``).
EXCEPTIONAL = (ExecutionStatus.FAILED, ExecutionStatus.RETRYING, ExecutionStatus.SKIPPED, ExecutionStatus.MISSED)


class ToolSnapshot(models.Model):
    """A tool's answer as the executions of one run got it, stored once for all of them.

    A run writes one per distinct answer (a few per batch of a thousand executions)
    and its executions refer to it, instead of each carrying a copy of about a kilobyte:
    that copy made an execution's result too wide to be written in place (see
    ``Execution``). Its inbox rows refer to it too, so a run stores it before pushing
    (``runner._store_snapshots``); one whose run failed after that is left to retention.
    """

    # {"tool", "data": the answer, "status": fresh/cached/stale, "fetched_at": ISO 8601, and
    # for an alert "alert": value, threshold, previous value, observed at}
    value = models.JSONField()
    # The ids of the executions that may refer to it (the run's): retention looks only there.
    first_execution_id = models.BigIntegerField()
    last_execution_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"tool snapshot {self.pk} of executions {self.first_execution_id}..{self.last_execution_id}"

    @staticmethod
    def payload_of(value: dict[str, Any]) -> dict[str, Any]:
        """What a push carries of a snapshot ``value`` (webhooks; the inbox's ``data``)."""
        payload = {"tool": value.get("tool", ""), "result": value.get("data"), "status": value.get("status")}
        if "alert" in value:
            payload["alert"] = value["alert"]
        return payload


def snapshot_reference() -> models.ForeignKey:
    """A reference to a ``ToolSnapshot`` (executions, inbox messages): kept by the ORM only, no
    constraint and no index, so a push pays neither; retention keeps the snapshot while needed."""
    return models.ForeignKey(
        ToolSnapshot,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )


class Execution(models.Model):
    """One run of a subscription. The fan-out inserts it narrow (queued, about 140 bytes); the
    run writes its result in place: no index covers a column the result changes, and the
    fan-out fills pages to a quarter (fillfactor 25, executions/0009), which leaves each row
    room for a result of about 360 bytes (a short message, its attempts log, a snapshot
    reference) on its page. A successful run's write is then a heap-only (HOT) update that
    adds no index entry; a longer result moves to another page, as every result did before."""

    # Indexed by the (subscription, fire key) constraint's index, which leads with it.
    # Cascaded by the ORM, not checked by a database constraint: the check would share-lock
    # (and so write) every subscription row a fan-out inserts for. An execution inserted as
    # its subscription is deleted is left behind: the run that meets it deletes it (runner).
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.CASCADE,
        related_name="executions",
        db_index=False,
        db_constraint=False,
    )
    # The nominal fire time (ISO 8601, UTC) for schedules, the event id for monitors,
    # "manual:<uuid>" for run-now. Unique per subscription: the effectively-once key.
    fire_key = models.CharField(max_length=100)
    # An opaque public id; uuid4 needs no unique index (a random-key index costs every insert).
    instance_id = models.UUIDField(default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)

    scheduled_for = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    error_kind = models.CharField(max_length=16, choices=ERROR_KIND_CHOICES, blank=True)
    error_message = models.TextField(blank=True)
    # The tool's answer this run used (shared by the run's executions). Referenced by
    # the ORM only, like ``subscription``; retention keeps it while an execution does.
    snapshot = snapshot_reference()
    message = models.TextField(blank=True)
    # {"attempts": [{"n", "started_at", "finished_at", "error_kind", "error"}], ...}
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept by the database. A successful run leaves it false, as the fan-out inserted it, so
    # the index of rare outcomes below does not stop that write from being heap-only
    # (one that named ``status`` would: PostgreSQL checks the columns, not the predicate).
    exceptional = models.GeneratedField(
        expression=Case(When(status__in=EXCEPTIONAL, then=Value(True)), default=Value(False)),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "fire_key"], name="execution_once_per_fire"),
        ]
        # No index of a subscription's runs by time: the constraint's index, which leads with the
        # subscription, finds them (at most a retention's worth of fires each, a few dozen for a
        # daily one), and a second entry in subscription order cost the fan-out a third of its
        # insert (executions/0010).
        indexes = [
            # Listing by status (admin filter) newest first: succeeded rows, nearly all of them,
            # are found by walking the primary key; only the rare outcomes have an index.
            # A query uses it by asking for ``exceptional`` (``with_status``).
            models.Index(fields=["-id"], condition=Q(exceptional=True), name="exec_exceptional_newest"),
        ]

    def __str__(self) -> str:
        return f"execution {self.pk} of subscription {self.subscription_id} at {self.fire_key} ({self.status})"

    @property
    def tool_snapshot(self) -> dict[str, Any] | None:
        """The tool's answer this run used: tool, data, status, fetched at (None if it got none)."""
        return stored_snapshot(self)


class ExecutionBatch(models.Model):
    """The executions one ``execute_batch`` message carries, and the lease the reconciler watches.

    Written in the transaction that writes its executions; the message carries only
    its id. A worker takes it by compare-and-set (``claims`` + 1, a fresh lease): one
    row per batch, so a run writes nothing per execution before its results, which
    it writes together with the batch's deletion. A batch whose lease expired lost
    its message (never taken: sent again) or its worker (taken: its executions go
    back one per batch, and a run taken ``EXECUTION_MAX_LOST_RUNS`` times without
    finishing fails for good). The broker is not the source of truth; this table is.
    """

    execution_ids = models.JSONField()
    queue = models.CharField(max_length=16)
    priority = models.PositiveSmallIntegerField()
    # How often a worker took these runs, this batch and the one they were lost in before.
    claims = models.PositiveSmallIntegerField(default=0)
    # When a worker took this batch; until then (None) the next message takes it.
    taken_at = models.DateTimeField(null=True, blank=True)
    # A retry's back-off: not taken before then (None: at once, whatever the worker's clock says).
    run_after = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["lease_expires_at"], name="batch_by_lease")]

    def __str__(self) -> str:
        return f"batch {self.pk} of {len(self.execution_ids)} executions ({self.claims} claims)"


class ScheduleFire(models.Model):
    """One fan-out of a schedule bucket at a nominal fire time: how missed fires are found after downtime."""

    schedule = models.ForeignKey("django_celery_beat.CrontabSchedule", on_delete=models.CASCADE, related_name="+")
    fire_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when every subscription of the bucket has its execution row; a fan-out
    # cut short (worker killed, broker lost) is resumed by the reconciler until then.
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schedule", "fire_at"], name="schedule_fire_once")]
        indexes = [
            models.Index(fields=["schedule", "-fire_at"], name="schedule_fire_latest"),
            models.Index(
                fields=["created_at"], condition=models.Q(completed_at__isnull=True), name="schedule_fire_open"
            ),
        ]

    def __str__(self) -> str:
        return f"schedule {self.schedule_id} fired at {self.fire_at.isoformat()}"


def with_status(status: str) -> Q:
    """Executions of ``status``, asked so that a rare outcome's listing walks its own index."""
    return Q(status=status, exceptional=True) if status in EXCEPTIONAL else Q(status=status)


def stored_snapshot(row: models.Model) -> dict[str, Any] | None:
    """The value of the ``ToolSnapshot`` that ``row`` (an execution, an inbox message) refers to, if any.

    None if it refers to none, or to one retention has deleted (an inbox row waiting
    for its own retention, which a run may leave behind in a later chunk).
    """
    if row.snapshot_id is None:  # type: ignore[attr-defined]
        return None
    try:
        return row.snapshot.value  # type: ignore[attr-defined, no-any-return]
    except ObjectDoesNotExist:
        return None
