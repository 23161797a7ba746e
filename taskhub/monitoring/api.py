"""``POST /api/v1/events/``: events from external systems. Translation only; see ``ingestion``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taskhub.monitoring import ingestion


class EventBodySerializer(serializers.Serializer):
    """The documented body; it is read as raw bytes, because the signature covers them."""

    source = serializers.CharField(help_text="your event source's name")
    tool = serializers.CharField(help_text="the tool whose output this is, e.g. fuel_price")
    arguments = serializers.DictField(required=False, help_text="its arguments, as a subscription gives them")
    data = serializers.DictField(help_text="the tool's output, e.g. {'price': 6.9}")
    observed_at = serializers.DateTimeField(required=False, help_text="when it was observed (default: now)")


_ACCEPTED = inline_serializer(
    "EventAccepted", {"event": serializers.IntegerField(), "duplicate": serializers.BooleanField()}
)


class EventIngestView(APIView):
    """Signed by the source (Standard Webhooks); not a user session, so no user authentication or throttle."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        request=EventBodySerializer,
        responses={202: _ACCEPTED, 200: _ACCEPTED},
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True) for name in ingestion.SIGNATURE_HEADERS
        ],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        result = ingestion.event_ingest(body=request.body, headers=request.headers)
        return Response(
            {"event": result.event_id, "duplicate": result.duplicate}, status=200 if result.duplicate else 202
        )
