from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet

from taskhub.executions.models import Execution, ExecutionBatch, ExecutionStatus, with_status


class StatusFilter(admin.SimpleListFilter):
    """By status, asked so that the rare outcomes walk their own index (``with_status``)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: object, model_admin: object) -> list[tuple[str, str]]:
        return list(ExecutionStatus.choices)

    def queryset(self, request: object, queryset: QuerySet[Execution]) -> QuerySet[Execution]:
        return queryset.filter(with_status(self.value())) if self.value() else queryset


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ("id", "subscription", "fire_key", "status", "attempts", "error_kind", "started_at", "finished_at")
    list_filter = (StatusFilter, "error_kind")
    search_fields = ("fire_key", "subscription__title")
    raw_id_fields = ("subscription",)
    show_full_result_count = False
    # The snapshot shown as its value, not as a field (a select would list every snapshot).
    exclude = ("snapshot",)
    readonly_fields = [*(field.name for field in Execution._meta.fields if field.name != "snapshot"), "tool_snapshot"]

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
