"""REST endpoints, the fuel override seen by the real server, pre-heat, register_tools."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

import tools.gateway as gateway
from agents.worker.gateway_tasks import preheat
from tools.gateway import services
from tools.gateway.models import ToolServer
from tools.gateway.signals import tool_results_changed
from tools.servers import faults

pytestmark = [pytest.mark.django_db, pytest.mark.processes]


@pytest.fixture
def servers(servers_url, register):
    register("weather", f"{servers_url}/weather/mcp")
    register("fuel", f"{servers_url}/fuel/mcp", cache_ttl_s=0)


def _client(*, staff: bool) -> APIClient:
    user = User.objects.create_user(username=f"u{staff}", password="x", is_staff=staff)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_any_user_lists_tools_with_schemas_but_only_staff_registers_servers(
    servers, django_capture_on_commit_callbacks
):
    member = _client(staff=False)
    listing = member.get("/api/v1/tools/")
    assert listing.status_code == 200
    by_name = {t["name"]: t for t in listing.json()}
    assert by_name["fuel_price"]["input_schema"]["required"] == ["region"]
    assert by_name["fuel_price"]["output_schema"]["properties"]["price"]["type"] == "number"
    body = {"name": "extra", "url": "http://127.0.0.1:9/mcp"}
    assert member.post("/api/v1/tools/servers/", body, format="json").status_code == 403
    assert APIClient().get("/api/v1/tools/").status_code in (401, 403)
    with django_capture_on_commit_callbacks(execute=True):
        created = _client(staff=True).post("/api/v1/tools/servers/", body, format="json")
    assert created.status_code == 201
    assert ToolServer.objects.get(name="extra").breaker_fail_max == 5


def test_staff_fuel_override_makes_the_server_report_a_price_drop(servers) -> None:
    before = gateway.call("fuel_price", {"region": "上海市"}).data
    staff = _client(staff=True)
    response = staff.post(
        "/api/v1/tools/fuel-overrides/", {"region": "Shanghai", "grade": "92", "price": 6.5}, format="json"
    )
    assert response.status_code == 201
    after = gateway.call("fuel_price", {"region": "上海"}).data
    assert after["price"] == 6.5 < before["price"]
    assert after["source"] == "override"
    assert _client(staff=False).get("/api/v1/tools/fuel-overrides/").status_code == 403
    assert staff.delete("/api/v1/tools/fuel-overrides/?region=SH&grade=92").status_code == 204
    assert gateway.call("fuel_price", {"region": "上海"}).data["price"] == before["price"]
    bad = staff.post("/api/v1/tools/fuel-overrides/", {"region": "Atlantis", "grade": "92", "price": 6}, format="json")
    assert bad.status_code == 404


def test_preheat_task_fetches_distinct_pairs_into_the_cache(servers) -> None:
    counts = preheat.run([["current_weather", {"city": "Beijing"}]] * 3 + [["current_weather", {"city": "Xi'an"}]])
    assert counts == {"fresh": 2, "cached": 0, "stale": 0, "failed": 0}
    assert gateway.call("current_weather", {"city": "Beijing"}).status == "cached"
    assert faults.call_count("weather") == 2


def test_register_tools_is_idempotent_and_keeps_operator_edits(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("register_tools", base_url="http://127.0.0.1:8100")
    ToolServer.objects.filter(name="fuel").update(enabled=False)
    call_command("register_tools", base_url="http://127.0.0.1:8100")
    assert ToolServer.objects.count() == 3  # weather, fuel, reminder
    assert ToolServer.objects.get(name="weather").url == "http://127.0.0.1:8100/weather/mcp"
    assert not ToolServer.objects.get(name="fuel").enabled


def test_a_fuel_override_announces_which_calls_changed_through_tool_results_changed() -> None:
    heard = []

    def receiver(sender: object, *, tool: str, where, **_: object) -> None:  # type: ignore[no-untyped-def]
        heard.append((tool, where))

    tool_results_changed.connect(receiver)
    try:
        services.fuel_override_set(region="上海", grade="92", price=6.9)
        services.fuel_override_clear(region="Beijing")
    finally:
        tool_results_changed.disconnect(receiver)
    [(tool, in_shanghai), (_, in_beijing)] = heard
    assert tool == "fuel_price"
    regions = ("Shanghai", "上海", "Beijing", "Atlantis")
    assert [in_shanghai({"region": region, "grade": "92"}) for region in regions] == [True, True, False, False]
    assert in_beijing({"region": "北京"})
