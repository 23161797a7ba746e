"""The real weather provider: Open-Meteo (https://open-meteo.com), free and without a key.

Selected with ``TOOLS_WEATHER_PROVIDER=open-meteo``. Upstream failures are raised
as MCP protocol errors carrying the upstream status, so the gateway classifies
them (a 429/5xx upstream is temporary, a broken connection transient) instead of
mistaking them for bad arguments.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx2
from mcp.shared.exceptions import MCPError

from tools.geo import Place
from tools.servers import config
from tools.servers.providers.weather import Daily, Hourly

# WMO weather interpretation codes (the ones Open-Meteo returns), grouped.
_WMO = (
    ((0,), "Sunny", "晴"),
    ((1, 2), "Partly cloudy", "多云"),
    ((3, 45, 48), "Overcast", "阴"),
    ((51, 53, 55, 56, 57, 61, 80), "Light rain", "小雨"),
    ((63, 66, 81), "Moderate rain", "中雨"),
    ((65, 67, 82, 95, 96, 99), "Heavy rain", "大雨"),
    ((71, 73, 75, 77, 85, 86), "Snow", "雪"),
)
_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _condition(code: int) -> tuple[str, str]:
    return next(((en, zh) for codes, en, zh in _WMO if code in codes), ("Overcast", "阴"))


async def _get(url: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        async with httpx2.AsyncClient(timeout=config.UPSTREAM_TIMEOUT_S) as client:
            response = await client.get(url, params=params)
    except httpx2.HTTPError as exc:
        raise MCPError(-32003, f"weather upstream unreachable: {exc}", {"status": 502}) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise MCPError(-32003, "weather upstream overloaded", {"status": response.status_code})
    if response.status_code >= 400:
        raise MCPError(-32603, f"weather upstream refused the request ({response.status_code})", None)
    return dict(response.json())


async def forecast(place: Place, days: int) -> tuple[Hourly, list[Daily]]:
    """Current conditions and ``days`` daily forecasts at ``place``."""
    common = {"latitude": place.lat, "longitude": place.lon, "timezone": place.tz}
    weather = await _get(
        config.OPEN_METEO_URL,
        {
            **common,
            "current": "temperature_2m,apparent_temperature,relative_humidity_2m,weather_code,"
            "wind_speed_10m,wind_direction_10m,precipitation_probability",
            "daily": "temperature_2m_max,temperature_2m_min,precipitation_probability_max,weather_code",
            "forecast_days": days,
        },
    )
    try:
        air = await _get(config.OPEN_METEO_AQI_URL, {**common, "current": "us_aqi"})
        aqi: int | None = int(air["current"]["us_aqi"])
    except (MCPError, KeyError, TypeError, ValueError):
        aqi = None  # air quality is optional; never fail the weather for it
    now = weather["current"]
    condition = _condition(int(now["weather_code"]))
    current = Hourly(
        temperature_c=float(now["temperature_2m"]),
        feels_like_c=float(now["apparent_temperature"]),
        humidity_pct=int(now["relative_humidity_2m"]),
        precipitation_probability_pct=int(now.get("precipitation_probability") or 0),
        wind_speed_kmh=float(now["wind_speed_10m"]),
        wind_direction=_COMPASS[round(float(now["wind_direction_10m"]) / 45) % 8],
        condition=condition[0],
        condition_zh=condition[1],
        aqi=aqi,
    )
    daily = weather["daily"]
    result = []
    for i, day in enumerate(daily["time"]):
        en, zh = _condition(int(daily["weather_code"][i]))
        result.append(
            Daily(
                day=date.fromisoformat(day),
                high_c=float(daily["temperature_2m_max"][i]),
                low_c=float(daily["temperature_2m_min"][i]),
                precipitation_probability_pct=int(daily["precipitation_probability_max"][i] or 0),
                condition=en,
                condition_zh=zh,
                aqi=None,
            )
        )
    return current, result
