"""Writes of the gateway: the tool-server registry, fuel-price overrides, and cache pre-heating."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from taskhub.core.errors import InvalidInput, NotFound, TaskHubError
from taskhub.core.redis import get_redis
from tools import geo
from tools.gateway import registry
from tools.gateway.models import ToolServer
from tools.gateway.signals import tool_results_changed
from tools.servers.providers import fuel

logger = logging.getLogger(__name__)


def tool_server_save(*, server: ToolServer) -> ToolServer:
    """Validate and save ``server`` (new or changed); running workers see it within seconds."""
    server.full_clean()
    with transaction.atomic():
        server.save()
        transaction.on_commit(registry.bump)
    logger.info("tool server saved", extra={"server": server.name, "enabled": server.enabled})
    return server


def tool_server_delete(*, server: ToolServer) -> None:
    """Remove ``server`` from the registry."""
    with transaction.atomic():
        server.delete()
        transaction.on_commit(registry.bump)
    logger.info("tool server deleted", extra={"server": server.name})


def tool_server_register(*, name: str, url: str, **fields: Any) -> tuple[ToolServer, bool]:
    """Register ``name`` at ``url`` unless it exists (idempotent; an operator's later edits are kept)."""
    existing = ToolServer.objects.filter(name=name).first()
    if existing is not None:
        return existing, False
    return tool_server_save(server=ToolServer(name=name, url=url, **fields)), True


def _province(region: str) -> geo.Province:
    province = geo.find_province(region)
    if province is None and (place := geo.find_place(region)) is not None:
        province = geo.province_of(place)
    if province is None:
        raise NotFound(f"unknown region {region!r}", fields={"region": "not a mainland province or city"})
    return province


def fuel_override_set(*, region: str, grade: str, price: float) -> dict[str, Any]:
    """Pin ``grade`` in ``region``'s province to ``price`` (yuan/L) now, for every fuel server process."""
    province = _province(region)
    try:
        fuel.set_override(province, grade, price, client=get_redis())
    except ValueError as exc:
        raise InvalidInput(str(exc), fields={"grade" if "grade" in str(exc) else "price": str(exc)}) from exc
    logger.info("fuel override set", extra={"province": province.code, "grade": grade, "price": price})
    _fuel_prices_changed(province)
    return {"province": province.code, "grade": grade, "price": price}


def fuel_override_clear(*, region: str, grade: str | None = None) -> None:
    """Drop the override of ``grade`` (all grades when ``None``) in ``region``'s province."""
    province = _province(region)
    fuel.clear_override(province, grade, client=get_redis())
    logger.info("fuel override cleared", extra={"province": province.code, "grade": grade})
    _fuel_prices_changed(province)


def _fuel_prices_changed(province: geo.Province) -> None:
    """Fuel prices in ``province`` changed: whoever watches them is told (``tool_results_changed``)."""

    def in_province(arguments: dict[str, Any]) -> bool:
        try:
            return _province(str(arguments.get("region", ""))) == province
        except NotFound:
            return False

    tool_results_changed.send(sender=None, tool="fuel_price", where=in_province)


def fuel_overrides() -> dict[str, dict[str, float]]:
    """Overrides in force: province code -> grade -> price."""
    return fuel.overrides(get_redis())


def preheat(*, requests: Iterable[tuple[str, dict[str, Any]]], max_age_s: int | None = None) -> dict[str, int]:
    """Fetch each distinct (tool, args) into the cache at low priority; returns counts by outcome."""
    from tools.gateway import client

    counts = {"fresh": 0, "cached": 0, "stale": 0, "failed": 0}
    for result in client.call_many(requests, priority="low", max_age_s=max_age_s).values():
        counts["failed" if isinstance(result, TaskHubError) else result.status] += 1
    logger.info("tool cache pre-heated", extra=counts)
    return counts
