"""Bearer tokens for the MCP server: the user's REST API token (DRF authtoken), nothing new to manage.

``Authorization: Bearer <token>`` names the user; every tool then acts as that
user exactly as the REST API would. An unknown token, or one of an inactive
user, is refused by the SDK's bearer middleware with a 401.
"""

from __future__ import annotations

import anyio.to_thread
from django.db import close_old_connections
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from rest_framework.authtoken.models import Token

from taskhub.core.errors import PermanentError

SCOPE = "subscriptions"


def _user_id_for(key: str) -> int | None:
    close_old_connections()
    try:
        return Token.objects.filter(key=key, user__is_active=True).values_list("user_id", flat=True).first()
    finally:
        close_old_connections()


class UserTokenVerifier:
    """``mcp.server.auth.provider.TokenVerifier`` over DRF tokens; ``client_id`` carries the user id."""

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token or len(token) > 64:
            return None
        user_id = await anyio.to_thread.run_sync(_user_id_for, token)
        if user_id is None:
            return None
        return AccessToken(token=token, client_id=str(user_id), scopes=[SCOPE], subject=str(user_id))


def current_user_id() -> int:
    """The id of the user whose token authenticated this request (the middleware guarantees one)."""
    access = get_access_token()
    if access is None:  # only reachable if the server were mounted without its auth middleware
        raise PermanentError("not authenticated")
    return int(access.client_id)
