"""Quiet hours: when a user's non-urgent pushes wait (``held``) instead of going out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from taskhub.channels.models import NotificationPreferences
from taskhub.core.bulk import ids_in


def in_quiet_hours(*, start: time | None, end: time | None, tz: str, now: datetime) -> bool:
    """Whether ``now`` falls in [start, end) local time; a window may span midnight (22:00-07:00).

    No window (either bound missing, or start == end) means never quiet.
    """
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(ZoneInfo(tz)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_owners(owner_ids: Iterable[int], *, now: datetime) -> set[int]:
    """The owners among ``owner_ids`` in quiet hours at ``now`` (one query)."""
    prefs = NotificationPreferences.objects.filter(owner_id__in=ids_in(set(owner_ids)), quiet_start__isnull=False)
    return {
        p.owner_id
        for p in prefs.only("owner_id", "quiet_start", "quiet_end", "timezone")
        if in_quiet_hours(start=p.quiet_start, end=p.quiet_end, tz=p.timezone, now=now)
    }
