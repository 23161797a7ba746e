"""Webhook: a JSON POST signed per Standard Webhooks (``webhook-id/-timestamp/-signature``).

``webhook-id`` is the delivery's idempotency key, the same on every retry, so a receiver
that dedupes on it sees each push once; that is why the ledger may re-send a webhook
whose delivery was left in ``sending`` by a crash (``dedupes = True``).

Outcomes: 2xx success; 410 disables the channel; 429 and 5xx temporary; any other
status permanent; connection errors and timeouts transient; a refused URL (SSRF
guard) permanent.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from standardwebhooks.webhooks import Webhook

from taskhub.channels import netguard
from taskhub.channels.kinds.base import ChannelError, ChannelGone, Envelope, PushChannel, Result
from taskhub.core.errors import ErrorKind, InvalidInput

logger = logging.getLogger(__name__)


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form ``whsec_<base64 of 24 random bytes>``."""

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def payload_for(envelope: Envelope, sent_at: datetime) -> str:
    message = envelope.message
    return json.dumps(
        {
            "type": "taskhub.push",
            "timestamp": sent_at.isoformat(),
            "data": {
                "execution_id": message.execution_id,
                "subscription_id": message.subscription_id,
                "fire_key": message.fire_key,
                "channel_id": message.channel_id,
                "title": message.title,
                "body": message.body,
                "urgent": message.urgent,
                "data": message.data,
            },
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def classify(status: int) -> ChannelError | None:
    """The error an HTTP status means for a webhook, or None for success."""
    summary = f"HTTP {status}"
    if 200 <= status < 300:
        return None
    if status == 410:
        return ChannelGone("receiver answered 410 Gone", summary=summary)
    if status in (301, 302, 303):
        message = f"receiver redirected ({status}); a webhook follows only 307/308: update the channel's URL"
        return ChannelError(message, kind=ErrorKind.PERMANENT, summary=summary)
    if status == 429 or status >= 500:
        return ChannelError(f"receiver answered {status}", kind=ErrorKind.TEMPORARY, summary=summary)
    return ChannelError(f"receiver answered {status}", kind=ErrorKind.PERMANENT, summary=summary)


class WebhookChannel(PushChannel):
    kind = "webhook"
    dedupes = True

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        url = self.require_str(config, "url")
        try:
            netguard.check_syntax(url)
        except netguard.BlockedURL as exc:
            raise InvalidInput.at("config.url", exc.message) from None
        return {"url": url}

    def deliver(self, envelopes: Sequence[Envelope]) -> list[Result]:
        client = netguard.PinnedClient(timeout_s=settings.WEBHOOK_TIMEOUT_S)
        try:
            workers = max(1, min(settings.WEBHOOK_CONCURRENCY, len(envelopes)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
                return list(pool.map(lambda envelope: self._send(client, envelope), envelopes))
        finally:
            client.close()

    def _send(self, client: netguard.PinnedClient, envelope: Envelope) -> Result:
        now = datetime.now(tz=UTC)
        body = payload_for(envelope, now)
        secret = envelope.channel.secret
        if not secret:
            return Result(error=ChannelError("channel has no signing secret", kind=ErrorKind.PERMANENT))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "TaskHub-Webhooks/1",
            "webhook-id": envelope.key,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(envelope.key, now, body),
        }
        try:
            response, _ = client.post(envelope.channel.config.get("url", ""), body=body.encode(), headers=headers)
        except netguard.BlockedURL as exc:
            return Result(error=ChannelError(exc.message, kind=exc.kind, summary="refused: " + exc.message))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Result(error=ChannelError(f"connection failed: {exc}", kind=ErrorKind.TRANSIENT))
        return Result(summary=f"HTTP {response.status}", error=classify(response.status))
