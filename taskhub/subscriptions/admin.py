"""Admin for subscriptions: search, filters, latest executions, lifecycle actions through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from taskhub.executions.models import Execution
from taskhub.subscriptions import selectors, services
from taskhub.subscriptions.models import Subscription
from taskhub.subscriptions.states import Action

AUDIT_FIELDS = (
    "status",
    "call_key",
    "consecutive_failures",
    "last_fired",
    "last_succeeded",
    "created_from",
    "source_ref",
    "created_at",
    "updated_at",
)


class LatestExecutionsInline(admin.TabularInline):
    model = Execution
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("fire_key", "status", "attempts", "started_at", "finished_at", "error_kind", "error_message")
    readonly_fields = fields
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Execution]:
        # The latest 20 only: a subscription may have years of history.
        qs = super().get_queryset(request)
        latest = list(qs.order_by("-id").values_list("id", flat=True)[:20])
        return qs.filter(id__in=latest)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _lifecycle_action(action: Action, label: str) -> object:
    def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        result = services.subscriptions_transition(owner=None, subscription_ids=ids, action=action)
        done = len(result.changed)
        refused = [f"#{pk}: {exc.message}" for pk, exc in sorted(result.refused.items())]
        if done:
            modeladmin.message_user(request, f"{label}: {done} subscription(s).", messages.SUCCESS)
        if refused:
            modeladmin.message_user(request, "Refused: " + "; ".join(refused[:20]), messages.WARNING)

    run.__name__ = f"action_{action}"
    run.short_description = f"{label} selected subscriptions"  # type: ignore[attr-defined]
    return run


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner", "kind", "status", "tool", "timezone", "last_fired", "created_at")
    list_filter = ("kind", "status", "tool", "timezone")
    search_fields = ("title", "owner__username", "tool")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "schedule")
    readonly_fields = AUDIT_FIELDS
    filter_horizontal = ("channels",)
    inlines = [LatestExecutionsInline]
    # Counting 1M rows on every page costs more than the page; show "many" instead.
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return selectors.with_last_runs(super().get_queryset(request))

    @admin.display(description="last fired at", ordering="last_fired_at")
    def last_fired(self, obj: Subscription) -> object:
        return obj.last_fired_at  # type: ignore[attr-defined]

    @admin.display(description="last succeeded at", ordering="last_succeeded_at")
    def last_succeeded(self, obj: Subscription) -> object:
        return obj.last_succeeded_at  # type: ignore[attr-defined]

    actions = [
        _lifecycle_action(Action.PAUSE, "Pause"),
        _lifecycle_action(Action.RESUME, "Resume"),
        _lifecycle_action(Action.CANCEL, "Cancel"),
    ]
