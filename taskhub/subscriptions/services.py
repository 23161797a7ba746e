"""Every write to a subscription. Views, serializers, admin actions, the chat agent and tasks call these."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone as djtz

from taskhub.channels.inbox import InboxItem, inbox_write
from taskhub.channels.models import Channel
from taskhub.channels.services import inbox_channel_for
from taskhub.core.bulk import ids_in
from taskhub.core.canonical import call_key
from taskhub.core.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, TaskHubError
from taskhub.monitoring import conditions
from taskhub.monitoring import services as monitoring
from taskhub.subscriptions import scheduling, templates, validation
from taskhub.subscriptions.models import Kind, MissedPolicy, Origin, Priority, Subscription
from taskhub.subscriptions.selectors import subscription_scope
from taskhub.subscriptions.states import EDITABLE, TRANSITIONS, Action, Status

logger = logging.getLogger(__name__)

_UNSET: Any = object()


@dataclass
class SubscriptionSpec:
    """What a user asks for; the fields a create or an update may carry (``_UNSET`` = not given)."""

    title: str = _UNSET
    tool: str = _UNSET
    arguments: dict[str, Any] = _UNSET
    cron: str = _UNSET
    timezone: str = _UNSET
    run_at: datetime | None = _UNSET
    condition: dict[str, Any] | None = _UNSET
    template: str = _UNSET
    channel_ids: list[int] = _UNSET
    priority: int = _UNSET
    starts_at: datetime | None = _UNSET
    ends_at: datetime | None = _UNSET
    missed_policy: str = _UNSET
    catch_up_window_s: int = _UNSET
    monitor: dict[str, Any] | None = _UNSET  # monitor settings (taskhub.monitoring.services.OPTIONS)
    extra: dict[str, Any] = field(default_factory=dict)

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not _UNSET and name != "extra"}


def _owned_channels(owner: AbstractBaseUser, channel_ids: list[int]) -> list[Channel]:
    channels = list(Channel.objects.filter(owner=owner, pk__in=channel_ids))
    missing = sorted(set(channel_ids) - {c.pk for c in channels})
    if missing:
        # Another user's channel is reported exactly like a missing one.
        raise InvalidInput("channels: unknown channel", fields={"channels": [f"unknown channel id(s): {missing}"]})
    return channels


def _apply(sub: Subscription, given: dict[str, Any]) -> None:
    """Validate ``given`` against ``sub``'s kind and copy it onto ``sub`` (not saved)."""
    for name in ("title", "template", "priority", "starts_at", "ends_at", "missed_policy", "catch_up_window_s"):
        if name in given:
            setattr(sub, name, given[name])
    if not sub.title.strip():
        raise InvalidInput("title: required", fields={"title": ["must not be blank"]})
    if "timezone" in given:
        sub.timezone = validation.validate_timezone(given["timezone"])
    if "tool" in given or "arguments" in given:
        sub.arguments = validation.validate_tool_call(
            given.get("tool", sub.tool), given.get("arguments", sub.arguments)
        )
        sub.tool = given.get("tool", sub.tool)
    sub.call_key = call_key(sub.tool, sub.arguments)
    if sub.priority not in Priority.values:
        raise InvalidInput("priority: invalid", fields={"priority": [f"expected one of {Priority.values}"]})
    if sub.missed_policy not in MissedPolicy.values:
        raise InvalidInput(
            "missed_policy: invalid", fields={"missed_policy": [f"expected one of {MissedPolicy.values}"]}
        )
    if sub.starts_at and sub.ends_at and sub.ends_at <= sub.starts_at:
        raise InvalidInput("ends_at: before starts_at", fields={"ends_at": ["must be after starts_at"]})

    if sub.kind == Kind.PERIODIC:
        if "cron" in given or "timezone" in given:
            cron = given.get("cron", _UNSET)
            if cron is _UNSET:
                cron = scheduling.cron_of(sub.schedule) if sub.schedule_id else None
            if not cron:
                raise InvalidInput("cron: required for a periodic subscription", fields={"cron": ["required"]})
            cron = validation.validate_cron(cron, timezone=sub.timezone)
            sub.schedule = scheduling.crontab_for(cron=cron, timezone=sub.timezone)
        elif sub.schedule_id is None:
            raise InvalidInput("cron: required for a periodic subscription", fields={"cron": ["required"]})
    elif sub.kind == Kind.ONCE:
        if "run_at" in given:
            if given["run_at"] is None:
                raise InvalidInput("run_at: required for a one-off", fields={"run_at": ["required"]})
            sub.run_at = validation.validate_run_at(given["run_at"])
        elif sub.run_at is None:
            raise InvalidInput("run_at: required for a one-off", fields={"run_at": ["required"]})
    elif sub.kind == Kind.MONITOR:
        if "condition" in given:
            sub.condition = given["condition"]
        # Checked against the tool's output schema on every change (the tool may have changed too).
        sub.condition = conditions.validate(sub.condition, output_fields=validation.tool_output_fields(sub.tool))
    only = (("cron", Kind.PERIODIC), ("run_at", Kind.ONCE), ("condition", Kind.MONITOR), ("monitor", Kind.MONITOR))
    for name, only_for in only:
        if given.get(name) is not None and sub.kind != only_for:
            raise InvalidInput(
                f"{name}: only for {only_for} subscriptions", fields={name: [f"only for kind {only_for}"]}
            )

    sub.template = templates.validate_template(
        sub.template, allowed=_placeholders_for(sub), max_length=settings.TEMPLATE_MAX_LENGTH
    )


