"""What the parser's unit tests share: a fixed now, each tool's arguments, the normaliser's output for a phrase."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from agents.chat.grammar import places
from agents.chat.grammar.text import Text, numerals

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday

# What a draft may carry, per tool: nothing else (no owner, user, channel, URL).
TOOL_ARGUMENTS: dict[str | None, set[str]] = {
    "current_weather": {"city"},
    "weather_forecast": {"city", "days"},
    "fuel_price": {"region", "grade"},
    "reminder": {"text"},
    None: set(),
}


def normalised(raw: str) -> str:
    """``raw`` as the extractors see it: normalised, place names replaced by their marks."""
    text = Text.of(raw)
    places.replace(text)
    numerals(text)
    return text.norm
