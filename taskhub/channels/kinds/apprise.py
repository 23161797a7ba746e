"""Apprise: one URL per channel reaches Telegram, Slack, Discord, ntfy, DingTalk, Feishu, WeCom...

Apprise only answers success or failure, so a failure is temporary (retried with
back-off, and never counted towards disabling the channel); an URL Apprise cannot
parse is permanent. The ledger around it is ours: Apprise itself never dedupes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from django.conf import settings

from taskhub.channels.kinds.base import ChannelError, Envelope, PushChannel, Result
from taskhub.channels.netguard import BlockedURL, vet
from taskhub.core.errors import ErrorKind, InvalidInput

with warnings.catch_warnings():
    # apprise imports the deprecated imghdr module
    warnings.simplefilter("ignore", DeprecationWarning)
    import apprise


class AppriseChannel(PushChannel):
    kind = "apprise"

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        url = self.require_str(config, "url")
        if not apprise.Apprise().add(url):
            raise InvalidInput("config.url: not an Apprise URL", fields={"config.url": ["Apprise cannot use this URL"]})
        try:
            _vet_custom_host(url)
        except BlockedURL as exc:
            raise InvalidInput.at("config.url", exc.message) from None
        return {"url": url}

    def deliver(self, envelopes: Sequence[Envelope]) -> list[Result]:
        return [self._send(envelope) for envelope in envelopes]

    def _send(self, envelope: Envelope) -> Result:
        try:
            _vet_custom_host(envelope.channel.config.get("url", ""))
        except BlockedURL as exc:
            return Result(error=ChannelError(exc.message, kind=exc.kind))
        client = apprise.Apprise()
        if not client.add(envelope.channel.config.get("url", "")):
            return Result(error=ChannelError("not an Apprise URL", kind=ErrorKind.PERMANENT))
        message = envelope.message
        outcome = client.notify(
            body=message.body or message.title,
            title=message.title,
            notify_type=apprise.NotifyType.WARNING if message.urgent else apprise.NotifyType.INFO,
            timeout=settings.APPRISE_TIMEOUT_S,
        )
        if outcome:
            return Result(summary="notified")
        return Result(error=ChannelError("apprise reported a failure", kind=ErrorKind.TEMPORARY))


def _vet_custom_host(url: str) -> None:
    """Refuse an Apprise URL whose host the user chose and that is not public (SSRF).

    Services at a fixed address (Telegram, Discord, Slack...) carry a ``notify_url``
    on their plugin class; self-hosted targets (json://, xml://, gotify://, ntfy
    on a host...) do not, and their host is vetted like a webhook's. Apprise then
    resolves the name itself, so this does not pin the address against DNS
    rebinding as the webhook channel does.
    """
    plugin = apprise.Apprise.instantiate(url)
    host = getattr(plugin, "host", "") if plugin else ""
    if plugin is None or not host or getattr(type(plugin), "notify_url", None):
        return
    port = getattr(plugin, "port", None)
    vet(f"http://{host}:{port}/" if port else f"http://{host}/")
