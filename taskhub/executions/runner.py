"""The task agent's work on one batch of executions: claim, call tools, render, push, write back.

Per batch: one claim (compare-and-set under SKIP LOCKED), one query for the
executions with their subscriptions, one for their channels, one gateway call
per distinct (tool, arguments), one ``deliver_messages`` call, one bulk write
of the results. Each execution succeeds, retries or fails on its own: a failed
item never blocks the rest of the batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone as djtz

from taskhub import queues
from taskhub.core.bulk import ids_in, param
from taskhub.core.errors import ErrorKind, TaskHubError
from taskhub.executions import dispatch, retry
from taskhub.executions.message import compose, reworded
from taskhub.executions.models import Execution, ExecutionStatus
from taskhub.executions.rows import InsertedExecution, write_results
from taskhub.monitoring.alerts import event_results
from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, Priority, Subscription
from taskhub.subscriptions.states import Status

logger = logging.getLogger(__name__)

CLAIMABLE_SUBSCRIPTION = (Status.ACTIVE,)


@dataclass
class Outcome:
    execution: Execution
    status: str = ExecutionStatus.SUCCEEDED
    error_kind: str = ""
    error: str = ""
    retry_in: float | None = None
    attempts_log: list[dict[str, Any]] = field(default_factory=list)


def claim(execution_ids: list[int], *, now: datetime) -> list[int]:
    """Take the executions nobody else is running; returns the ids this worker now owns.

    One statement: rows another worker holds are skipped (``SKIP LOCKED``), the rest
    are marked ``running`` under a fresh lease and counted as an attempt.
    """
    lease_s = settings.EXECUTION_LEASE_S
    table = connection.ops.quote_name(Execution._meta.db_table)
    ids = ids_in(execution_ids)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = f"""
        UPDATE {table} SET status = %s, started_at = %s, lease_expires_at = %s, attempts = attempts + 1
        WHERE id IN (
            SELECT id FROM {table} WHERE id IN ({ids.sql}) AND (
                status = %s
                -- a retry is claimable once its back-off ended (its lease is back-off + lease)
                OR (status = %s AND lease_expires_at <= %s)
                -- a worker died while running it
                OR (status = %s AND lease_expires_at <= %s)
            ){skip_locked}
        )
        RETURNING id
    """  # noqa: S608 - only our table name and constants are interpolated
    params = [ExecutionStatus.RUNNING, now, now + timedelta(seconds=lease_s), *ids.params]
    params += [ExecutionStatus.QUEUED, ExecutionStatus.RETRYING, now + timedelta(seconds=lease_s)]
    params += [ExecutionStatus.RUNNING, now]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [param(value) for value in params])
        return [pk for (pk,) in cursor.fetchall()]


# What a run reads and writes back: every other column stays in the database (a
# deferred field read here would cost a query per execution).
_RUN_FIELDS = (
    *("subscription_id", "fire_key", "status", "attempts", "scheduled_for", "meta", "tool_snapshot", "message"),
    *("error_kind", "error_message", "lease_expires_at", "finished_at"),
    *(
        f"subscription__{name}"
        for name in ("status", "kind", "priority", "tool", "arguments", "call_key", "template", "title", "timezone")
    ),
)


def run_batch(execution_ids: list[int], *, now: datetime | None = None) -> dict[str, int]:
    """Run the claimable executions among ``execution_ids``; returns counts by final status."""
    now = now or djtz.now()
    ids = claim(execution_ids, now=now)
    if not ids:
        return {}
    executions = list(Execution.objects.filter(id__in=ids_in(ids)).select_related("subscription").only(*_RUN_FIELDS))
    outcomes = {e.pk: Outcome(e) for e in executions}

    runnable = []
    for execution in executions:
        sub = execution.subscription
        manual = execution.fire_key.startswith("manual:")
        if sub.status not in CLAIMABLE_SUBSCRIPTION and not (manual and sub.status == Status.PAUSED):
            # Re-checked at run time: paused or cancelled after the fan-out.
            outcomes[execution.pk].status = ExecutionStatus.SKIPPED
            outcomes[execution.pk].error = f"subscription is {sub.status}"
        else:
            runnable.append(execution)

    # Monitor alerts carry their event's data: no tool call for them (taskhub/monitoring/alerts.py).
    results: dict[int, Any] = event_results(runnable)
    results.update(_call_tools([e for e in runnable if e.pk not in results], outcomes, now=now))
    compose_and_deliver(runnable, results, outcomes, now=now)
    _write_back(outcomes, now=now)
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        counts[outcome.status] += 1
    logger.info("batch finished", extra={"executions": len(ids), **counts})
    return dict(counts)


def _call_tools(runnable: list[Execution], outcomes: dict[int, Outcome], *, now: datetime) -> dict[int, Any]:
    """One gateway call per distinct (tool, arguments); transient errors retried at once (up to 3).

    Executions are grouped by their subscription's stored ``call_key`` (equal for
    equal tool and arguments), so the gateway sees each distinct call once.
    """
    from tools import gateway

    results: dict[int, Any] = {}
    pending = runnable
    for attempt in range(1, retry.TRANSIENT_IMMEDIATE_RETRIES + 2):
        if not pending:
            break
        priority = queues.HIGH if any(e.subscription.kind == Kind.MONITOR for e in pending) else queues.DEFAULT
        started = djtz.now()
        calls = {e.subscription.call_key: (e.subscription.tool, e.subscription.arguments) for e in pending}
        answers = gateway.call_many(calls.values(), priority=priority, fetched_since=_tick_of(pending))
        by_call = {stored: answers[gateway.request_key(*call)] for stored, call in calls.items()}
        retry_again = []
        for execution in pending:
            answer = by_call[execution.subscription.call_key]
            outcome = outcomes[execution.pk]
            entry = {
                "n": execution.attempts,
                "try": attempt,
                "started_at": started.isoformat(),
                "finished_at": djtz.now().isoformat(),
            }
            if isinstance(answer, TaskHubError):
                entry.update(error_kind=str(answer.kind), error=answer.message[:500])
                outcome.attempts_log.append(entry)
                if answer.kind == ErrorKind.TRANSIENT and attempt <= retry.TRANSIENT_IMMEDIATE_RETRIES:
                    retry_again.append(execution)
                else:
                    _fail(outcome, answer.kind, answer.message)
            else:
                outcome.attempts_log.append(entry)
                results[execution.pk] = answer
        pending = retry_again
    return results


def _tick_of(executions: list[Execution]) -> datetime | None:
    """The earliest nominal fire time in the batch: any answer fetched since then is this tick's data."""
    nominal = [e.scheduled_for for e in executions]
    return min(nominal) if nominal and None not in nominal else None  # type: ignore[type-var]


