"""``GET /api/v1/inbox/stream/``: the user's inbox live, as Server-Sent Events.

An async view (uvicorn serves it without holding a thread): it subscribes to the
user's Redis pub/sub feed, sends ``: connected`` once subscribed, one ``message``
event per new inbox message, and a ``: keep-alive`` comment every
``INBOX_STREAM_KEEPALIVE_S`` so proxies keep the connection open.
Authentication: a session, or ``Authorization: Token <key>``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from taskhub.channels.inbox import feed_channel
from taskhub.core.redis import get_async_redis

logger = logging.getLogger(__name__)


def _token_user(header: str) -> Any:
    """The user of an ``Authorization: Token <key>`` header, or None."""
    kind, _, key = header.partition(" ")
    if kind.lower() != "token" or not key.strip():
        return None
    try:
        user, _ = TokenAuthentication().authenticate_credentials(key.strip())
    except AuthenticationFailed:
        return None
    return user


async def _user(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if header:
        return await sync_to_async(_token_user)(header)
    user = await request.auser()
    return user if user.is_authenticated else None


async def _events(owner_id: int) -> AsyncIterator[bytes]:
    client = get_async_redis()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(feed_channel(owner_id))
    try:
        yield b": connected\n\n"
        while True:
            message = await pubsub.get_message(timeout=settings.INBOX_STREAM_KEEPALIVE_S)
            if message is None:
                yield b": keep-alive\n\n"
                continue
            data = message["data"]
            yield b"event: message\ndata: " + (data if isinstance(data, bytes) else data.encode()) + b"\n\n"
    finally:
        # the client went away (the generator is closed or cancelled): release the connection
        await pubsub.aclose()
        await client.aclose()


async def inbox_stream(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return JsonResponse({"error": "method not allowed", "fields": {}}, status=405)
    user = await _user(request)
    if user is None:
        return JsonResponse({"error": "authentication required", "fields": {}}, status=401)
    logger.info("inbox stream opened", extra={"owner_id": user.pk})
    response = StreamingHttpResponse(_events(user.pk), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
