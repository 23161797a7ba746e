from __future__ import annotations

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "taskhub.channels"
    label = "channels"
    verbose_name = "Push channels"