def _fail(outcome: Outcome, kind: ErrorKind | str, message: str) -> None:
    decision = retry.decide(ErrorKind(kind), previous_attempts=outcome.execution.attempts)
    outcome.error_kind, outcome.error = str(kind), message[:2000]
    if decision.retry_in is None:
        outcome.status = ExecutionStatus.FAILED
    else:
        outcome.status, outcome.retry_in = ExecutionStatus.RETRYING, decision.retry_in


def compose_and_deliver(
    runnable: list[Execution], results: dict[int, Any], outcomes: dict[int, Outcome], *, now: datetime
) -> None:
    """Render each user's message and push it on their enabled channels, in one batch."""
    from taskhub.channels.dispatch import OutboundMessage, deliver_messages
    from taskhub.channels.models import Channel

    ok = [e for e in runnable if e.pk in results]
    channel_ids: dict[int, list[int]] = defaultdict(list)
    through = Subscription.channels.through.objects.filter(
        subscription_id__in=ids_in({e.subscription_id for e in ok}),
        channel_id__in=Channel.objects.filter(enabled=True).values("id"),
    )
    for sub_id, channel_id in through.values_list("subscription_id", "channel_id"):
        channel_ids[sub_id].append(channel_id)

    messages = []
    composed = _compose_all(ok, results, now=now)
    worded = reworded(body for _, body in composed.values())
    snapshots: dict[int, dict[str, Any]] = {}
    for execution in ok:
        result = results[execution.pk]
        title, body = composed[execution.pk]
        body = worded.get(body, body)
        execution.message = body
        if id(result) not in snapshots:  # one snapshot per answer, shared by its executions
            snapshots[id(result)] = {
                "data": result.data,
                "status": result.status,
                "fetched_at": result.fetched_at.isoformat(),
            }
        execution.tool_snapshot = snapshots[id(result)]
        for channel_id in channel_ids[execution.subscription_id]:
            messages.append(
                OutboundMessage(
                    execution_id=execution.pk,
                    subscription_id=execution.subscription_id,
                    fire_key=execution.fire_key,
                    channel_id=channel_id,
                    title=title,
                    body=body,
                    urgent=execution.subscription.priority == Priority.URGENT
                    or execution.subscription.kind == Kind.MONITOR,
                    data=_payload(execution, result),
                )
            )
    failures: dict[int, list[Any]] = defaultdict(list)
    for delivered in deliver_messages(messages):
        if delivered.status == "failed":
            failures[delivered.execution_id].append(delivered)
    for execution in ok:
        failed = failures.get(execution.pk)
        if not failed:
            continue
        retryable = [f for f in failed if f.error_kind != ErrorKind.PERMANENT]
        worst = retryable[0] if retryable else failed[0]
        _fail(outcomes[execution.pk], worst.error_kind or ErrorKind.TEMPORARY, f"delivery failed: {worst.error}")


