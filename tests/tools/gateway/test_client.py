"""The call pipeline against real tool-server processes over streamable HTTP."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

import tools.gateway as gateway
from taskhub.core.errors import InvalidInput, PermanentError, TemporaryError, TransientError
from tests.processes import free_port, python_module
from tools.gateway import breaker, registry
from tools.gateway.sessions import pool
from tools.geo import PLACES, find_place
from tools.servers import faults
from tools.servers.providers import weather as offline

pytestmark = [pytest.mark.django_db, pytest.mark.processes]


@pytest.fixture
def weather(servers_url, register):
    return register("weather", f"{servers_url}/weather/mcp", timeout_s=2, breaker_reset_s=1)


def test_current_weather_returns_the_offline_models_values_fresh(weather) -> None:
    result = gateway.call("current_weather", {"city": "北京市"})
    assert result.status == "fresh"
    assert result.server == "weather"
    assert result.data["location"]["city"] == "Beijing"
    local = datetime.fromisoformat(result.data["observed_at"])
    expected = offline.offline_hourly(find_place("Beijing"), local.date(), local.hour)
    assert result.data["temperature_c"] == expected.temperature_c
    assert result.data["condition"] == expected.condition
    assert (datetime.now(UTC) - result.fetched_at).total_seconds() < 5


def test_invalid_arguments_are_rejected_naming_the_field_before_any_call(weather) -> None:
    with pytest.raises(InvalidInput) as bad_type:
        gateway.call("weather_forecast", {"city": "Beijing", "days": 30})
    assert "days" in bad_type.value.fields
    with pytest.raises(InvalidInput) as missing:
        gateway.validate_arguments("current_weather", {})
    assert "city" in missing.value.fields
    assert faults.call_count("weather") == 0


def test_an_argument_the_tool_does_not_declare_is_refused_naming_it(weather) -> None:
    with pytest.raises(InvalidInput) as extra:
        gateway.validate_arguments("current_weather", {"city": "Paris", "webhook": "http://x/"})
    assert set(extra.value.fields) == {"webhook"}
    assert faults.call_count("weather") == 0


def test_unknown_tool_is_permanent_and_unknown_city_is_invalid_input(weather) -> None:
    with pytest.raises(PermanentError):
        gateway.call("no_such_tool", {})
    with pytest.raises(InvalidInput, match="unknown city"):
        gateway.call("current_weather", {"city": "Atlantis"})


def test_validate_arguments_fills_schema_defaults(weather) -> None:
    assert gateway.validate_arguments("weather_forecast", {"city": "Paris"}) == {"city": "Paris", "days": 3}
    assert gateway.call_key("weather_forecast", {"city": "Paris"}) == gateway.call_key(
        "weather_forecast", {"days": 3, "city": "Paris"}
    )


def test_known_tools_lists_schemas_of_every_enabled_server(weather) -> None:
    tools = gateway.known_tools()
    assert {"current_weather", "weather_forecast"} <= set(tools)
    assert tools["current_weather"].input_schema["required"] == ["city"]
    assert "temperature_c" in tools["current_weather"].output_schema["properties"]


def test_repeated_call_is_cached_in_process_then_in_redis(weather) -> None:
    assert gateway.call("current_weather", {"city": "Shanghai"}).status == "fresh"
    assert gateway.call("current_weather", {"city": "Shanghai"}).status == "cached"
    gateway.reset_process_state()  # another process would only have Redis
    assert gateway.call("current_weather", {"city": "Shanghai"}).status == "cached"
    assert faults.call_count("weather") == 1
    assert gateway.call("current_weather", {"city": "Shanghai"}, max_age_s=0).status == "fresh"
    assert faults.call_count("weather") == 2


def test_call_many_calls_each_distinct_pair_once(weather) -> None:
    cities = [p.name for p in PLACES[:100]]
    requests = [("current_weather", {"city": cities[i % 100]}) for i in range(10_000)]
    started = time.monotonic()
    results = gateway.call_many(requests)
    assert len(results) == 100
    assert all(r.status == "fresh" for r in results.values())
    assert faults.call_count("weather") == 100
    assert time.monotonic() - started < 30


def test_an_answer_fetched_since_the_tick_is_served_past_its_ttl_once_per_tick(servers_url, register) -> None:
    register("weather", f"{servers_url}/weather/mcp", cache_ttl_s=1)
    tick = datetime.now(UTC)
    requests = [("current_weather", {"city": "Shanghai"})]
    assert next(iter(gateway.call_many(requests, fetched_since=tick).values())).status == "fresh"
    time.sleep(1.5)  # the cached copy is past its TTL: a plain call fetches again
    gateway.reset_process_state()
    later = next(iter(gateway.call_many(requests, fetched_since=tick).values()))
    assert later.status == "cached"
    assert faults.call_count("weather") == 1
    # The next tick needs its own answer.
    assert next(iter(gateway.call_many(requests, fetched_since=datetime.now(UTC)).values())).status == "fresh"
    assert faults.call_count("weather") == 2


def test_call_many_reports_bad_requests_without_failing_the_others(weather) -> None:
    results = gateway.call_many([("current_weather", {"city": "Paris"}), ("current_weather", {"town": "x"})])
    errors = [r for r in results.values() if isinstance(r, InvalidInput)]
    assert len(errors) == 1
    assert gateway.call_key("current_weather", {"city": "Paris"}) in results


@pytest.mark.parametrize(
    ("mode", "error"), [("transient", TransientError), ("temporary", TemporaryError), ("permanent", InvalidInput)]
)
def test_server_faults_are_classified_and_the_session_recovers(weather, mode, error) -> None:
    gateway.call("current_weather", {"city": "Tokyo"}, max_age_s=0)
    faults.set_fault("weather", mode, calls=1)
    with pytest.raises(error):
        gateway.call("current_weather", {"city": "Tokyo"}, max_age_s=0)
    assert gateway.call("current_weather", {"city": "Tokyo"}, max_age_s=0).status == "fresh"


def test_session_is_long_lived_across_calls(weather) -> None:
    gateway.call("current_weather", {"city": "Rome"})
    session = pool().client(registry.current().servers["weather"])
    gateway.call("current_weather", {"city": "Lima"})
    assert pool().client(registry.current().servers["weather"]) is session


def _second_process_call(city: str) -> dict:
    args = ["call", "current_weather", json.dumps({"city": city}), "default", "0", "0"]
    with python_module("tests.tools.gateway.gateway_proc", *args) as proc:
        out, _ = proc.communicate(timeout=60)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_breaker_opens_after_5_failures_serves_stale_shared_across_processes_and_closes(servers_url) -> None:
    from tools.gateway import services
    from tools.gateway.models import ToolServer

    services.tool_server_save(
        # pybreaker's Redis storage keeps whole seconds: a 10 s reset half-opens after 9-10 s, which
        # leaves room for the second process (a Django start-up: ~1.5 s, over 3 s on a slow machine)
        # to see the circuit still open.
        server=ToolServer(name="weather", url=f"{servers_url}/weather/mcp", timeout_s=2, breaker_reset_s=10)
    )
    args = {"city": "Berlin"}
    assert gateway.call("current_weather", args).status == "fresh"
    faults.set_fault("weather", "temporary")
    for _ in range(4):
        with pytest.raises(TemporaryError):
            gateway.call("current_weather", args, max_age_s=0)
    tripped = gateway.call("current_weather", args, max_age_s=0)  # the 5th failure opens the circuit
    assert tripped.status == "stale"
    assert tripped.data["location"]["city"] == "Berlin"
    started = time.perf_counter()
    again = gateway.call("current_weather", args, max_age_s=0)
    assert time.perf_counter() - started < 0.010
    assert again.status == "stale"
    with pytest.raises(TemporaryError, match="circuit open"):
        gateway.call("current_weather", {"city": "Madrid"}, max_age_s=0)
    assert faults.call_count("weather") == 6  # 1 good + 5 failed; none while open
    assert breaker.state(registry.current().servers["weather"]) == "open"
    assert _second_process_call("Berlin") == {"status": "stale"}
    assert faults.call_count("weather") == 6

    faults.clear_fault("weather")
    time.sleep(10.1)  # breaker_reset_s
    assert gateway.call("current_weather", args, max_age_s=0).status == "fresh"
    assert breaker.state(registry.current().servers["weather"]) == "closed"
    assert _second_process_call("Madrid") == {"status": "fresh"}


def test_with_its_redis_unreachable_the_gateway_answers_temporary_errors_and_keeps_its_registry(
    weather, settings
) -> None:
    gateway.call("current_weather", {"city": "Beijing"})  # the registry is loaded while Redis answers
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # then nothing listens where the gateway's state is

    with pytest.raises(TemporaryError, match="Redis is unreachable"):
        gateway.call("current_weather", {"city": "Shanghai"}, max_age_s=0)
    registry.current(force=True)  # the registry it has is kept
    beijing, paris = ("current_weather", {"city": "Beijing"}), ("current_weather", {"city": "Paris"})
    answers = gateway.call_many([beijing, paris])
    assert answers[gateway.request_key(*beijing)].status == "cached"  # this process's own copy is still served
    assert isinstance(answers[gateway.request_key(*paris)], TemporaryError)


def test_a_process_with_no_registry_and_no_redis_files_every_request_as_temporary(weather, settings) -> None:
    registry.reset()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    request = ("current_weather", {"city": "Beijing"})
    answers = gateway.call_many([request])
    assert isinstance(answers[gateway.request_key(*request)], TemporaryError)
