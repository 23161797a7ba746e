from __future__ import annotations

from typing import Any

from django.contrib import admin

from tools.gateway import services
from tools.gateway.models import ToolServer


@admin.register(ToolServer)
class ToolServerAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "enabled", "timeout_s", "cache_ttl_s", "rate_limit_per_s", "updated_at")
    list_filter = ("enabled", "transport")
    search_fields = ("name", "url")

    # Through the services, so running workers are told (registry version bump).
    def save_model(self, request: Any, obj: ToolServer, form: Any, change: bool) -> None:
        services.tool_server_save(server=obj)

    def delete_model(self, request: Any, obj: ToolServer) -> None:
        services.tool_server_delete(server=obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for obj in queryset:
            services.tool_server_delete(server=obj)
