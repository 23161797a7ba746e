"""Latency of ``POST /api/v1/chat/`` from a sentence to a confirmation card, with the embedded parser.

    make bench BENCH=chat [ARGS="--repeat 200"]

Each request parses a sentence (English and Chinese, periodic, monitor and once),
validates the draft against the real tool registry (tool servers in a real
process), writes the draft subscription and both turns, and renders the card.
Baseline measured in the same run: the same requests with a parser that replays
the intent the embedded parser gave for each sentence (everything but the parsing).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from _setup import bench_database, machine, percentiles

# One user sends every request: the benchmark measures the endpoint, not the throttle.
os.environ.setdefault("API_USER_RATE", "1000000/min")

SENTENCES = (
    "每天早上8点告诉我北京的天气",
    "send me Shanghai's weather every weekday at 6:45",
    "上海92号汽油降到7块以下告诉我",
    "每周一上午9点告诉我广州的天气",
    "tell me when 92 petrol in Shanghai drops below 7 yuan",
)


def _measure(client: Any, repeat: int) -> tuple[dict[str, float], int]:
    samples, cards = [], 0
    for i in range(repeat):
        started = time.perf_counter()
        response = client.post("/api/v1/chat/", {"message": SENTENCES[i % len(SENTENCES)]}, format="json")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
        cards += response.json()["type"] == "card"
    return percentiles(samples), cards


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with bench_database():
        from django.conf import settings

        settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""  # the embedded parser, whatever the shell says
        from agents.chat import parsers

        _run(args.repeat, parsers.embedded_parser())


def _run(repeat: int, embedded: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from rest_framework.test import APIClient

    from agents.chat import parsers
    from agents.chat.intent import ParseContext
    from taskhub.channels.models import NotificationPreferences
    from tests.processes import tool_servers
    from tools.gateway import registry, services
    from tools.gateway.models import ToolServer

    user = get_user_model().objects.create_user("bench-chat")
    NotificationPreferences.objects.create(owner=user, timezone="Asia/Shanghai")
    client = APIClient()
    client.force_authenticate(user)
    context = ParseContext(now=timezone.now(), timezone="Asia/Shanghai")
    replies = {sentence: embedded.parse(sentence, context) for sentence in SENTENCES}

    class ReplayParser:
        """The embedded parser's own intents, replayed: the baseline costs everything but the parsing."""

        def parse(self, text: str, context: Any) -> Any:
            return replies[text]

    with tool_servers() as url:
        for name in ("weather", "fuel", "reminder"):
            services.tool_server_save(server=ToolServer(name=name, url=f"{url}/{name}/mcp"))
        registry.bump()
        _measure(client, 5)  # warm: registry discovery, imports, first connections
        embedded_figures, cards = _measure(client, repeat)
        parsers.get_parser = lambda: ReplayParser()
        baseline, _ = _measure(client, repeat)
    figures = {
        "benchmark": "chat",
        "requests": repeat,
        "cards": cards,
        "embedded": embedded_figures,
        "baseline_replayed_intents": baseline,
        "machine": machine(),
    }
    print(f"chat -> card, embedded parser: p50 {embedded_figures['p50_ms']} ms, p95 {embedded_figures['p95_ms']} ms")
    print(f"  ({cards}/{repeat} answered with a card)")
    print(f"baseline, replayed intents (no parsing): p50 {baseline['p50_ms']} ms, p95 {baseline['p95_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
