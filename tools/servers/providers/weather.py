"""Weather data: a deterministic offline model and Open-Meteo.

Offline values are a pure function of (place, local date, local hour): the same
question gets the same answer in every process and every test run. They are
plausible, not real: a yearly temperature cycle whose mean falls and whose swing
grows with latitude (southern hemisphere shifted half a year), a daily cycle
peaking at 14:00, and day-to-day noise seeded by a hash of the place and date.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from tools.geo import Place

CONDITIONS = (
    # (upper bound of precipitation probability, English, Chinese)
    (10, "Sunny", "晴"),
    (30, "Partly cloudy", "多云"),
    (50, "Overcast", "阴"),
    (70, "Light rain", "小雨"),
    (85, "Moderate rain", "中雨"),
    (101, "Heavy rain", "大雨"),
)
SNOW = ("Snow", "雪")


class Hourly(BaseModel):
    """Conditions at one hour; also the body of the ``current_weather`` answer."""

    model_config = ConfigDict(frozen=True)

    temperature_c: float
    feels_like_c: float
    humidity_pct: int
    precipitation_probability_pct: int
    wind_speed_kmh: float
    wind_direction: str
    condition: str
    condition_zh: str
    aqi: int | None = Field(description="US AQI, null when unknown")


@dataclass(frozen=True)
class Daily:
    day: date
    high_c: float
    low_c: float
    precipitation_probability_pct: int
    condition: str
    condition_zh: str
    aqi: int | None


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _daily_mean(place: Place, day: date) -> float:
    lat = abs(place.lat)
    annual_mean = 28.0 - 0.45 * max(0.0, lat - 12.0)
    swing = 1.0 + 0.33 * lat  # half the summer-winter difference
    peak = 200 if place.lat >= 0 else 17  # day of year of the warmest day
    season = math.cos(2 * math.pi * (day.timetuple().tm_yday - peak) / 365.25)
    return annual_mean + swing * season + _rng(place.slug, day, "t").gauss(0.0, 2.0)


def _precipitation(place: Place, day: date) -> int:
    rng = _rng(place.slug, day, "p")
    summer = math.cos(2 * math.pi * (day.timetuple().tm_yday - (200 if place.lat >= 0 else 17)) / 365.25)
    wet = 0.35 + 0.15 * summer  # monsoon climates: wetter summers
    return 0 if rng.random() > wet + 0.3 else min(100, int(rng.random() * 100 * (wet + 0.5)))


def _condition(probability: int, temperature: float) -> tuple[str, str]:
    if probability >= 50 and temperature <= 0:
        return SNOW
    return next((en, zh) for bound, en, zh in CONDITIONS if probability < bound)


def _aqi(place: Place, day: date) -> int | None:
    if place.country != "CN":
        return None  # the offline model only covers mainland air quality
    winter = max(0.0, math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25))
    north = max(0.0, (place.lat - 25) / 20)
    return int(30 + 120 * winter * north + _rng(place.slug, day, "aqi").random() * 60)


def offline_daily(place: Place, day: date) -> Daily:
    """The offline forecast for ``day`` (local date) at ``place``."""
    mean = _daily_mean(place, day)
    probability = _precipitation(place, day)
    spread = 3.0 + 3.0 * (1 - probability / 100)  # clear days swing more
    condition, condition_zh = _condition(probability, mean)
    return Daily(
        day=day,
        high_c=round(mean + spread, 1),
        low_c=round(mean - spread, 1),
        precipitation_probability_pct=probability,
        condition=condition,
        condition_zh=condition_zh,
        aqi=_aqi(place, day),
    )


def offline_hourly(place: Place, day: date, hour: int) -> Hourly:
    """The offline conditions at ``place`` on local ``day`` at local ``hour`` (0-23)."""
    daily = offline_daily(place, day)
    mean, spread = (daily.high_c + daily.low_c) / 2, (daily.high_c - daily.low_c) / 2
    temperature = round(mean + spread * math.cos(2 * math.pi * (hour - 14) / 24), 1)
    rng = _rng(place.slug, day, hour, "h")
    wind = round(5 + rng.random() * 20 + daily.precipitation_probability_pct / 10, 1)
    humidity = int(min(100, 35 + daily.precipitation_probability_pct * 0.6 + rng.random() * 10))
    return Hourly(
        temperature_c=temperature,
        feels_like_c=round(temperature - wind / 10 if temperature < 10 else temperature + humidity / 50, 1),
        humidity_pct=humidity,
        precipitation_probability_pct=daily.precipitation_probability_pct,
        wind_speed_kmh=wind,
        wind_direction=rng.choice(("N", "NE", "E", "SE", "S", "SW", "W", "NW")),
        condition=daily.condition,
        condition_zh=daily.condition_zh,
        aqi=daily.aqi,
    )


def local_now(place: Place, now: datetime) -> datetime:
    """``now`` (aware) as the wall-clock time at ``place``."""
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(place.tz))
