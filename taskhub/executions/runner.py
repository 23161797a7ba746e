"""The task agent's work on one batch of executions: claim, call tools, render, push, write back.

Per batch: one claim (a compare-and-set on its ``ExecutionBatch`` row: nothing is
written per execution before its result), one query for the executions still
owed, grouped into lots (``jobs.Lot``: the executions a run treats alike), one
gateway call per distinct (tool, arguments), one delivery statement, one bulk
write of the results with the batch's deletion. Every step works per lot, so
its Python runs a few dozen times per batch, not once per execution. Each
execution still succeeds, retries or fails on its own: a lot whose delivery
failed for some of its executions is split, and a failed item never blocks the
rest of the batch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core.bulk import ids_in
from taskhub.core.errors import ErrorKind, TaskHubError
from taskhub.executions import dispatch, retry
from taskhub.executions.jobs import Lot, load_lots
from taskhub.executions.message import compose, reworded
from taskhub.executions.models import IN_FLIGHT, Execution, ExecutionBatch, ExecutionStatus, ToolSnapshot
from taskhub.executions.rows import InsertedExecution, LotResult, write_results
from taskhub.monitoring.alerts import event_results
from taskhub.obs import metrics
from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, Priority, Subscription
from taskhub.subscriptions.states import Status

logger = logging.getLogger(__name__)

CLAIMABLE_SUBSCRIPTION = (Status.ACTIVE,)
# A run that raised gives its batch back to the reconciler this long after it started.
FAILED_RUN_BACKOFF = timedelta(seconds=30)
# The log of a run that called no tool (an alert, a skipped run): one shared, never-appended list.
NO_ATTEMPTS: list[dict[str, Any]] = []


@dataclass(slots=True)
class Outcome:
    """How the run of one lot went. ``attempts_log``, ``message`` and ``tool_snapshot`` are shared
    between the lots of one tool call (same objects), so the write-back sends each once."""

    lot: Lot
    status: str = ExecutionStatus.SUCCEEDED
    error_kind: str = ""
    error: str = ""
    retry_in: float | None = None
    attempts_log: list[dict[str, Any]] = field(default_factory=lambda: NO_ATTEMPTS)
    message: str = ""
    tool_snapshot: dict[str, Any] | None = None
    snapshot_id: int | None = None  # ``tool_snapshot`` as stored (``_store_snapshots``)
    result: Any = None  # the tool's answer (or the alert's event) once there is one


def claim(batch_id: int, *, now: datetime) -> list[int]:
    """Take batch ``batch_id`` unless a live worker holds it; the ids of its executions, or [] if not taken.

    A compare-and-set on the one batch row (``ExecutionBatch``): taken once it is due
    (a retry's back-off has passed) if nobody took it yet, or if the worker that did
    is presumed dead (its lease expired). A copy of the message, or the reconciler
    sending it again, finds it taken and does nothing.
    """
    with transaction.atomic():
        batch = (
            ExecutionBatch.objects.select_for_update(skip_locked=True)
            .filter(Q(taken_at=None) | Q(lease_expires_at__lte=now), Q(run_after=None) | Q(run_after__lte=now))
            .filter(pk=batch_id)
            .only("execution_ids")
            .first()
        )
        if batch is None:
            return []
        ExecutionBatch.objects.filter(pk=batch_id).update(
            claims=F("claims") + 1, taken_at=now, lease_expires_at=now + timedelta(seconds=settings.EXECUTION_LEASE_S)
        )
        return [int(pk) for pk in batch.execution_ids]


def run_batch(batch_id: int, *, now: datetime | None = None) -> dict[str, int]:
    """Run the executions of batch ``batch_id`` that are still owed; returns counts by final status."""
    now = now or djtz.now()
    ids = claim(batch_id, now=now)
    if not ids:
        return {}
    try:
        with metrics.BATCH_SECONDS.time():
            counts = _run(batch_id, ids, now=now)
    except Exception:
        _give_back(batch_id, now=now)
        raise
    for status, count in counts.items():
        metrics.EXECUTIONS.labels(status).inc(count)
    logger.info("batch finished", extra={"executions": len(ids), **counts})
    return counts


def _give_back(batch_id: int, *, now: datetime) -> None:
    """After a run that raised (a database error, a bug), let its lease run out in ``FAILED_RUN_BACKOFF``.

    The reconciler then sends its executions again, one per batch, as for a worker
    that died: whatever failed cannot take the others down twice, and a run that
    fails every time is given up after ``EXECUTION_MAX_LOST_RUNS``. Without this the
    batch would wait out its whole lease. If the database is what failed, the lease stands.
    """
    try:
        ExecutionBatch.objects.filter(pk=batch_id).update(lease_expires_at=now + FAILED_RUN_BACKOFF)
    except DatabaseError:
        logger.warning("a failed run's batch keeps its lease", extra={"batch_id": batch_id})


def _run(batch_id: int, ids: list[int], *, now: datetime) -> dict[str, int]:
    # Only the executions still queued or retrying: one that another run finished is not run again.
    outcomes = [Outcome(lot) for lot in load_lots(ids)]
    if sum(len(outcome.lot.execution_ids) for outcome in outcomes) < len(ids):
        _forget_orphans(set(ids).difference(*(outcome.lot.execution_ids for outcome in outcomes)))

    runnable = []
    for outcome in outcomes:
        status = outcome.lot.subscription.status
        if status not in CLAIMABLE_SUBSCRIPTION and not (outcome.lot.manual and status == Status.PAUSED):
            # Re-checked at run time: paused or cancelled after the fan-out.
            outcome.status, outcome.error = ExecutionStatus.SKIPPED, f"subscription is {status}"
        else:
            runnable.append(outcome)

    # Monitor alerts carry their event's data: no tool call for them (taskhub/monitoring/alerts.py).
    for outcome, alert in zip(runnable, event_results([o.lot.meta for o in runnable]), strict=True):
        outcome.result = alert
    _call_tools([outcome for outcome in runnable if outcome.result is None])
    outcomes += compose_and_deliver([outcome for outcome in runnable if outcome.result is not None], now=now)
    counts: dict[str, int] = defaultdict(int)
    for outcome in _write_back(batch_id, outcomes, now=now):
        counts[outcome.status] += len(outcome.lot.execution_ids)
    return dict(counts)


def _forget_orphans(execution_ids: set[int]) -> None:
    """Delete the owed executions among ``execution_ids`` whose subscription is gone.

    A fan-out that inserts while a subscription is being deleted can leave its
    execution behind (references are kept by the ORM, not by a constraint that
    would lock every subscription the fan-out reads): the run that meets it ends it.
    """
    gone = ~Exists(Subscription.objects.filter(pk=OuterRef("subscription_id")))
    Execution.objects.filter(gone, id__in=ids_in(execution_ids), status__in=IN_FLIGHT).delete()


def _call_tools(outcomes: list[Outcome]) -> None:
    """One gateway call per distinct (tool, arguments); transient errors retried at once (up to 3).

    Lots are grouped by their subscriptions' stored ``call_key`` (equal for equal
    tool and arguments), so the gateway sees each distinct call once, and the lots
    of a call share one attempts log per attempt number.
    """
    from tools import gateway

    pending: dict[str, list[Outcome]] = defaultdict(list)
    logs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        call_key, attempts = outcome.lot.subscription.call_key, outcome.lot.attempts
        pending[call_key].append(outcome)
        outcome.attempts_log = logs.setdefault((call_key, attempts), [])
    for attempt in range(1, retry.TRANSIENT_IMMEDIATE_RETRIES + 2):
        if not pending:
            break
        waiting = [outcome for group in pending.values() for outcome in group]
        monitors = any(outcome.lot.subscription.kind == Kind.MONITOR for outcome in waiting)
        started = djtz.now()
        calls = {
            stored: (group[-1].lot.subscription.tool, group[-1].lot.subscription.arguments)
            for stored, group in pending.items()
        }
        answers = gateway.call_many(
            calls.values(),
            priority=queues.HIGH if monitors else queues.DEFAULT,
            fetched_since=_tick_of([outcome.lot for outcome in waiting]),
        )
        finished = djtz.now()
        retry_again: dict[str, list[Outcome]] = {}
        for stored, group in pending.items():
            answer = answers[gateway.request_key(*calls[stored])]
            entry: dict[str, Any] = {
                "try": attempt,
                "started_at": started.isoformat(),
                "finished_at": finished.isoformat(),
            }
            if isinstance(answer, TaskHubError):
                entry.update(error_kind=str(answer.kind), error=answer.message[:500])
            for n in {outcome.lot.attempts for outcome in group}:
                logs[(stored, n)].append({"n": n, **entry})
            if not isinstance(answer, TaskHubError):
                for outcome in group:
                    outcome.result = answer
            elif answer.kind == ErrorKind.TRANSIENT and attempt <= retry.TRANSIENT_IMMEDIATE_RETRIES:
                retry_again[stored] = group
            else:
                for outcome in group:
                    _fail(outcome, answer.kind, answer.message)
        pending = retry_again


def _tick_of(lots: list[Lot]) -> datetime | None:
    """The earliest nominal fire time in the batch: any answer fetched since then is this tick's data."""
    nominal = [lot.scheduled_for for lot in lots]
    return min(nominal) if nominal and None not in nominal else None  # type: ignore[type-var]


