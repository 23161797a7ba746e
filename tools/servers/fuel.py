"""The ``fuel`` MCP server: retail fuel prices in mainland China by province or city.

Tool ``fuel_price(region, grade="92")``: the price of one grade (``92``, ``95``,
``98``, or ``0`` for diesel) in yuan per litre as ``price``, and every grade in
``prices``. ``region`` is a province (广东, Guangdong, 广东省) or a Chinese city,
which stands for its province (prices are set per province). An unknown region
or a place outside mainland China is a tool error.

Prices come from the deterministic offline series, with operator overrides from
Redis applied (``tools.servers.providers.fuel``); ``source`` says which. The
series moves every 14 days; ``TOOLS_FUEL_DATE`` pins the day it is read at.

Run alone: ``python -m tools.servers.fuel --port N`` (``/mcp``), or ``--transport stdio``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from tools.geo import Province, find_place, find_province, province_of
from tools.servers import config
from tools.servers.providers import fuel as provider

server = MCPServer("fuel", instructions="Retail fuel prices in mainland China, by province or city.")

Grade = Literal["92", "95", "98", "0"]


class FuelPrice(BaseModel):
    region: str = Field(description="Province, English")
    region_zh: str = Field(description="Province, Chinese")
    province_code: str = Field(description="ISO 3166-2:CN code without 'CN-'")
    grade: Grade
    price: float = Field(description="Price of `grade`, yuan per litre")
    prices: dict[str, float] = Field(description="Every grade: 92, 95, 98, 0 (diesel)")
    currency: str = "CNY"
    unit: str = "yuan/L"
    date: str = Field(description="Local date (Beijing time), ISO 8601")
    last_adjusted: str
    next_adjustment: str
    source: Literal["offline", "override"]


def _province(region: str) -> Province:
    province = find_province(region)
    if province is None and (place := find_place(region)) is not None:
        province = province_of(place)
    if province is None:
        raise ToolError(f"unknown region (expected a mainland Chinese province or city): {region!r}")
    return province


def quote(region: str, grade: str) -> FuelPrice:
    """The answer of ``fuel_price`` (blocking: reads overrides from Redis)."""
    province = _province(region)
    today = config.FUEL_DAY or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    q = provider.with_overrides(provider.offline_quote(province, today), province, config.redis_client())
    return FuelPrice(
        region=province.name,
        region_zh=province.name_zh,
        province_code=province.code,
        grade=grade,  # type: ignore[arg-type]
        price=q.prices[grade],
        prices=q.prices,
        date=today.isoformat(),
        last_adjusted=q.last_adjusted.isoformat(),
        next_adjustment=q.next_adjustment.isoformat(),
        source="override" if grade in q.overridden else "offline",
    )


@server.tool()
async def fuel_price(
    region: Annotated[str, Field(min_length=1, max_length=40, description="Province or city, English or Chinese")],
    grade: Annotated[Grade, Field(description="92, 95, 98 petrol or 0 (diesel)")] = "92",
) -> FuelPrice:
    """Today's retail fuel price in a mainland Chinese province or city (yuan per litre)."""
    return await anyio.to_thread.run_sync(quote, region, grade)


if __name__ == "__main__":
    from tools.servers.base import main

    main(server)
