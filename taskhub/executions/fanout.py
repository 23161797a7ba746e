"""Fan-out: one beat tick of a schedule bucket becomes one Execution per active subscription.

The fire key is the nominal fire time computed from the cron in its time zone,
so two beats, a retry or a redelivery of the same tick produce the same key, and
the unique (subscription, fire key) constraint makes the insert idempotent:
``INSERT .. SELECT .. ON CONFLICT DO NOTHING RETURNING`` tells which rows are new,
and only those are enqueued (the clause is added only when a chunk meets a row that
exists: ``bulk.insert_skipping_conflicts``). Subscriptions are walked by keyset pagination in
(call_key, id) order, so each batch holds the subscribers of a few tool calls
and the bucket's calls spread over all its batches instead of crowding the first
ones; one set-based INSERT per chunk (``rows.insert_tick_executions``),
so memory and statement size stay flat at any scale and no row passes through Python.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone as djtz
from django_celery_beat.models import CrontabSchedule

from taskhub.executions import dispatch
from taskhub.executions.models import ExecutionStatus, ScheduleFire
from taskhub.executions.rows import Position, Tick, insert_tick_executions
from taskhub.obs import metrics
from taskhub.subscriptions import services
from taskhub.subscriptions.models import Kind, MissedPolicy, Subscription
from taskhub.subscriptions.scheduling import cron_of
from taskhub.subscriptions.states import Status

logger = logging.getLogger(__name__)

# Beat may tick a moment before the nominal time (clock skew between hosts).
EARLY_TOLERANCE = timedelta(seconds=5)


def fire_key(moment: datetime) -> str:
    """The fire key of a nominal fire time: ISO 8601 in UTC, to the second."""
    return moment.astimezone(ZoneInfo("UTC")).replace(microsecond=0).isoformat()


def nominal_fire(*, cron: str, timezone: str, now: datetime) -> datetime:
    """The latest fire time of ``cron`` in ``timezone`` at or before ``now`` (with a small early tolerance)."""
    it = croniter(cron, (now + EARLY_TOLERANCE).astimezone(ZoneInfo(timezone)))
    return it.get_prev(datetime)


def fires_between(*, cron: str, timezone: str, after: datetime, before: datetime, limit: int) -> list[datetime]:
    """Fire times strictly between ``after`` and ``before``, the latest ``limit`` of them."""
    it = croniter(cron, after.astimezone(ZoneInfo(timezone)))
    found: list[datetime] = []
    while True:
        moment = it.get_next(datetime)
        if moment >= before:
            return found[-limit:] if limit else []
        found.append(moment)


@dataclass(frozen=True)
class FanoutResult:
    fire_key: str
    subscriptions: int
    created: int
    enqueued: int
    missed: int


def runs_now(sub: Subscription, lateness: timedelta) -> bool:
    """Whether a subscription still runs a fire that is ``lateness`` late (missed-run policy)."""
    if lateness <= timedelta(seconds=settings.FIRE_GRACE_S):
        return True
    return sub.missed_policy == MissedPolicy.CATCH_UP_ONCE and lateness <= timedelta(seconds=sub.catch_up_window_s)


def fanout(
    *, schedule_id: int, now: datetime | None = None, fire_at: datetime | None = None, chunk_size: int | None = None
) -> FanoutResult:
    """Create and enqueue the executions of one tick of bucket ``schedule_id``; safe to repeat.

    The tick is the latest fire at ``now``, or ``fire_at`` when resuming a fan-out cut short.
    """
    with metrics.FANOUT_SECONDS.time():
        result = _fanout(schedule_id, now=now or djtz.now(), fire_at=fire_at, chunk_size=chunk_size)
    metrics.EXECUTIONS.labels(ExecutionStatus.MISSED).inc(result.missed)
    # LogRecord reserves "created": prefix the counts.
    logger.info(
        "fan-out done", extra={"schedule_id": schedule_id, **{f"fanout_{k}": v for k, v in vars(result).items()}}
    )
    return result


def _fanout(schedule_id: int, *, now: datetime, fire_at: datetime | None, chunk_size: int | None) -> FanoutResult:
    chunk_size = chunk_size or settings.FANOUT_CHUNK_SIZE
    schedule = CrontabSchedule.objects.get(pk=schedule_id)
    cron, tz = cron_of(schedule), str(schedule.timezone)
    nominal = fire_at or nominal_fire(cron=cron, timezone=tz, now=now)
    key = fire_key(nominal)
    lateness = now - nominal
    missed = _record_fire(schedule_id, cron=cron, timezone=tz, nominal=nominal)
    missed_keys = [fire_key(moment) for moment in missed]

    tick = Tick(schedule_id, key, nominal, lateness.total_seconds(), tuple(missed_keys))
    total = created = enqueued = missed_rows = 0
    after: Position = ("", 0)
    while True:
        chunk = _chunk_end(schedule_id, after=after, size=chunk_size)
        if chunk is None:
            break
        upto, size = chunk
        with transaction.atomic():
            inserted = insert_tick_executions(tick, after=after, upto=upto, now=now)
            to_run = [row for row in inserted if row.status == ExecutionStatus.QUEUED]
            dispatch.enqueue(to_run, now=now)
        total += size
        after = upto
        created += len(inserted)
        enqueued += len(to_run)
        missed_rows += len(inserted) - len(to_run)
    _complete_ended(schedule_id, nominal)
    ScheduleFire.objects.filter(schedule_id=schedule_id, fire_at=nominal).update(completed_at=djtz.now())
    return FanoutResult(key, total, created, enqueued, missed_rows)


def _chunk_end(schedule_id: int, *, after: Position, size: int) -> tuple[Position, int] | None:
    """Where the next chunk of up to ``size`` active periodic subscriptions after ``after`` ends, and its size.

    Keyset pagination over the bucket's index in (call_key, id) order: a batch then
    holds the subscribers of a few tool calls. A row comparison, so the index
    seeks to ``after`` instead of scanning the bucket from its start each time.
    """
    table = connection.ops.quote_name(Subscription._meta.db_table)
    sql = f"""
        WITH chunk AS (
            SELECT call_key, id FROM {table}
            WHERE schedule_id = %s AND status = %s AND kind = %s AND (call_key, id) > (%s, %s)
            ORDER BY call_key, id LIMIT %s
        )
        SELECT call_key, id, (SELECT count(*) FROM chunk) FROM chunk ORDER BY call_key DESC, id DESC LIMIT 1
    """  # noqa: S608 - only our table name is interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [schedule_id, Status.ACTIVE, Kind.PERIODIC, *after, size])
        row = cursor.fetchone()
    return ((row[0], row[1]), row[2]) if row else None


def _record_fire(schedule_id: int, *, cron: str, timezone: str, nominal: datetime) -> list[datetime]:
    """Remember this tick; return the fires missed since the previous one (downtime), oldest first."""
    previous = ScheduleFire.objects.filter(schedule_id=schedule_id).order_by("-fire_at").first()
    try:
        with transaction.atomic():
            ScheduleFire.objects.create(schedule_id=schedule_id, fire_at=nominal)
    except IntegrityError:
        pass  # this tick was fanned out before (a second beat, a redelivery): same rows, no new ones
    if previous is None or previous.fire_at >= nominal:
        return []
    return fires_between(
        cron=cron, timezone=timezone, after=previous.fire_at, before=nominal, limit=settings.MAX_MISSED_FIRES
    )


def _complete_ended(schedule_id: int, nominal: datetime) -> None:
    """Subscriptions whose end has passed are completed."""
    ended = Subscription.objects.filter(
        schedule_id=schedule_id, status=Status.ACTIVE, ends_at__isnull=False, ends_at__lt=nominal
    ).values_list("id", flat=True)
    services.subscriptions_after_runs(to_complete=set(ended[:1000]), failed_permanently=set())