def _fail(outcome: Outcome, kind: ErrorKind | str, message: str) -> None:
    decision = retry.decide(ErrorKind(kind), previous_attempts=outcome.lot.attempts)
    outcome.error_kind, outcome.error = str(kind), message[:2000]
    if decision.retry_in is None:
        outcome.status = ExecutionStatus.FAILED
    else:
        outcome.status, outcome.retry_in = ExecutionStatus.RETRYING, decision.retry_in


def compose_and_deliver(outcomes: list[Outcome], *, now: datetime) -> list[Outcome]:
    """Render each lot's message and push it to the lot's subscribers on their enabled channels, in one batch.

    Lots with the same answer and wording share one title, body, snapshot and payload
    object: the channels and the write-back send each distinct one once. Returns the
    outcomes split off for executions whose delivery failed (their lot keeps the rest).
    """
    from taskhub.channels.dispatch.pushes import Push, deliver_pushes

    pushes = []
    composed = _compose_all(outcomes, now=now)
    worded = reworded(body for _, body in composed)
    snapshots: dict[int, dict[str, Any]] = {}
    for outcome, (_, body) in zip(outcomes, composed, strict=True):
        result = outcome.result
        outcome.message = worded.get(body, body)
        # Outcomes hold each answer for the whole run: id() names it safely.
        if id(result) not in snapshots:
            snapshots[id(result)] = _snapshot(outcome.lot.subscription.tool, result)
        outcome.tool_snapshot = snapshots[id(result)]
    _store_snapshots(outcomes)
    payloads = {key: ToolSnapshot.payload_of(value) for key, value in snapshots.items()}
    for outcome, (title, _) in zip(outcomes, composed, strict=True):
        lot = outcome.lot
        urgent = lot.subscription.priority == Priority.URGENT or lot.subscription.kind == Kind.MONITOR
        pushes.append(
            Push(
                lot.execution_ids,
                lot.subscription_ids,
                lot.fire_key,
                title,
                outcome.message,
                urgent,
                payloads[id(outcome.result)],
                outcome.snapshot_id,
            )
        )
    failures: dict[int, list[Any]] = defaultdict(list)
    for failed in deliver_pushes(pushes):
        failures[failed.execution_id].append(failed)
    return _split_failed(outcomes, failures) if failures else []


