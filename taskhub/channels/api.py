"""REST API for a user's channels."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from taskhub.channels import services
from taskhub.channels.models import Channel, ChannelKind
from taskhub.core.api import IdCursorPagination, StrictChoiceField, StrictModelSerializer


class ChannelSerializer(StrictModelSerializer):
    kind = StrictChoiceField(choices=ChannelKind.choices)
    config = serializers.DictField(required=False)

    class Meta:
        model = Channel
        fields = ["id", "kind", "name", "config", "enabled", "consecutive_failures", "disabled_reason", "created_at"]
        read_only_fields = ["id", "consecutive_failures", "disabled_reason", "created_at"]
        extra_kwargs = {"name": {"max_length": 100}}
        # uniqueness per owner is checked by the service (the owner is not a field here)
        validators: list[object] = []


class ChannelViewSet(viewsets.ModelViewSet):
    """The user's push channels. Another user's channel is a 404."""

    serializer_class = ChannelSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Channel]:
        return Channel.objects.filter(owner=self.request.user)

    def perform_create(self, serializer: ChannelSerializer) -> None:
        serializer.instance = services.channel_create(owner=self.request.user, **serializer.validated_data)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Create a channel; a webhook's signing ``secret`` is in this response only."""
        response = super().create(request, *args, **kwargs)
        channel = Channel.objects.get(pk=response.data["id"])
        if channel.secret:
            response.data["secret"] = channel.secret
        return response

    @extend_schema(request=None, responses=inline_serializer("RotatedSecret", {"secret": serializers.CharField()}))
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new webhook signing secret, shown in this response only; the old one stops working."""
        return Response({"secret": services.channel_rotate_secret(channel=self.get_object())})

    def perform_update(self, serializer: ChannelSerializer) -> None:
        serializer.instance = services.channel_update(channel=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Channel) -> None:
        services.channel_delete(channel=instance)
