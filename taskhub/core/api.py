"""Shared pieces of the REST API: pagination, and owner-scoped querysets."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination

from taskhub.core.errors import InvalidInput


class IdCursorPagination(CursorPagination):
    """Keyset pagination on ``-id``: stable under inserts and fast at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters

    def get_page_size(self, request: Any) -> int:
        """``page_size`` from the query, strictly: a bad value is a 400 naming it, not silently ignored."""
        return query_int(
            request.query_params,
            self.page_size_query_param,
            default=self.page_size,
            low=1,
            high=self.max_page_size,
            strict=True,
        )


def query_int(params: Any, name: str, *, default: int, low: int, high: int, strict: bool = False) -> int:
    """An integer query parameter in [low, high]; InvalidInput naming it when not a number.

    Out-of-range values are clamped, or refused when ``strict``.
    """
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: not an integer", fields={name: ["must be an integer"]}) from None
    if strict and not low <= value <= high:
        raise InvalidInput(f"{name}: out of range", fields={name: [f"must be between {low} and {high}"]})
    return max(low, min(high, value))
