"""REST: the tool-server registry (staff writes), the tool catalogue, fuel-price overrides (staff)."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tools.gateway import client, services
from tools.gateway.models import ToolServer


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or bool(user.is_staff)


class ToolServerSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToolServer
        fields = [
            "id",
            "name",
            "url",
            "transport",
            "enabled",
            "timeout_s",
            "cache_ttl_s",
            "rate_limit_per_s",
            "rate_burst",
            "breaker_fail_max",
            "breaker_reset_s",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ToolServerViewSet(viewsets.ModelViewSet):
    """Tool servers. Anyone signed in reads; staff write. Changes reach workers within seconds."""

    queryset = ToolServer.objects.all()
    serializer_class = ToolServerSerializer
    permission_classes = [IsStaffOrReadOnly]

    def perform_create(self, serializer: ToolServerSerializer) -> None:
        serializer.instance = services.tool_server_save(server=ToolServer(**serializer.validated_data))

    def perform_update(self, serializer: ToolServerSerializer) -> None:
        server = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(server, name, value)
        services.tool_server_save(server=server)

    def perform_destroy(self, instance: ToolServer) -> None:
        services.tool_server_delete(server=instance)


class ToolListView(APIView):
    """Every tool of every enabled server, with its description and input/output schemas."""

    def get(self, request: Request) -> Response:
        tools = client.known_tools().values()
        return Response(
            [
                {
                    "name": t.name,
                    "server": t.server,
                    "description": t.description,
                    "input_schema": t.input_schema,
                    "output_schema": t.output_schema,
                }
                for t in sorted(tools, key=lambda t: t.name)
            ]
        )


class FuelOverrideSerializer(serializers.Serializer):
    region = serializers.CharField(max_length=40)
    grade = serializers.ChoiceField(choices=["92", "95", "98", "0"])
    price = serializers.FloatField(min_value=0.01, max_value=99.99)


class FuelOverrideView(APIView):
    """Staff only. GET lists overrides; POST sets one; DELETE ?region=..&grade=.. clears."""

    permission_classes = [permissions.IsAdminUser]

    def get(self, request: Request) -> Response:
        return Response(services.fuel_overrides())

    def post(self, request: Request) -> Response:
        data = FuelOverrideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.fuel_override_set(**data.validated_data), status=status.HTTP_201_CREATED)

    def delete(self, request: Request) -> Response:
        region = request.query_params.get("region", "")
        if not region:
            raise serializers.ValidationError({"region": ["required"]})
        services.fuel_override_clear(region=region, grade=request.query_params.get("grade") or None)
        return Response(status=status.HTTP_204_NO_CONTENT)
