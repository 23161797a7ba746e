"""Writes to channels."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from taskhub.channels.models import Channel, ChannelKind
from taskhub.core.errors import InvalidInput

INBOX_NAME = "inbox"


def inbox_channel_for(owner: AbstractBaseUser) -> Channel:
    """The user's inbox channel, created on first use: every user can always be reached."""
    channel, _ = Channel.objects.get_or_create(owner=owner, name=INBOX_NAME, defaults={"kind": ChannelKind.INBOX})
    return channel


def _check_name(owner: AbstractBaseUser, name: str, exclude_id: int | None = None) -> None:
    clash = Channel.objects.filter(owner=owner, name=name)
    if exclude_id:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise InvalidInput("name: already used", fields={"name": [f"you already have a channel named {name!r}"]})


@transaction.atomic
def channel_create(
    *, owner: AbstractBaseUser, kind: str, name: str, config: dict[str, Any] | None = None, enabled: bool = True
) -> Channel:
    _check_name(owner, name)
    return Channel.objects.create(owner=owner, kind=kind, name=name, config=config or {}, enabled=enabled)


@transaction.atomic
def channel_update(*, channel: Channel, **changes: Any) -> Channel:
    if "kind" in changes and changes["kind"] != channel.kind:
        raise InvalidInput("kind: cannot change", fields={"kind": ["create a new channel instead"]})
    if "name" in changes:
        _check_name(channel.owner, changes["name"], exclude_id=channel.pk)
    for name, value in changes.items():
        setattr(channel, name, value)
    if changes.get("enabled"):
        channel.consecutive_failures, channel.disabled_reason = 0, ""
    channel.save()
    return channel


def channel_delete(*, channel: Channel) -> None:
    channel.delete()
