from __future__ import annotations

from django.contrib import admin

from taskhub.channels.models import Channel, Delivery, InboxMessage, NotificationPreferences


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "kind", "enabled", "consecutive_failures")
    exclude = ("secret",)  # shown once to its owner, never again
    list_filter = ("kind", "enabled")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "idempotency_key", "channel", "status", "attempts", "sent_at")
    list_filter = ("status",)
    search_fields = ("idempotency_key",)
    raw_id_fields = ("execution", "channel")
    show_full_result_count = False
    readonly_fields = [field.name for field in Delivery._meta.fields]


@admin.register(InboxMessage)
class InboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "title", "urgent", "created_at", "read_at")
    list_filter = ("urgent",)
    search_fields = ("title", "owner__username")
    raw_id_fields = ("owner", "execution", "subscription", "channel", "snapshot")
    readonly_fields = ("payload",)  # what the user sees as data: the snapshot's, or the row's own
    show_full_result_count = False


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(admin.ModelAdmin):
    list_display = ("owner", "quiet_start", "quiet_end", "timezone")
    raw_id_fields = ("owner",)
