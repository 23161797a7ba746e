from __future__ import annotations

from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "tools.gateway"
    label = "gateway"
    verbose_name = "Tool gateway"
    default_auto_field = "django.db.models.BigAutoField"
