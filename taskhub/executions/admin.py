from __future__ import annotations

from django.contrib import admin

from taskhub.executions.models import Execution, ExecutionBatch


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


@admin.register(ExecutionBatch)
class ExecutionBatchAdmin(admin.ModelAdmin):
    """What workers still owe: a batch is deleted with its results, so this list is short when all is well."""

    list_display = ("id", "queue", "priority", "claims", "taken_at", "run_after", "lease_expires_at", "size")
    list_filter = ("queue",)
    readonly_fields = [field.name for field in ExecutionBatch._meta.fields]

    @admin.display(description="executions")
    def size(self, batch: ExecutionBatch) -> int:
        return len(batch.execution_ids)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
