"""OpenAPI generation: every operation documents the error shape it may answer with."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="what went wrong, for people")
    fields = serializers.DictField(help_text="the input fields at fault, each with its messages")


# 400 bad input, 401/403 not allowed, 404 not yours or absent, 409 wrong state, 429 throttled.
ERROR_CODES = ("400", "401", "403", "404", "409", "429")


class TaskHubAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in ERROR_CODES:
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code, direction=direction))
        return responses
