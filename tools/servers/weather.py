"""The ``weather`` MCP server: current conditions and a short forecast for a city.

Tools:
- ``current_weather(city)``: temperature, condition, precipitation probability,
  wind, humidity, AQI (mainland China offline; everywhere with Open-Meteo).
- ``weather_forecast(city, days=3)``: one entry per local day (1-7 days).

``city`` is any name ``tools.geo.find_place`` knows (English, Chinese, aliases);
an unknown city is a tool error (the arguments are wrong, retrying will not help).
Data comes from the offline model unless ``TOOLS_WEATHER_PROVIDER=open-meteo``.

Run alone: ``python -m tools.servers.weather --port N`` (``/mcp``), or ``--transport stdio``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from tools.geo import Place, find_place
from tools.servers import config
from tools.servers.providers import weather as offline

server = MCPServer("weather", instructions="Weather by city: current conditions and a daily forecast.")

CityArg = Annotated[str, Field(min_length=1, max_length=80, description="City name in English or Chinese")]


class Location(BaseModel):
    city: str = Field(description="English name")
    city_zh: str = Field(description="Chinese name")
    country: str = Field(description="ISO 3166-1 alpha-2")
    lat: float
    lon: float
    timezone: str


class CurrentWeather(offline.Hourly):
    location: Location
    observed_at: str = Field(description="Local time of the observation, ISO 8601")
    source: str


class DayForecast(BaseModel):
    date: str
    high_c: float
    low_c: float
    precipitation_probability_pct: int
    condition: str
    condition_zh: str
    aqi: int | None


class Forecast(BaseModel):
    location: Location
    days: list[DayForecast]
    source: str


def _place(city: str) -> Place:
    place = find_place(city)
    if place is None:
        raise ToolError(f"unknown city: {city!r}")
    return place


def _location(place: Place) -> Location:
    return Location(
        city=place.name, city_zh=place.name_zh, country=place.country, lat=place.lat, lon=place.lon, timezone=place.tz
    )


def _day(d: offline.Daily) -> DayForecast:
    return DayForecast(
        date=d.day.isoformat(),
        high_c=d.high_c,
        low_c=d.low_c,
        precipitation_probability_pct=d.precipitation_probability_pct,
        condition=d.condition,
        condition_zh=d.condition_zh,
        aqi=d.aqi,
    )


async def _data(place: Place, days: int) -> tuple[datetime, offline.Hourly, list[offline.Daily]]:
    local = offline.local_now(place, datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    if config.WEATHER_PROVIDER == "open-meteo":
        from tools.servers.providers import open_meteo

        current, daily = await open_meteo.forecast(place, days)
        return local, current, daily
    today: date = local.date()
    daily = [offline.offline_daily(place, today + timedelta(days=i)) for i in range(days)]
    return local, offline.offline_hourly(place, today, local.hour), daily


@server.tool()
async def current_weather(city: CityArg) -> CurrentWeather:
    """Current weather in a city: temperature (°C), condition, precipitation probability, wind, humidity, AQI."""
    place = _place(city)
    local, now, _ = await _data(place, 1)
    return CurrentWeather(
        location=_location(place),
        observed_at=local.isoformat(),
        source=config.WEATHER_PROVIDER,
        **now.model_dump(),
    )


@server.tool()
async def weather_forecast(
    city: CityArg, days: Annotated[int, Field(ge=1, le=7, description="Number of days, today first")] = 3
) -> Forecast:
    """Daily forecast for a city: high/low (°C), condition, precipitation probability, AQI; today first."""
    place = _place(city)
    _, _, daily = await _data(place, days)
    return Forecast(location=_location(place), days=[_day(d) for d in daily], source=config.WEATHER_PROVIDER)


if __name__ == "__main__":
    from tools.servers.base import main

    main(server)
