from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SubscriptionsConfig(AppConfig):
    name = "taskhub.subscriptions"
    label = "subscriptions"

    def ready(self) -> None:
        post_migrate.connect(_ensure_maintenance_entries, sender=self)


def _ensure_maintenance_entries(**_: object) -> None:
    from taskhub.subscriptions.scheduling import ensure_maintenance_entries

    ensure_maintenance_entries()
