"""The task agent's work on one batch of executions: claim, call tools, render, push, write back.

Per batch: one claim (a compare-and-set on its ``ExecutionBatch`` row: nothing is
written per execution before its result), one query for the executions still
owed with their subscriptions, one gateway call per distinct (tool, arguments),
one delivery statement, one bulk write of the results with the batch's deletion.
Each execution succeeds, retries or fails on its own: a failed item never blocks
the rest of the batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core.errors import ErrorKind, TaskHubError
from taskhub.executions import dispatch, retry
from taskhub.executions.jobs import Job, load_jobs
from taskhub.executions.message import compose, reworded
from taskhub.executions.models import ExecutionBatch, ExecutionStatus
from taskhub.executions.rows import InsertedExecution, ResultRow, write_results
from taskhub.monitoring.alerts import event_results
from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, Priority
from taskhub.subscriptions.states import Status

logger = logging.getLogger(__name__)

CLAIMABLE_SUBSCRIPTION = (Status.ACTIVE,)
# The log of a job that called no tool (an alert, a skipped run): one shared, never-appended list.
NO_ATTEMPTS: list[dict[str, Any]] = []


@dataclass(slots=True)
class Outcome:
    """How one job's run went. ``attempts_log``, ``message`` and ``tool_snapshot`` are shared
    between the jobs of one tool call (same objects), so the write-back sends each once."""

    job: Job
    status: str = ExecutionStatus.SUCCEEDED
    error_kind: str = ""
    error: str = ""
    retry_in: float | None = None
    attempts_log: list[dict[str, Any]] = field(default_factory=lambda: NO_ATTEMPTS)
    message: str = ""
    tool_snapshot: dict[str, Any] | None = None


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
    # Only the executions still queued or retrying: one that another run finished is not run again.
    jobs = load_jobs(ids)
    outcomes = {job.pk: Outcome(job) for job in jobs}

    runnable = []
    for job in jobs:
        status = job.subscription.status
        if status not in CLAIMABLE_SUBSCRIPTION and not (job.manual and status == Status.PAUSED):
            # Re-checked at run time: paused or cancelled after the fan-out.
            outcomes[job.pk].status = ExecutionStatus.SKIPPED
            outcomes[job.pk].error = f"subscription is {status}"
        else:
            runnable.append(job)

    # Monitor alerts carry their event's data: no tool call for them (taskhub/monitoring/alerts.py).
    results: dict[int, Any] = event_results(runnable)
    results.update(_call_tools([job for job in runnable if job.pk not in results], outcomes))
    compose_and_deliver(runnable, results, outcomes, now=now)
    written = _write_back(batch_id, outcomes, now=now)
    counts: dict[str, int] = defaultdict(int)
    for pk in written:
        counts[outcomes[pk].status] += 1
    logger.info("batch finished", extra={"executions": len(ids), **counts})
    return dict(counts)


def _call_tools(runnable: list[Job], outcomes: dict[int, Outcome]) -> dict[int, Any]:
    """One gateway call per distinct (tool, arguments); transient errors retried at once (up to 3).

    Jobs are grouped by their subscription's stored ``call_key`` (equal for equal
    tool and arguments), so the gateway sees each distinct call once, and the jobs
    of a call share one attempts log per attempt number.
    """
    from tools import gateway

    results: dict[int, Any] = {}
    pending: dict[str, list[Job]] = defaultdict(list)
    logs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for job in runnable:
        pending[job.subscription.call_key].append(job)
        outcomes[job.pk].attempts_log = logs.setdefault((job.subscription.call_key, job.attempts), [])
    for attempt in range(1, retry.TRANSIENT_IMMEDIATE_RETRIES + 2):
        if not pending:
            break
        monitors = any(job.subscription.kind == Kind.MONITOR for jobs in pending.values() for job in jobs)
        started = djtz.now()
        calls = {
            stored: (jobs[-1].subscription.tool, jobs[-1].subscription.arguments) for stored, jobs in pending.items()
        }
        answers = gateway.call_many(
            calls.values(),
            priority=queues.HIGH if monitors else queues.DEFAULT,
            fetched_since=_tick_of([job for jobs in pending.values() for job in jobs]),
        )
        finished = djtz.now()
        retry_again: dict[str, list[Job]] = {}
        for stored, jobs in pending.items():
            answer = answers[gateway.request_key(*calls[stored])]
            entry: dict[str, Any] = {
                "try": attempt,
                "started_at": started.isoformat(),
                "finished_at": finished.isoformat(),
            }
            if isinstance(answer, TaskHubError):
                entry.update(error_kind=str(answer.kind), error=answer.message[:500])
            for n in {job.attempts for job in jobs}:
                logs[(stored, n)].append({"n": n, **entry})
            if not isinstance(answer, TaskHubError):
                results.update((job.pk, answer) for job in jobs)
            elif answer.kind == ErrorKind.TRANSIENT and attempt <= retry.TRANSIENT_IMMEDIATE_RETRIES:
                retry_again[stored] = jobs
            else:
                for job in jobs:
                    _fail(outcomes[job.pk], answer.kind, answer.message)
        pending = retry_again
    return results


def _tick_of(jobs: list[Job]) -> datetime | None:
    """The earliest nominal fire time in the batch: any answer fetched since then is this tick's data."""
    nominal = [job.scheduled_for for job in jobs]
    return min(nominal) if nominal and None not in nominal else None  # type: ignore[type-var]