def _split_failed(outcomes: list[Outcome], failures: dict[int, list[Any]]) -> list[Outcome]:
    """Outcomes of their own for the executions whose delivery failed, one per lot and error."""
    split = []
    for outcome in outcomes:
        by_error: dict[tuple[str, str], set[int]] = defaultdict(set)
        for execution_id in outcome.lot.execution_ids:
            if failed := failures.get(execution_id):
                retryable = [f for f in failed if f.error_kind != ErrorKind.PERMANENT]
                worst = retryable[0] if retryable else failed[0]
                by_error[(worst.error_kind or ErrorKind.TEMPORARY, worst.error)].add(execution_id)
        if not by_error:
            continue
        failed_ids = set().union(*by_error.values())
        for (kind, error), ids in by_error.items():
            part = dataclasses.replace(outcome, lot=outcome.lot.part(ids))
            _fail(part, kind, f"delivery failed: {error}")
            split.append(part)
        outcome.lot = outcome.lot.part(set(outcome.lot.execution_ids) - failed_ids)
    return split


def _compose_all(outcomes: list[Outcome], *, now: datetime) -> list[tuple[str, str]]:
    """Each lot's (title, body), rendered once per distinct answer and subscription wording."""
    rendered: dict[tuple[Any, ...], tuple[str, str]] = {}
    composed = []
    for outcome in outcomes:
        sub = outcome.lot.subscription
        # Outcomes hold each answer for the whole run: id() names it safely.
        key = (id(outcome.result), sub.call_key, sub.template, sub.title, sub.timezone)
        if key not in rendered:
            rendered[key] = compose(sub, outcome.result, now=now)
        composed.append(rendered[key])
    return composed


def _snapshot(tool: str, result: Any) -> dict[str, Any]:
    """What a run keeps of a tool's answer (``ToolSnapshot``): tool, data, status, fetched at, an alert's context."""
    snapshot = {"tool": tool, "data": result.data, "status": result.status, "fetched_at": result.fetched_at.isoformat()}
    if alert := getattr(result, "alert", None):  # value, threshold, previous value, observed at
        snapshot["alert"] = alert
    return snapshot


