"""Push channel kinds: one module each, found through ``settings.CHANNEL_BACKENDS``."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from taskhub.channels.kinds.base import ChannelError, ChannelGone, Envelope, PushChannel, Result
from taskhub.core.errors import InvalidInput

__all__ = ["ChannelError", "ChannelGone", "Envelope", "PushChannel", "Result", "backend_for", "is_enabled"]


@cache
def _load(path: str) -> PushChannel:
    return import_string(path)()


def is_enabled(kind: str) -> bool:
    """Whether the operator switched this kind on (``CHANNELS_ENABLED``) and it has a backend."""
    return kind in settings.CHANNELS_ENABLED and kind in settings.CHANNEL_BACKENDS


def backend_for(kind: str) -> PushChannel:
    """The channel implementation of ``kind``; ``InvalidInput`` naming ``kind`` when switched off."""
    if not is_enabled(kind):
        raise InvalidInput(f"kind: {kind!r} is not enabled", fields={"kind": [f"channel kind {kind!r} is not enabled"]})
    return _load(settings.CHANNEL_BACKENDS[kind])
