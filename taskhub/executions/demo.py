"""Demo data: distinct tool calls drawn from the offline tools' own tables, and their templates."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

TEMPLATES = {
    "current_weather": "{title}: {condition}, {temperature_c}°C, rain {precipitation_probability_pct}%",
    "weather_forecast": "{title}: forecast for {days} day(s)",
    "fuel_price": "{title}: {grade} at {price} yuan/L",
}


def _all_calls() -> Iterator[tuple[str, dict[str, Any]]]:
    from tools.geo import PLACES, PROVINCES

    for place in PLACES:
        yield "current_weather", {"city": place.name}
    for province in PROVINCES:
        for grade in ("92", "95", "98", "0"):
            yield "fuel_price", {"region": province.name, "grade": grade}
    for days in range(1, 8):
        for place in PLACES:
            yield "weather_forecast", {"city": place.name, "days": days}


def demo_calls(distinct: int) -> list[tuple[str, dict[str, Any]]]:
    """Up to ``distinct`` different (tool, arguments) pairs the offline servers answer (about 1,700 at most)."""
    return list(islice(_all_calls(), distinct))


def title_of(tool: str, args: dict[str, Any]) -> str:
    place = args.get("city") or args.get("region")
    return {"current_weather": "Weather in", "weather_forecast": "Forecast for", "fuel_price": "Fuel in"}[
        tool
    ] + f" {place}"