def _placeholders_for(sub: Subscription) -> frozenset[str] | None:
    """Names a message template of ``sub`` may use; None while the tool's output fields are unknown."""
    output_fields = validation.tool_output_fields(sub.tool)
    if output_fields is None:
        return None
    return templates.COMMON_PLACEHOLDERS | set(sub.arguments) | output_fields


@transaction.atomic
def subscription_create(
    *, owner: AbstractBaseUser, kind: str, spec: SubscriptionSpec, origin: str = Origin.API, source_ref: str = ""
) -> Subscription:
    """Create a draft. Nothing is scheduled until it is confirmed."""
    if kind not in Kind.values:
        raise InvalidInput("kind: invalid", fields={"kind": [f"expected one of {Kind.values}"]})
    given = spec.given()
    for required in ("title", "tool"):
        if not given.get(required):
            raise InvalidInput(f"{required}: required", fields={required: ["required"]})
    given.setdefault("arguments", {})
    sub = Subscription(owner=owner, kind=kind, status=Status.DRAFT, created_from=origin, source_ref=source_ref)
    _apply(sub, given)
    sub.save()
    if sub.kind == Kind.MONITOR:
        monitoring.monitor_save(subscription=sub, options=given.get("monitor"))
    channel_ids = given.get("channel_ids")
    sub.channels.set(_owned_channels(owner, channel_ids) if channel_ids else [inbox_channel_for(owner)])
    logger.info("subscription created", extra={"subscription_id": sub.pk, "kind": kind, "origin": origin})
    return sub


@transaction.atomic
def subscription_update(
    *, subscription_id: int, owner: AbstractBaseUser | None, spec: SubscriptionSpec
) -> Subscription:
    """Edit a subscription that is not finished; moves it between buckets when its schedule changes."""
    sub = _locked(subscription_id, owner)
    if sub.status not in EDITABLE:
        raise Conflict(f"a {sub.status} subscription cannot be edited", fields={"status": [sub.status]})
    old_schedule_id = sub.schedule_id
    given = spec.given()
    _apply(sub, given)
    sub.save()
    if sub.kind == Kind.MONITOR:
        monitoring.monitor_save(subscription=sub, options=given.get("monitor"))
    if "channel_ids" in given:
        sub.channels.set(_owned_channels(sub.owner, given["channel_ids"]) or [inbox_channel_for(sub.owner)])
    for schedule_id in {old_schedule_id, sub.schedule_id} - {None}:
        scheduling.sync_bucket(schedule_id)
    return sub


def _locked(subscription_id: int, owner: AbstractBaseUser | None) -> Subscription:
    sub = subscription_scope(subscription_id, owner).select_for_update().first()
    if sub is None:
        raise NotFound("subscription not found")
    return sub


