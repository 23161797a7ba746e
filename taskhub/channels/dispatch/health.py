"""Channel health after a batch: reset on success, count permanent failures, disable at the limit.

A channel is disabled (``enabled=False``, ``disabled_reason``) when its receiver says it
is gone (HTTP 410) or after ``CHANNEL_MAX_CONSECUTIVE_FAILURES`` permanent failures in a
row; the owner is told in the inbox. Transient and temporary failures do not count: the
receiver may be down for a while, the address is not wrong. Queries grow with the number
of distinct counts, not with channels.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from taskhub.channels import kinds
from taskhub.channels.inbox import InboxItem, inbox_write
from taskhub.channels.kinds import ChannelGone, Result
from taskhub.channels.models import Channel
from taskhub.core.errors import ErrorKind

logger = logging.getLogger(__name__)


def record_channel_health(results: Sequence[tuple[Channel, Result]]) -> None:
    succeeded: set[int] = set()
    failures: Counter[int] = Counter()
    gone: dict[int, str] = {}
    by_id: dict[int, Channel] = {}
    may_disable: dict[str, bool] = {}  # by kind, looked up once per call
    for channel, result in results:
        if channel.kind not in may_disable:
            may_disable[channel.kind] = kinds.backend_for(channel.kind).may_disable
        if not may_disable[channel.kind]:
            continue
        by_id[channel.pk] = channel
        if result.error is None:
            succeeded.add(channel.pk)
        elif isinstance(result.error, ChannelGone):
            gone[channel.pk] = result.error.message
        elif result.error.kind == ErrorKind.PERMANENT:
            failures[channel.pk] += 1
    if succeeded:
        Channel.objects.filter(id__in=succeeded, consecutive_failures__gt=0).update(consecutive_failures=0)
    by_count: dict[int, list[int]] = defaultdict(list)
    for channel_id, count in failures.items():
        if channel_id not in succeeded:
            by_count[count].append(channel_id)
    for count, ids in by_count.items():
        Channel.objects.filter(id__in=ids).update(consecutive_failures=F("consecutive_failures") + count)
    limit = settings.CHANNEL_MAX_CONSECUTIVE_FAILURES
    worn_out = Channel.objects.filter(id__in=list(failures), enabled=True, consecutive_failures__gte=limit)
    reasons = {pk: f"{limit} permanent failures in a row" for pk in worn_out.values_list("id", flat=True)}
    reasons.update({pk: f"receiver gone: {message}"[:200] for pk, message in gone.items()})
    _disable(reasons, by_id)


def _disable(reasons: dict[int, str], channels: dict[int, Channel]) -> None:
    """Disable each channel by compare-and-set (only the call that flips ``enabled`` tells the owner)."""
    notices = []
    for channel_id, reason in reasons.items():
        if not Channel.objects.filter(pk=channel_id, enabled=True).update(enabled=False, disabled_reason=reason):
            continue
        channel = channels[channel_id]
        logger.warning("channel disabled", extra={"channel_id": channel_id, "reason": reason})
        notices.append(
            InboxItem(
                owner_id=channel.owner_id,
                key=f"notice:channel-disabled:{channel_id}:{timezone.now().isoformat()}",
                title=f"Channel {channel.name!r} was disabled",
                body=f"TaskHub stopped pushing to {channel.name!r} ({channel.kind}): {reason}. "
                "Fix its settings and enable it again.",
                urgent=True,
                data={"channel_id": channel_id, "reason": reason},
            )
        )
    inbox_write(notices)
