from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "taskhub.core"
    label = "core"
    verbose_name = "TaskHub core"

    def ready(self) -> None:
        from taskhub.obs.sentry import init_sentry

        init_sentry()
