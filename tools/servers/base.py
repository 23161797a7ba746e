"""Running an MCP server on its own: the command line shared by every server module.

``python -m tools.servers.<name> [--transport streamable-http|stdio] [--host H] [--port N]``
serves one server. Over HTTP the endpoint is ``http://H:N/mcp`` and the fault
switch (``tools.servers.faults``) sits in front of it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn
from mcp.server import MCPServer
from starlette.applications import Starlette

from tools.servers import config
from tools.servers.faults import FaultMiddleware

MCP_PATH = "/mcp"


def http_app(server: MCPServer, *, host: str = config.HOST) -> Starlette:
    """The streamable-HTTP app of ``server`` (JSON responses, ``/mcp``), without the fault switch.

    ``host`` matters: on a loopback host the SDK turns on DNS-rebinding protection.
    """
    return server.streamable_http_app(streamable_http_path=MCP_PATH, json_response=True, host=host)


def main(server: MCPServer, argv: Sequence[str] | None = None) -> None:
    """Serve ``server`` as the command line asks."""
    parser = argparse.ArgumentParser(prog=f"python -m tools.servers.{server.name}")
    parser.add_argument("--transport", choices=("streamable-http", "stdio"), default="streamable-http")
    parser.add_argument("--host", default=config.HOST)
    parser.add_argument("--port", type=int, default=config.PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.transport == "stdio":
        server.run("stdio")
        return
    app = FaultMiddleware(http_app(server, host=args.host), server.name)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
