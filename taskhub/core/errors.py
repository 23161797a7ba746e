"""The one error hierarchy, classified where an error arises.

``kind`` drives retries (ARCHITECTURE.md, invariant 3):
- transient: retry at once (a reset connection, a timeout);
- temporary: retry with back-off (429, 503, an open circuit);
- permanent: fail now (bad arguments, unknown tool, a 4xx).

The DRF handler renders every API error as ``{"error": ..., "fields": {...}}``.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ErrorKind(enum.StrEnum):
    TRANSIENT = "transient"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


class TaskHubError(Exception):
    """Base of our errors. Subclasses fix ``kind`` and the HTTP status shown to API users."""

    kind: ErrorKind = ErrorKind.PERMANENT
    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None, kind: ErrorKind | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if kind is not None:
            self.kind = kind


class TransientError(TaskHubError):
    kind = ErrorKind.TRANSIENT
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class TemporaryError(TaskHubError):
    kind = ErrorKind.TEMPORARY
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class PermanentError(TaskHubError):
    kind = ErrorKind.PERMANENT


class InvalidInput(PermanentError):
    """Input that can never succeed as given; ``fields`` names the culprits."""

    @classmethod
    def at(cls, field: str, message: str) -> InvalidInput:
        """The error of one field: ``"<field>: <message>"``, with ``fields={field: [message]}``."""
        return cls(f"{field}: {message}", fields={field: [message]})


class Unauthenticated(PermanentError):
    """Missing or wrong credentials, such as a signature that does not verify."""

    status_code = status.HTTP_401_UNAUTHORIZED


class NotFound(PermanentError):
    status_code = status.HTTP_404_NOT_FOUND


class Conflict(PermanentError):
    """The object is in a state that forbids the operation (e.g. a lifecycle transition)."""

    status_code = status.HTTP_409_CONFLICT


class QuotaExceeded(PermanentError):
    status_code = status.HTTP_403_FORBIDDEN


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _body(message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": message, "fields": fields or {}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render errors as ``{"error": ..., "fields": {...}}``; bad input is never a 500."""
    if isinstance(exc, TaskHubError):
        return Response(_body(exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        message = "; ".join(exc.messages) if not fields else "invalid input"
        return Response(_body(message, _flatten(fields)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = _flatten(detail)
            non_field = fields.pop("non_field_errors", None)
            message = "; ".join(non_field) if non_field else "invalid input: " + ", ".join(sorted(fields))
        else:
            fields, message = {}, "; ".join(_flatten(detail)) if isinstance(detail, list) else str(detail)
        response.data = _body(message, fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = _body(str(detail))
    return response
