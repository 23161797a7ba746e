"""The fuel tool through the real gateway against a real tool-server process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.processes import OFFLINE_FUEL_DATE, ROOT
from tools import gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def fuel_server(servers_url, register):  # type: ignore[no-untyped-def]
    register("fuel", f"{servers_url}/fuel/mcp")


def test_the_offline_series_is_read_on_the_pinned_day_whatever_today_is(fuel_server) -> None:
    answer = gateway.call("fuel_price", {"region": "上海", "grade": "92"}).data
    assert (answer["date"], answer["price"], answer["source"]) == (OFFLINE_FUEL_DATE, 7.95, "offline")
    assert answer["last_adjusted"] <= OFFLINE_FUEL_DATE < answer["next_adjustment"]


def test_a_malformed_fuel_date_stops_the_tool_server_naming_the_variable() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import tools.servers.config"],
        cwd=ROOT,
        env={"TOOLS_FUEL_DATE": "25/11/2026", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "TOOLS_FUEL_DATE must be a date like 2026-11-25, not '25/11/2026'" in proc.stderr
