"""The ``reminder`` MCP server: the tool behind one-off reminders ("remind me to call mom at 3pm").

Tool ``reminder(text)``: returns the text to push (1 to 500 characters) and when
the tool was asked. A one-off reminder is a ``kind="once"`` subscription with
tool ``reminder``; the task agent calls it at ``run_at`` and pushes ``text``.
There is nothing to fetch: the tool exists so reminders travel the same path
(gateway, template, channels, ledger) as every other subscription.

Run alone: ``python -m tools.servers.reminder --port N`` (``/mcp``), or ``--transport stdio``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from mcp.server import MCPServer
from pydantic import BaseModel, Field

server = MCPServer("reminder", instructions="One-off reminders: echoes the text to push.")


class Reminder(BaseModel):
    text: str = Field(description="What to remind the user of")
    created: str = Field(description="When the tool was asked (UTC, ISO 8601)")


@server.tool()
async def reminder(
    text: Annotated[str, Field(min_length=1, max_length=500, description="What to remind the user of")],
) -> Reminder:
    """The reminder's text, to push to the user as it is."""
    return Reminder(text=text, created=datetime.now(UTC).isoformat(timespec="seconds"))


if __name__ == "__main__":
    from tools.servers.base import main

    main(server)
