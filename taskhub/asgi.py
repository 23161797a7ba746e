"""The web process's ASGI app: Django, with TaskHub's MCP server at ``/mcp``.

Django's ASGI handler speaks only HTTP; the lifespan events go to the MCP app,
whose session manager must run for it to answer.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")
django_app = get_asgi_application()

from taskhub.mcp.server import http_app  # noqa: E402  (needs Django set up)

mcp_app = http_app()


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan" or (scope["type"] == "http" and scope["path"].rstrip("/") == "/mcp"):
        await mcp_app(scope, receive, send)
        return
    await django_app(scope, receive, send)