def _compose_all(ok: list[Execution], results: dict[int, Any], *, now: datetime) -> dict[int, tuple[str, str]]:
    """Each execution's (title, body), rendered once per distinct answer and subscription wording.

    Subscribers of one call with the same template, title, arguments and zone get
    the same text: a batch of 500 renders a handful of messages, not 500.
    """
    rendered: dict[tuple[Any, ...], tuple[str, str]] = {}
    composed = {}
    for execution in ok:
        sub, result = execution.subscription, results[execution.pk]
        # results holds each answer for the whole loop: id() names it safely.
        key = (id(result), sub.call_key, sub.template, sub.title, sub.timezone)
        if key not in rendered:
            rendered[key] = compose(sub, result, now=now)
        composed[execution.pk] = rendered[key]
    return composed


def _payload(execution: Execution, result: Any) -> dict[str, Any]:
    """The structured part of a push (webhooks carry it): the tool's answer and, for an alert, its context."""
    payload = {"tool": execution.subscription.tool, "result": result.data, "status": result.status}
    if alert := getattr(result, "alert", None):  # value, threshold, previous value, observed at
        payload["alert"] = alert
    return payload


def _write_back(outcomes: dict[int, Outcome], *, now: datetime) -> None:
    """Bulk write of every execution, subscription counters, one-off completion, retries."""
    retries: dict[float, list[InsertedExecution]] = defaultdict(list)
    rows = []
    for outcome in outcomes.values():
        execution = outcome.execution
        execution.status = outcome.status
        execution.error_kind, execution.error_message = outcome.error_kind, outcome.error
        execution.meta = {**execution.meta, "attempts": execution.meta.get("attempts", []) + outcome.attempts_log}
        if outcome.status == ExecutionStatus.RETRYING:
            execution.lease_expires_at = now + timedelta(seconds=outcome.retry_in + settings.EXECUTION_LEASE_S)
            execution.finished_at = None
            sub = execution.subscription
            route = queues.route_for_subscription(kind=sub.kind, priority=sub.priority)
            retries[outcome.retry_in].append(InsertedExecution(execution.pk, sub.pk, outcome.status, route))
        else:
            execution.lease_expires_at = None
            execution.finished_at = now
        rows.append(execution)
    with transaction.atomic():
        write_results(rows)
        _update_subscriptions(outcomes, now=now)
        for delay, batch in retries.items():
            transaction.on_commit(lambda batch=batch, delay=delay: dispatch.enqueue(batch, countdown=delay))


def _update_subscriptions(outcomes: dict[int, Outcome], *, now: datetime) -> None:
    succeeded = {o.execution.subscription_id for o in outcomes.values() if o.status == ExecutionStatus.SUCCEEDED}
    failed_permanently = {
        o.execution.subscription_id
        for o in outcomes.values()
        if o.status == ExecutionStatus.FAILED and o.error_kind == ErrorKind.PERMANENT
    }
    finished = {
        o.execution.subscription_id
        for o in outcomes.values()
        if o.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)
        and (
            o.execution.subscription.kind == Kind.ONCE
            # a monitor set to "alert once, then complete" (taskhub/monitoring)
            or o.execution.meta.get("alert", {}).get("once", False)
        )
    }
    if succeeded:
        Subscription.objects.filter(pk__in=ids_in(succeeded)).update(
            last_fired_at=now, last_succeeded_at=now, consecutive_failures=0
        )
    if failed_permanently:
        Subscription.objects.filter(pk__in=failed_permanently).update(
            last_fired_at=now, consecutive_failures=F("consecutive_failures") + 1
        )
    transaction.on_commit(
        lambda: services.subscriptions_after_runs(to_complete=finished, failed_permanently=failed_permanently)
    )