@dataclass(frozen=True)
class TransitionResults:
    """What a bulk transition did: the subscriptions it changed, and why it left each other one alone."""

    changed: list[Subscription]
    refused: dict[int, TaskHubError]


@transaction.atomic
def subscriptions_transition(
    *, owner: AbstractBaseUser | None, subscription_ids: Iterable[int], action: Action | str
) -> TransitionResults:
    """Move each of ``subscription_ids`` along the lifecycle, in a number of queries that does not grow with them.

    ``owner`` limits the change to that user's subscriptions (None for system
    callers and staff). The rows are locked in id order, so concurrent calls take
    turns and never deadlock. A row the table does not allow ``action`` from is
    refused with ``Conflict`` and left as it is; one out of reach with
    ``NotFound``; an activation past its owner's quota with ``QuotaExceeded``; a
    one-off whose time has passed with ``InvalidInput``. Each affected schedule
    bucket and monitor key is synced once.
    """
    action = Action(action)
    allowed_from, target = TRANSITIONS[action]
    ids = set(subscription_ids)
    scope = Subscription.objects.filter(pk__in=ids)
    if owner is not None:
        scope = scope.filter(owner=owner)
    rows = list(scope.select_for_update().order_by("pk"))
    now = djtz.now()
    refused: dict[int, TaskHubError] = {pk: NotFound("subscription not found") for pk in ids - {s.pk for s in rows}}
    eligible = []
    for sub in rows:
        if sub.status not in allowed_from:
            refused[sub.pk] = Conflict(f"cannot {action} a {sub.status} subscription", fields={"status": [sub.status]})
        elif target == Status.ACTIVE and sub.kind == Kind.ONCE and sub.run_at and sub.run_at <= now:
            refused[sub.pk] = InvalidInput("run_at: in the past", fields={"run_at": ["is in the past; edit it first"]})
        else:
            eligible.append(sub)
    if target == Status.ACTIVE:
        eligible = _within_quota(eligible, refused)
    if eligible:
        changes: dict[str, Any] = {"status": target, "updated_at": now}
        if action == Action.RESUME:
            changes["consecutive_failures"] = 0  # a resumed subscription gets a fresh count
        Subscription.objects.filter(pk__in=[s.pk for s in eligible]).update(**changes)
        for sub in eligible:
            for name, value in changes.items():
                setattr(sub, name, value)
        _sync_after_transition(eligible, active=target == Status.ACTIVE)
        logger.info(
            "subscription transition",
            extra={"subscription_ids": [s.pk for s in eligible], "action": str(action), "status": str(target)},
        )
    return TransitionResults(changed=eligible, refused=refused)


def _within_quota(candidates: list[Subscription], refused: dict[int, TaskHubError]) -> list[Subscription]:
    """The ``candidates`` their owners may still activate; the others go to ``refused``."""
    owner_ids = sorted({s.owner_id for s in candidates})
    if not owner_ids:
        return []
    # Lock the owners so two concurrent activations cannot both pass the count.
    list(get_user_model().objects.select_for_update().filter(pk__in=owner_ids).order_by("pk").values_list("pk"))
    active = Subscription.objects.filter(owner_id__in=owner_ids, status=Status.ACTIVE)
    counts = dict(active.values("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n"))
    limit = settings.SUBSCRIPTION_MAX_ACTIVE_PER_USER
    admitted = []
    for sub in candidates:
        count = counts.get(sub.owner_id, 0)
        if count >= limit:
            refused[sub.pk] = QuotaExceeded(
                f"quota exceeded: {count} active subscriptions, the limit is {limit}",
                fields={"status": [f"at most {limit} active subscriptions per user"]},
            )
        else:
            counts[sub.owner_id] = count + 1
            admitted.append(sub)
    return admitted


