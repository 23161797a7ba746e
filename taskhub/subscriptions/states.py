"""The subscription lifecycle: statuses and the one table of allowed transitions."""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    SUSPENDED = "suspended"  # after repeated permanent failures; the user can resume
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Action(models.TextChoices):
    CONFIRM = "confirm"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    COMPLETE = "complete"
    SUSPEND = "suspend"


# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.CONFIRM: (frozenset({Status.DRAFT}), Status.ACTIVE),
    Action.PAUSE: (frozenset({Status.ACTIVE}), Status.PAUSED),
    Action.RESUME: (frozenset({Status.PAUSED, Status.SUSPENDED}), Status.ACTIVE),
    Action.CANCEL: (frozenset({Status.DRAFT, Status.ACTIVE, Status.PAUSED, Status.SUSPENDED}), Status.CANCELLED),
    Action.COMPLETE: (frozenset({Status.ACTIVE}), Status.COMPLETED),
    Action.SUSPEND: (frozenset({Status.ACTIVE}), Status.SUSPENDED),
}

# Statuses in which a subscription may still be edited.
EDITABLE = frozenset({Status.DRAFT, Status.ACTIVE, Status.PAUSED, Status.SUSPENDED})
