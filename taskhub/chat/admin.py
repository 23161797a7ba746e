from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from agents.chat.card import card_text
from taskhub.chat.models import Conversation, Turn


class TurnInline(admin.TabularInline):
    model = Turn
    extra = 0
    can_delete = False
    fields = ("created_at", "role", "text", "card")
    readonly_fields = fields

    @admin.display(description="card")
    def card(self, turn: Turn) -> str:
        card = (turn.reply or {}).get("card")
        if not card:
            return "-"
        lines = card_text(card, language=(turn.conversation.language or "en")).splitlines()
        return format_html_join("", "{}<br>", ((line,) for line in lines))

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        # Each row's card reads its conversation's language: one join, not a query per turn.
        return super().get_queryset(request).select_related("conversation")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "language", "created_at", "updated_at")
    list_filter = ("language",)
    search_fields = ("owner__username",)
    raw_id_fields = ("owner",)
    readonly_fields = ("pending_draft", "created_at", "updated_at")
    inlines = [TurnInline]
    show_full_result_count = False
