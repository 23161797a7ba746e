"""Fuel prices: a deterministic offline series per province, and operator overrides in Redis.

The offline series mimics China's pricing: the NDRC adjusts retail prices in
steps about every ten working days (here: every 14 calendar days from
``EPOCH``), the same step nationwide, and each province keeps a fixed offset.
Prices stay in a realistic band (about 6.8-9.8 yuan per litre) by a pull back
towards each grade's base price.

An override (``set_override``) pins a province's grade to a price from now on,
so a demo or a test can produce a price drop. Overrides live in Redis (hash
``tools:fuel:override:<province code>``, field = grade) so every server process
sees them on its next call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import redis

from tools.geo import Province

GRADES = ("92", "95", "98", "0")  # 0 = diesel
_BASE = {"92": 7.60, "95": 8.10, "98": 9.10, "0": 7.35}
_SCALE = {"92": 1.00, "95": 1.06, "98": 1.12, "0": 0.95}
_STEPS = (-0.31, -0.24, -0.18, -0.12, -0.08, 0.0, 0.0, 0.08, 0.12, 0.18, 0.24, 0.31)
EPOCH = date(2024, 1, 2)
WINDOW_DAYS = 14


@dataclass(frozen=True)
class Quote:
    prices: dict[str, float]
    last_adjusted: date
    next_adjustment: date
    overridden: tuple[str, ...]


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


@cache
def _national_levels(windows: int) -> tuple[float, ...]:
    """Offset from base of the national 92 price after each adjustment window."""
    levels, level = [], 0.0
    for k in range(windows + 1):
        level += _STEPS[_hash("fuel-step", k) % len(_STEPS)] - 0.15 * level
        levels.append(round(level, 2))
    return tuple(levels)


def _province_offset(province: Province) -> float:
    return ((_hash("fuel-province", province.code) % 51) - 25) / 100  # -0.25 .. +0.25


def offline_quote(province: Province, day: date) -> Quote:
    """The offline prices of every grade in ``province`` on ``day`` (yuan per litre)."""
    window = max(0, (day - EPOCH).days // WINDOW_DAYS)
    level = _national_levels(window)[window]
    offset = _province_offset(province)
    prices = {grade: round(_BASE[grade] + offset + level * _SCALE[grade], 2) for grade in GRADES}
    start = EPOCH + timedelta(days=window * WINDOW_DAYS)
    return Quote(prices=prices, last_adjusted=start, next_adjustment=start + timedelta(days=WINDOW_DAYS), overridden=())


def _key(province: Province) -> str:
    return f"tools:fuel:override:{province.code}"


def with_overrides(quote: Quote, province: Province, client: redis.Redis) -> Quote:
    """``quote`` with the operator's overrides for ``province`` applied."""
    overrides = client.hgetall(_key(province))
    if not overrides:
        return quote
    prices = dict(quote.prices) | {grade: float(price) for grade, price in overrides.items()}
    return Quote(prices, quote.last_adjusted, quote.next_adjustment, tuple(sorted(overrides)))


def set_override(province: Province, grade: str, price: float, *, client: redis.Redis) -> None:
    """Pin ``grade`` in ``province`` to ``price`` yuan/litre until cleared."""
    if grade not in GRADES:
        raise ValueError(f"grade must be one of {', '.join(GRADES)}")
    if not 0 < price < 100:
        raise ValueError("price must be between 0 and 100 yuan per litre")
    client.hset(_key(province), grade, f"{price:.2f}")


def clear_override(province: Province, grade: str | None = None, *, client: redis.Redis) -> None:
    """Drop the override of ``grade`` (every grade when ``None``) in ``province``."""
    if grade is None:
        client.delete(_key(province))
    else:
        client.hdel(_key(province), grade)


def overrides(client: redis.Redis) -> dict[str, dict[str, float]]:
    """Every override in force: province code -> grade -> price."""
    result = {}
    for key in client.scan_iter(match="tools:fuel:override:*", count=100):
        code = key.rsplit(":", 1)[1]
        result[code] = {grade: float(price) for grade, price in client.hgetall(key).items()}
    return result