def _store_snapshots(outcomes: list[Outcome]) -> None:
    """Store each distinct ``tool_snapshot`` of ``outcomes`` once (one INSERT); set each outcome's ``snapshot_id``.

    Lots of one tool answer share its snapshot object, so a batch stores a few rows,
    each with the range of ids of the executions that refer to it (for retention).
    Stored before the pushes, which refer to it too; a run that fails after this
    leaves rows that nothing refers to, and retention deletes them.
    """
    lots: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.tool_snapshot is not None and outcome.lot.execution_ids:
            lots[id(outcome.tool_snapshot)].append(outcome)
    stored = ToolSnapshot.objects.bulk_create(
        ToolSnapshot(
            value=group[0].tool_snapshot,
            first_execution_id=min(min(o.lot.execution_ids) for o in group),
            last_execution_id=max(max(o.lot.execution_ids) for o in group),
        )
        for group in lots.values()
    )
    for group, snapshot in zip(lots.values(), stored, strict=True):
        for outcome in group:
            outcome.snapshot_id = snapshot.pk


def _write_back(batch_id: int, outcomes: list[Outcome], *, now: datetime) -> list[Outcome]:
    """One transaction: every execution's result, what it means for its subscription, the
    retries' batches, and the end of this batch. Returns the outcomes as written: each
    lot cut to its executions written, and none left empty.

    A result is written only over the state this run started from (still owed, the same
    attempt count): a run that outlived its lease and was taken over writes nothing twice.
    """
    # One new meta per (meta, attempts log) pair of objects: lots share both (one tool call's
    # log, one event's alert), so a batch writes a handful of distinct metas, each sent once.
    metas: dict[tuple[int, int], dict[str, Any]] = {}
    results = []
    for outcome in outcomes:
        lot = outcome.lot
        pair = (id(lot.meta), id(outcome.attempts_log))
        if pair not in metas:
            metas[pair] = {**lot.meta, "attempts": [*lot.meta.get("attempts", []), *outcome.attempts_log]}
        results.append(
            LotResult(
                lot.execution_ids,
                outcome.status,
                lot.attempts,
                outcome.error_kind,
                outcome.error,
                metas[pair],
                now,
                None if outcome.status == ExecutionStatus.RETRYING else now,
                outcome.message,
                outcome.snapshot_id,
            )
        )
    with transaction.atomic():
        written_ids = write_results(results)
        if len(written_ids) < sum(len(outcome.lot.execution_ids) for outcome in outcomes):
            # Some were not owed any more (another run wrote them): only what was written counts.
            kept = set(written_ids)
            outcomes = [dataclasses.replace(o, lot=o.lot.part(kept)) for o in outcomes]
        written = [outcome for outcome in outcomes if outcome.lot.execution_ids]
        _update_subscriptions(written)
        retries: dict[float, list[InsertedExecution]] = defaultdict(list)
        for outcome in written:
            if outcome.status == ExecutionStatus.RETRYING:
                sub = outcome.lot.subscription
                route = queues.route_for_subscription(kind=sub.kind, priority=sub.priority)
                retries[outcome.retry_in or 0.0] += [
                    InsertedExecution(pk, sub_id, outcome.status, route)
                    for pk, sub_id in zip(outcome.lot.execution_ids, outcome.lot.subscription_ids, strict=True)
                ]
        for delay, batch in retries.items():
            dispatch.enqueue(batch, countdown=delay, now=now)
        ExecutionBatch.objects.filter(pk=batch_id).delete()
    return written


def _update_subscriptions(outcomes: list[Outcome]) -> None:
    succeeded: set[int] = set()
    failed_permanently: set[int] = set()
    finished: set[int] = set()
    for outcome in outcomes:
        lot = outcome.lot
        # Only those with failures to forget: most succeeded last time too, and then there is nothing to write.
        if outcome.status == ExecutionStatus.SUCCEEDED and lot.subscription.consecutive_failures:
            succeeded.update(lot.subscription_ids)
        if outcome.status == ExecutionStatus.FAILED and outcome.error_kind == ErrorKind.PERMANENT:
            failed_permanently.update(lot.subscription_ids)
        if outcome.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED) and services.run_completes(
            lot.subscription.kind, lot.meta
        ):
            finished.update(lot.subscription_ids)
    services.subscriptions_record_runs(succeeded=succeeded, failed_permanently=failed_permanently, finished=finished)
