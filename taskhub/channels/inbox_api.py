"""REST API of the inbox and of notification preferences (quiet hours)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taskhub.channels.models import InboxMessage, NotificationPreferences
from taskhub.core.api import IdCursorPagination, StrictModelSerializer
from taskhub.core.errors import InvalidInput


class InboxMessageSerializer(StrictModelSerializer):
    # The push's tool answer (tool, result, status, an alert's context) or a notice's data.
    data = serializers.JSONField(source="payload", read_only=True)

    class Meta:
        model = InboxMessage
        fields = ["id", "title", "body", "urgent", "data", "execution", "subscription", "created_at", "read_at"]
        read_only_fields = fields


def _bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidInput(f"{name}: not a boolean", fields={name: ["must be true or false"]})


class InboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The user's inbox, newest first; ``?unread=true`` for unread only. Live: ``/inbox/stream/`` (SSE)."""

    serializer_class = InboxMessageSerializer
    lookup_value_regex = "[0-9]+"  # "read-all", "stream" are not message ids (and the schema says so)
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[InboxMessage]:
        queryset = InboxMessage.objects.filter(owner=self.request.user).select_related("snapshot")
        if self.action == "list" and _bool_param(self.request, "unread") is not None:
            queryset = queryset.filter(read_at__isnull=_bool_param(self.request, "unread"))
        return queryset

    @extend_schema(parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, required=False)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark one message read (idempotent: the first read time is kept)."""
        message = self.get_object()
        InboxMessage.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=timezone.now())
        message.refresh_from_db()
        return Response(self.get_serializer(message).data)

    @extend_schema(request=None, responses=inline_serializer("ReadAll", {"marked": serializers.IntegerField()}))
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        """Mark every unread message read; answers how many were marked."""
        marked = InboxMessage.objects.filter(owner=request.user, read_at__isnull=True).update(read_at=timezone.now())
        return Response({"marked": marked})


@extend_schema_field(
    {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "nullable": True, "example": "22:00"}
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time ``HH:MM`` in the preferences' time zone (no offset: OpenAPI's ``time`` needs one)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], allow_null=True, required=False, **kwargs)


class PreferencesSerializer(StrictModelSerializer):
    quiet_start = LocalTimeField()
    quiet_end = LocalTimeField()

    class Meta:
        model = NotificationPreferences
        fields = ["quiet_start", "quiet_end", "timezone"]

    def validate_timezone(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError("unknown time zone") from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("quiet_start", getattr(self.instance, "quiet_start", None))
        end = attrs.get("quiet_end", getattr(self.instance, "quiet_end", None))
        if (start is None) != (end is None):
            raise serializers.ValidationError({"quiet_end": ["set both quiet_start and quiet_end, or neither"]})
        return attrs


class PreferencesView(APIView):
    """``GET/PUT /api/v1/me/preferences/``: quiet hours (local times in ``timezone``)."""

    serializer_class = PreferencesSerializer

    def _current(self, request: Request) -> NotificationPreferences:
        prefs, _ = NotificationPreferences.objects.get_or_create(owner=request.user)
        return prefs

    def get(self, request: Request) -> Response:
        return Response(PreferencesSerializer(self._current(request)).data)

    def put(self, request: Request) -> Response:
        serializer = PreferencesSerializer(self._current(request), data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)
