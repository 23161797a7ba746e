"""TaskHub's MCP server, served by the real web ASGI app in its own process, used with the SDK's client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from rest_framework.authtoken.models import Token

from taskhub.executions.models import Execution
from taskhub.subscriptions.models import Subscription
from tests.factories import active_periodic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tools_registry")]


@pytest.fixture(scope="module")
def web_url(django_db_setup, tool_servers_url):  # type: ignore[no-untyped-def]
    """``uvicorn taskhub.asgi:application`` on the test database: Django plus the MCP server at /mcp."""
    from tests.processes import asgi_server, process_env

    with asgi_server("taskhub.asgi:application", env=process_env()) as url:
        yield url


def _token(user: Any) -> str:
    return Token.objects.get_or_create(user=user)[0].key


async def _session(url: str, token: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=10) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), cache=None) as client,
    ):
        return [await client.call_tool(name, args) for name, args in calls]


def call(url: str, token: str, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    return asyncio.run(_session(url, token, list(calls)))


def test_a_user_lists_creates_and_confirms_their_own_subscriptions(web_url, alice) -> None:
    mine = active_periodic(alice)
    listed, created = call(
        web_url,
        _token(alice),
        ("list_subscriptions", {}),
        (
            "create_subscription",
            {
                "kind": "periodic",
                "title": "Shanghai weather",
                "tool": "current_weather",
                "arguments": {"city": "Shanghai"},
                "cron": "30 7 * * 1-5",
                "timezone": "Asia/Shanghai",
            },
        ),
    )
    assert [s["id"] for s in listed.structured_content["subscriptions"]] == [mine.pk]
    assert not created.is_error, created.content
    new_id = created.structured_content["id"]
    assert created.structured_content["status"] == "draft"
    confirmed, paused = call(
        web_url, _token(alice), ("confirm", {"subscription_id": new_id}), ("pause", {"subscription_id": mine.pk})
    )
    assert confirmed.structured_content["status"] == "active"
    assert paused.structured_content["status"] == "paused"
    assert Subscription.objects.get(pk=new_id).created_from == "mcp"


def test_user_a_cannot_list_pause_or_cancel_user_bs_subscriptions(web_url, alice, bob) -> None:
    theirs = active_periodic(bob)
    Execution.objects.create(subscription=theirs, fire_key="theirs")
    own_run = Execution.objects.create(subscription=active_periodic(alice), fire_key="mine")
    listed, paused, cancelled, runs, all_runs = call(
        web_url,
        _token(alice),
        ("list_subscriptions", {}),
        ("pause", {"subscription_id": theirs.pk}),
        ("cancel", {"subscription_id": theirs.pk}),
        ("recent_executions", {"subscription_id": theirs.pk}),
        ("recent_executions", {}),
    )
    assert [s["id"] for s in listed.structured_content["subscriptions"]] == [own_run.subscription_id]
    assert [e["id"] for e in all_runs.structured_content["executions"]] == [own_run.pk]
    assert paused.is_error
    assert "not found" in paused.content[0].text
    assert cancelled.is_error
    assert "not found" in cancelled.content[0].text
    assert runs.structured_content["executions"] == []
    assert Subscription.objects.get(pk=theirs.pk).status == "active"


def test_a_bad_or_missing_token_is_refused(web_url, alice) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    accept = {"accept": "application/json, text/event-stream"}
    for auth in ({"Authorization": "Bearer not-a-token"}, {"Authorization": f"Token {_token(alice)}"}, {}):
        response = httpx2.post(f"{web_url}/mcp", json=initialize, headers={**accept, **auth}, timeout=10)
        assert response.status_code == 401, auth
    with pytest.raises(ExceptionGroup, match="TaskGroup"):  # the SDK client gives up on the 401
        call(web_url, "not-a-token", ("list_subscriptions", {}))


def test_invalid_arguments_are_a_tool_error_naming_the_field(web_url, alice) -> None:
    (result,) = call(
        web_url,
        _token(alice),
        (
            "create_subscription",
            {
                "kind": "periodic",
                "title": "x",
                "tool": "current_weather",
                "arguments": {"city": "Beijing"},
                "cron": "* * * * *",
            },
        ),
    )
    assert result.is_error
    assert "cron" in result.content[0].text
    assert Subscription.objects.count() == 0
