"""Create an event source for ``POST /api/v1/events/`` and print its signing secret (shown once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from taskhub.monitoring.services import event_source_create


class Command(BaseCommand):
    help = "Create an event source NAME (optionally limited to --tools) and print its whsec_ secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--tools", nargs="*", default=[], help="tools it may report on (default: any)")

    def handle(self, *args: Any, **opts: Any) -> None:
        source, secret = event_source_create(name=opts["name"], tools=opts["tools"])
        self.stdout.write(f"event source {source.name}: secret {secret}")