def _sync_after_transition(subs: list[Subscription], *, active: bool) -> None:
    """Each bucket and monitor key of ``subs`` follows their new status, once per bucket or key."""
    for schedule_id in sorted({s.schedule_id for s in subs if s.kind == Kind.PERIODIC and s.schedule_id}):
        scheduling.sync_bucket(schedule_id)
    monitors = [s for s in subs if s.kind == Kind.MONITOR]
    if monitors:
        monitoring.monitors_sync(monitors, active=active)


def subscription_transition(
    *, subscription_id: int, action: Action | str, owner: AbstractBaseUser | None = None
) -> Subscription:
    """Move one subscription along the lifecycle; raises what ``subscriptions_transition`` refuses it with.

    ``Conflict`` (409) when the table does not allow it, ``NotFound``, ``QuotaExceeded``
    or ``InvalidInput`` (a one-off in the past). ``owner`` limits the change to that
    user's subscription (None for system callers).
    """
    result = subscriptions_transition(owner=owner, subscription_ids=[subscription_id], action=action)
    if subscription_id in result.refused:
        raise result.refused[subscription_id]
    return result.changed[0]


@transaction.atomic
def subscription_delete(*, subscription_id: int, owner: AbstractBaseUser | None) -> None:
    """Delete a subscription and its history; its bucket goes when nobody else uses it."""
    sub = _locked(subscription_id, owner)
    schedule_id = sub.schedule_id
    sub.delete()
    if schedule_id:
        scheduling.sync_bucket(schedule_id)
    if sub.kind == Kind.MONITOR:
        monitoring.keys_refresh(keys={sub.call_key})


def run_completes(kind: str, meta: dict[str, Any]) -> bool:
    """Whether a finished run (succeeded or failed) completes its subscription: a one-off's
    run, or the alert of a monitor set to "alert once, then complete" (``taskhub/monitoring``)."""
    return kind == Kind.ONCE or bool(meta.get("alert", {}).get("once", False))


def subscriptions_record_runs(*, succeeded: set[int], failed_permanently: set[int], finished: set[int]) -> None:
    """What finished runs mean for their subscriptions, written in the caller's transaction.

    A success resets the count of permanent failures in a row (only where it is not
    0 already), a permanent failure adds one. Once the caller commits, ``finished``
    one-offs complete and subscriptions failing too often are suspended
    (``subscriptions_after_runs``).
    """
    if succeeded:
        Subscription.objects.filter(pk__in=ids_in(succeeded), consecutive_failures__gt=0).update(consecutive_failures=0)
    if failed_permanently:
        Subscription.objects.filter(pk__in=ids_in(failed_permanently)).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
    transaction.on_commit(lambda: subscriptions_after_runs(to_complete=finished, failed_permanently=failed_permanently))


def subscriptions_after_runs(*, to_complete: set[int], failed_permanently: set[int]) -> None:
    """Lifecycle consequences of finished runs: one-offs complete; repeated permanent failures suspend.

    One bulk transition each (``subscriptions_transition``): a subscription another
    process moved first is simply left alone.
    """
    if to_complete:
        subscriptions_transition(owner=None, subscription_ids=to_complete, action=Action.COMPLETE)
    if failed_permanently:
        limit = settings.SUSPEND_AFTER_FAILURES
        failing = Subscription.objects.filter(
            pk__in=failed_permanently, status=Status.ACTIVE, consecutive_failures__gte=limit
        ).values_list("pk", flat=True)
        suspended = subscriptions_transition(owner=None, subscription_ids=failing, action=Action.SUSPEND).changed
        for sub in suspended:
            logger.warning("subscription suspended", extra={"subscription_id": sub.pk})
            _tell_suspended(sub)


def _tell_suspended(sub: Subscription) -> None:
    """The user learns in their inbox why a subscription stopped, and how to restart it."""
    inbox_write(
        [
            InboxItem(
                owner_id=sub.owner_id,
                key=f"suspended:{sub.pk}:{sub.updated_at.isoformat()}",
                title=f"Suspended: {sub.title}",
                body=(
                    f"'{sub.title}' failed {sub.consecutive_failures} times in a row with errors that will not go away "
                    "by themselves, so it was suspended. Check its tool and arguments, then resume it."
                ),
                urgent=True,
                subscription_id=sub.pk,
            )
        ]
    )