def _fail(outcome: Outcome, kind: ErrorKind | str, message: str) -> None:
    decision = retry.decide(ErrorKind(kind), previous_attempts=outcome.job.attempts)
    outcome.error_kind, outcome.error = str(kind), message[:2000]
    if decision.retry_in is None:
        outcome.status = ExecutionStatus.FAILED
    else:
        outcome.status, outcome.retry_in = ExecutionStatus.RETRYING, decision.retry_in


def compose_and_deliver(
    runnable: list[Job], results: dict[int, Any], outcomes: dict[int, Outcome], *, now: datetime
) -> None:
    """Render each user's message and push it on their enabled channels, in one batch.

    Jobs with the same answer and wording share one title, body, snapshot and
    payload object: the channels and the write-back send each distinct one once.
    """
    from taskhub.channels.dispatch.pushes import Push, deliver_pushes

    ok = [job for job in runnable if job.pk in results]
    pushes = []
    composed = _compose_all(ok, results, now=now)
    worded = reworded(body for _, body in composed.values())
    snapshots: dict[int, dict[str, Any]] = {}
    payloads: dict[tuple[int, str], dict[str, Any]] = {}
    for job in ok:
        result = results[job.pk]
        title, body = composed[job.pk]
        body = worded.get(body, body)
        outcome = outcomes[job.pk]
        outcome.message = body
        # results holds each answer for the whole loop: id() names it safely.
        if id(result) not in snapshots:
            snapshots[id(result)] = {
                "data": result.data,
                "status": result.status,
                "fetched_at": result.fetched_at.isoformat(),
            }
        outcome.tool_snapshot = snapshots[id(result)]
        payload_key = (id(result), job.subscription.tool)
        if payload_key not in payloads:
            payloads[payload_key] = _payload(job.subscription.tool, result)
        urgent = job.subscription.priority == Priority.URGENT or job.subscription.kind == Kind.MONITOR
        pushes.append(Push(job.pk, job.subscription_id, job.fire_key, title, body, urgent, payloads[payload_key]))
    failures: dict[int, list[Any]] = defaultdict(list)
    for failed in deliver_pushes(pushes):
        failures[failed.execution_id].append(failed)
    for job in ok:
        failed = failures.get(job.pk)
        if not failed:
            continue
        retryable = [f for f in failed if f.error_kind != ErrorKind.PERMANENT]
        worst = retryable[0] if retryable else failed[0]
        _fail(outcomes[job.pk], worst.error_kind or ErrorKind.TEMPORARY, f"delivery failed: {worst.error}")


