"""Staff views of monitoring: event sources (secret shown once), events, monitor state (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages

from taskhub.monitoring.models import Event, EventSource, Monitor, MonitorKey
from taskhub.monitoring.services import event_source_create


@admin.register(EventSource)
class EventSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "tools", "created_at")
    fields = ("name", "enabled", "tools")

    def save_model(self, request: Any, obj: EventSource, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, secret = event_source_create(name=obj.name, tools=obj.tools, enabled=obj.enabled)
        obj.pk = created.pk
        messages.warning(request, f"Signing secret of {obj.name} (shown once): {secret}")


class _ReadOnly(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(_ReadOnly):
    list_display = ("id", "source", "tool", "observed_at", "outcome", "alerts", "matched_at")
    list_filter = ("source", "outcome")
    search_fields = ("dedupe_id", "key")


@admin.register(MonitorKey)
class MonitorKeyAdmin(_ReadOnly):
    list_display = (
        "key",
        "tool",
        "arguments",
        "monitors",
        "interval_s",
        "next_poll_at",
        "last_observed_at",
        "last_poll_outcome",
        "last_polled_at",
    )
    list_filter = ("tool", "last_poll_outcome")


@admin.register(Monitor)
class MonitorAdmin(_ReadOnly):
    list_display = ("subscription", "active", "field", "direction", "threshold", "armed", "last_alert_at")
    list_filter = ("active", "armed", "direction")
    raw_id_fields = ("subscription",)
