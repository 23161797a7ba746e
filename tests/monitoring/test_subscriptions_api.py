"""Monitors through the subscriptions API: conditions checked against the tool's output, settings by field."""

from __future__ import annotations

from typing import Any

import pytest

from taskhub.monitoring.models import Monitor, MonitorKey
from tests.monitoring.helpers import SHANGHAI_92

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def _create(api: Any, **overrides: Any) -> Any:
    body = {
        "kind": "monitor",
        "title": "Shanghai 92 below 7",
        "tool": "fuel_price",
        "arguments": SHANGHAI_92,
        "condition": {"field": "price", "op": "lt", "value": 7},
        **overrides,
    }
    return api.post("/api/v1/subscriptions/", body, format="json")


def test_a_monitor_is_created_with_its_settings_and_watched_once_confirmed(alice, api_for) -> None:
    api = api_for(alice)
    created = _create(api, monitor={"interval_s": 120, "margin": 0.2, "cooldown_s": 600, "alert_once": True})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["monitor"] == {"interval_s": 120, "margin": 0.2, "cooldown_s": 600, "daily_cap": 0, "alert_once": True}
    row = Monitor.objects.get(pk=body["id"])
    assert (row.field, row.direction, row.threshold, row.active) == ("price", "lt", 7.0, False)
    assert api.post(f"/api/v1/subscriptions/{body['id']}/confirm/").status_code == 200
    key = MonitorKey.objects.get(pk=row.key)
    assert (key.monitors, key.interval_s, key.fields) == (1, 120, ["price"])

    patched = api.patch(f"/api/v1/subscriptions/{body['id']}/", {"monitor": {"daily_cap": 3}}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["monitor"]["daily_cap"] == 3
    assert patched.json()["monitor"]["interval_s"] == 120  # the rest kept
    assert api.post(f"/api/v1/subscriptions/{body['id']}/cancel/").status_code == 200
    assert MonitorKey.objects.get(pk=row.key).monitors == 0


def test_the_tool_call_key_is_the_gateways_with_defaults_filled(alice, api_for) -> None:
    from taskhub.core.canonical import call_key
    from tools import gateway

    created = _create(api_for(alice), arguments={"region": "Shanghai"}).json()  # grade defaults to 92
    tool, canonical = gateway.call_key("fuel_price", {"region": "Shanghai"})
    assert Monitor.objects.get(pk=created["id"]).key == call_key(
        tool, gateway.validate_arguments(tool, {"region": "Shanghai"})
    )
    assert created["arguments"] == {"region": "Shanghai", "grade": "92"}
    assert canonical == '{"grade":"92","region":"Shanghai"}'


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"condition": {"field": "cost", "op": "lt", "value": 7}}, "condition.field"),
        ({"condition": {"field": "price", "op": "below", "value": 7}}, "condition.op"),
        ({"condition": {"field": "price", "op": "lt", "value": "7"}}, "condition.value"),
        ({"condition": {"field": "price", "op": "lt"}}, "condition.value"),
        (
            {"condition": {"all": [{"field": "price", "op": "gt", "value": 1}, {"field": "x", "op": "changed"}]}},
            "condition.all.1.field",
        ),
        ({"condition": {"any": [{"any": [{"any": [{"field": "price", "op": "changed"}]}]}]}}, "condition.any.0.any.0"),
        ({"condition": {"field": "price", "op": "pct_drop", "value": 150}}, "condition.value"),
        ({"condition": None}, "condition"),
        ({"monitor": {"interval_s": 5}}, "monitor.interval_s"),
        ({"monitor": {"cooldown_s": -1}}, "monitor"),
        ({"monitor": {"margin": "wide"}}, "monitor"),
        ({"monitor": {"alert_once": "yes"}}, "monitor"),
    ],
)
def test_a_bad_condition_or_setting_is_400_naming_it_and_creates_nothing(alice, api_for, overrides, field) -> None:
    response = _create(api_for(alice), **overrides)
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Monitor.objects.exists()


def test_monitor_settings_are_refused_on_a_periodic_subscription(alice, api_for) -> None:
    body = {"kind": "periodic", "title": "t", "tool": "fuel_price", "arguments": SHANGHAI_92, "cron": "0 8 * * *"}
    response = api_for(alice).post("/api/v1/subscriptions/", {**body, "monitor": {"daily_cap": 1}}, format="json")
    assert response.status_code == 400
    assert "monitor" in response.json()["fields"]
