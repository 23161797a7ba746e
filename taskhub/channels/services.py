"""Writes to channels."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from taskhub.channels import kinds
from taskhub.channels.kinds.webhook import new_secret
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
    """A new channel with its config validated by its kind; a webhook gets a fresh signing secret."""
    _check_name(owner, name)
    config = kinds.backend_for(kind).validate_config(config or {})
    secret = new_secret() if kind == ChannelKind.WEBHOOK else ""
    return Channel.objects.create(owner=owner, kind=kind, name=name, config=config, enabled=enabled, secret=secret)


@transaction.atomic
def channel_update(*, channel: Channel, **changes: Any) -> Channel:
    if "kind" in changes and changes["kind"] != channel.kind:
        raise InvalidInput("kind: cannot change", fields={"kind": ["create a new channel instead"]})
    if "name" in changes:
        _check_name(channel.owner, changes["name"], exclude_id=channel.pk)
    if "config" in changes:
        changes["config"] = kinds.backend_for(channel.kind).validate_config(changes["config"] or {})
    for name, value in changes.items():
        setattr(channel, name, value)
    if changes.get("enabled"):
        channel.consecutive_failures, channel.disabled_reason = 0, ""
    channel.save()
    return channel


def channel_delete(*, channel: Channel) -> None:
    channel.delete()


def channel_rotate_secret(*, channel: Channel) -> str:
    """Replace a webhook's signing secret; the new one is returned once and never shown again."""
    if channel.kind != ChannelKind.WEBHOOK:
        raise InvalidInput("kind: only webhooks have a secret", fields={"kind": ["only webhook channels are signed"]})
    channel.secret = new_secret()
    channel.save(update_fields=["secret", "updated_at"])
    return channel.secret
