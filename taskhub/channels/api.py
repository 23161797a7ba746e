"""REST API for a user's channels."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from taskhub.channels import services
from taskhub.channels.models import Channel, ChannelKind
from taskhub.core.api import IdCursorPagination


class ChannelSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
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

    def perform_update(self, serializer: ChannelSerializer) -> None:
        serializer.instance = services.channel_update(channel=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Channel) -> None:
        services.channel_delete(channel=instance)