def _compose_all(ok: list[Job], results: dict[int, Any], *, now: datetime) -> dict[int, tuple[str, str]]:
    """Each job's (title, body), rendered once per distinct answer and subscription wording.

    Subscribers of one call with the same template, title, arguments and zone get
    the same text: a batch of 500 renders a handful of messages, not 500.
    """
    rendered: dict[tuple[Any, ...], tuple[str, str]] = {}
    composed = {}
    for job in ok:
        sub, result = job.subscription, results[job.pk]
        # results holds each answer for the whole loop: id() names it safely.
        key = (id(result), sub.call_key, sub.template, sub.title, sub.timezone)
        if key not in rendered:
            rendered[key] = compose(sub, result, now=now)
        composed[job.pk] = rendered[key]
    return composed


def _payload(tool: str, result: Any) -> dict[str, Any]:
    """The structured part of a push (webhooks carry it): the tool's answer and, for an alert, its context."""
    payload = {"tool": tool, "result": result.data, "status": result.status}
    if alert := getattr(result, "alert", None):  # value, threshold, previous value, observed at
        payload["alert"] = alert
    return payload


def _write_back(batch_id: int, outcomes: dict[int, Outcome], *, now: datetime) -> set[int]:
    """One transaction: every execution's result, what it means for its subscription, the
    retries' batches, and the end of this batch. Returns the executions written.

    A result is written only over the state this run started from (still owed, the same
    attempt count): a run that outlived its lease and was taken over writes nothing twice.
    """
    retries: dict[float, list[InsertedExecution]] = defaultdict(list)
    # One new meta per (meta, attempts log) pair of objects: jobs share both (one tool call's
    # log, one event's alert), so a batch writes a handful of distinct metas, each sent once.
    metas: dict[tuple[int, int], dict[str, Any]] = {}
    rows = []
    for outcome in outcomes.values():
        job = outcome.job
        pair = (id(job.meta), id(outcome.attempts_log))
        if pair not in metas:
            metas[pair] = {**job.meta, "attempts": [*job.meta.get("attempts", []), *outcome.attempts_log]}
        meta = metas[pair]
        finished: datetime | None = now
        if outcome.status == ExecutionStatus.RETRYING:
            finished = None
            sub = job.subscription
            route = queues.route_for_subscription(kind=sub.kind, priority=sub.priority)
            retries[outcome.retry_in or 0.0].append(InsertedExecution(job.pk, sub.pk, outcome.status, route))
        rows.append(
            ResultRow(
                job.pk,
                outcome.status,
                job.attempts,
                outcome.error_kind,
                outcome.error,
                meta,
                now,
                finished,
                outcome.message,
                outcome.tool_snapshot,
            )
        )
    with transaction.atomic():
        written = set(write_results(rows))
        _update_subscriptions([outcomes[pk] for pk in written])
        for delay, batch in retries.items():
            dispatch.enqueue([row for row in batch if row.id in written], countdown=delay, now=now)
        ExecutionBatch.objects.filter(pk=batch_id).delete()
    return written


def _update_subscriptions(outcomes: list[Outcome]) -> None:
    # Only those with failures to forget: most succeeded last time too, and then there is nothing to write.
    succeeded = {
        o.job.subscription_id
        for o in outcomes
        if o.status == ExecutionStatus.SUCCEEDED and o.job.subscription.consecutive_failures
    }
    failed_permanently = {
        o.job.subscription_id
        for o in outcomes
        if o.status == ExecutionStatus.FAILED and o.error_kind == ErrorKind.PERMANENT
    }
    finished = {
        o.job.subscription_id
        for o in outcomes
        if o.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)
        and services.run_completes(o.job.subscription.kind, o.job.meta)
    }
    services.subscriptions_record_runs(succeeded=succeeded, failed_permanently=failed_permanently, finished=finished)
