"""Shared pieces of the REST API: pagination, and owner-scoped querysets."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers
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


def query_choice(params: Any, name: str, choices: Any) -> str | None:
    """An optional query parameter that must be one of ``choices``; InvalidInput naming it otherwise."""
    raw = params.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise InvalidInput(f"{name}: invalid", fields={name: [f"expected one of {', '.join(choices)}"]})
    return raw


class StrictCharField(serializers.CharField):
    """A JSON string, not a number or a boolean coerced into one."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, not "yes", 1 or "true"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a numeric string or a float."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that takes JSON types as they are: what the schema says is what passes."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
    }


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, with the choice's own JSON type (2, not "2")."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not any(type(data) is type(choice) for choice in self.choices):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)
