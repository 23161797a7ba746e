from __future__ import annotations

from django.contrib import admin

from taskhub.executions.models import Execution


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ("id", "subscription", "fire_key", "status", "attempts", "error_kind", "started_at", "finished_at")
    list_filter = ("status", "error_kind")
    search_fields = ("fire_key", "subscription__title")
    raw_id_fields = ("subscription",)
    show_full_result_count = False
    readonly_fields = [field.name for field in Execution._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
