from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "taskhub.monitoring"
    label = "monitoring"

    def ready(self) -> None:
        from taskhub.monitoring import pollers
        from tools.gateway.signals import tool_results_changed

        # An override changes a tool's answers now: its watched calls are polled at once, uncached.
        tool_results_changed.connect(pollers.on_tool_results_changed, dispatch_uid="monitoring.poll_changed")
