"""Register the bundled tool servers (idempotent): ``manage.py register_tools [--base-url URL]``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tools.gateway import services

BUNDLED = ("weather", "fuel", "reminder")


class Command(BaseCommand):
    help = "Register the bundled MCP tool servers (weather, fuel, reminder) unless already registered."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default=settings.TOOLS_BASE_URL, help="where tools.servers.app listens")

    def handle(self, *args: Any, base_url: str, **options: Any) -> None:
        for name in BUNDLED:
            _, created = services.tool_server_register(name=name, url=f"{base_url.rstrip('/')}/{name}/mcp")
            self.stdout.write(f"tool server {name}: {'registered' if created else 'already registered'}")
