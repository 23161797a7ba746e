"""Every tool server in one ASGI app: ``/weather/mcp``, ``/fuel/mcp``, ``/reminder/mcp``.

``make run`` and the Docker ``tools`` role serve this on port 8100:
``uvicorn tools.servers.app:app --port 8100``. Each server keeps its own fault
switch. To add a server, add its module to ``SERVERS``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from mcp.server import MCPServer
from starlette.applications import Starlette
from starlette.routing import Mount

from tools.servers import base, config, fuel, reminder, weather
from tools.servers.faults import FaultMiddleware

SERVERS: tuple[MCPServer, ...] = (weather.server, fuel.server, reminder.server)


def build(host: str = config.HOST) -> Starlette:
    """The combined app; mounted apps do not run their own lifespans, so ours runs their session managers."""
    routes = [Mount(f"/{s.name}", app=FaultMiddleware(base.http_app(s, host=host), s.name)) for s in SERVERS]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for s in SERVERS:
                await stack.enter_async_context(s.session_manager.run())
            yield

    return Starlette(routes=routes, lifespan=lifespan)


app = build()
