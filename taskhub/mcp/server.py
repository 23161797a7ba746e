"""The ``taskhub`` MCP server: a user's subscriptions as tools, doing nothing the REST API would not.

Tools: ``create_subscription`` (a draft, as ``POST /subscriptions/``), ``confirm``,
``pause``, ``resume``, ``cancel``, ``list_subscriptions``, ``recent_executions``.
Each runs the same services and selectors as the REST API, scoped to the
token's user: another user's subscription is "not found". Failures raise tool
errors (``isError`` results), never error strings in a success.

Served by the web process at ``/mcp`` (``taskhub/asgi.py``), stateless
streamable HTTP with JSON responses, so any web worker can answer any request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.applications import Starlette

from taskhub.channels.selectors import user_timezone
from taskhub.core.errors import TaskHubError
from taskhub.mcp.auth import SCOPE, UserTokenVerifier, current_user_id
from taskhub.mcp.views import ExecutionList, SubscriptionList, SubscriptionOut, execution_list, subscription_out
from taskhub.subscriptions import selectors, services
from taskhub.subscriptions.models import Origin

T = TypeVar("T")
SubscriptionId = Annotated[int, Field(ge=1, description="id of one of your subscriptions")]

server = MCPServer(
    "taskhub",
    instructions=(
        "Manage the authenticated user's TaskHub subscriptions: create drafts, confirm, pause, resume, "
        "cancel, list them and read their recent executions."
    ),
    token_verifier=UserTokenVerifier(),
    # Resource-server mode with a static token: no OAuth endpoints are served.
    auth=AuthSettings(issuer_url="http://localhost", resource_server_url=None, required_scopes=[SCOPE]),
)


async def _as_user(work: Callable[[Any], T]) -> T:
    """Run ``work(user)`` in a worker thread (the ORM is synchronous); our errors become tool errors."""
    user_id = current_user_id()

    def run() -> T:
        close_old_connections()
        try:
            user = get_user_model().objects.get(pk=user_id, is_active=True)
            return work(user)
        except TaskHubError as exc:
            detail = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.fields.items())
            raise ToolError(f"{exc.message} ({detail})" if detail else exc.message) from None
        finally:
            close_old_connections()

    return await anyio.to_thread.run_sync(run)


@server.tool()
async def create_subscription(
    kind: Literal["periodic", "monitor", "once"],
    title: Annotated[str, Field(min_length=1, max_length=200)],
    tool: Annotated[str, Field(min_length=1, max_length=100, description="a registered tool, e.g. current_weather")],
    arguments: dict[str, Any],
    cron: Annotated[str | None, Field(description="periodic: 5-field cron in `timezone`")] = None,
    timezone: Annotated[str | None, Field(description="IANA zone; default: the user's preference")] = None,
    run_at: Annotated[datetime | None, Field(description="once: when, ISO 8601 with offset")] = None,
    condition: Annotated[
        dict[str, Any] | None, Field(description='monitor: {"field","op","value"} / all / any')
    ] = None,
) -> SubscriptionOut:
    """Create a DRAFT subscription (nothing runs until `confirm`)."""

    def work(user: Any) -> SubscriptionOut:
        spec = services.SubscriptionSpec(
            title=title, tool=tool, arguments=arguments, timezone=timezone or user_timezone(user)
        )
        for name, value in (("cron", cron), ("run_at", run_at), ("condition", condition)):
            if value is not None:
                setattr(spec, name, value)
        sub = services.subscription_create(owner=user, kind=kind, spec=spec, origin=Origin.MCP)
        return subscription_out(sub)

    return await _as_user(work)


def _transition_tool(action: str, description: str) -> None:
    """Register tool ``action``: one lifecycle transition of one of the user's subscriptions."""

    async def transition(subscription_id: SubscriptionId) -> SubscriptionOut:
        def work(user: Any) -> SubscriptionOut:
            sub = services.subscription_transition(subscription_id=subscription_id, action=action, owner=user)
            return subscription_out(sub)

        return await _as_user(work)

    server.tool(name=action, description=description)(transition)


for _action, _description in (
    ("confirm", "Activate a draft: it starts running on its schedule."),
    ("pause", "Pause an active subscription."),
    ("resume", "Resume a paused or suspended subscription."),
    ("cancel", "Cancel a subscription for good."),
):
    _transition_tool(_action, _description)


@server.tool()
async def list_subscriptions(
    status: Literal["draft", "active", "paused", "suspended", "completed", "cancelled"] | None = None,
    kind: Literal["periodic", "monitor", "once"] | None = None,
    limit: Annotated[int, Field(ge=1, le=500)] = 50,
) -> SubscriptionList:
    """Your subscriptions, newest first."""

    def work(user: Any) -> SubscriptionList:
        subs = selectors.subscriptions_of(user, status=status, kind=kind)[:limit]
        return SubscriptionList(subscriptions=[subscription_out(s) for s in subs])

    return await _as_user(work)


@server.tool()
async def recent_executions(
    subscription_id: Annotated[int | None, Field(ge=1, description="only this subscription's")] = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 20,
) -> ExecutionList:
    """Your most recent executions (runs), newest first."""
    return await _as_user(lambda user: execution_list(user, subscription_id=subscription_id, limit=limit))


def http_app() -> Starlette:
    """The streamable-HTTP app at ``/mcp`` (stateless, JSON); Host checked against ``ALLOWED_HOSTS``."""
    hosts = list(settings.ALLOWED_HOSTS)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection="*" not in hosts,
        allowed_hosts=[*hosts, *(f"{h}:*" for h in hosts)],
        allowed_origins=[f"{scheme}://{h}{port}" for h in hosts for scheme in ("http", "https") for port in ("", ":*")],
    )
    return server.streamable_http_app(
        streamable_http_path="/mcp", json_response=True, stateless_http=True, transport_security=security
    )
