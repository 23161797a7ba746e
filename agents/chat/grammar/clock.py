"""Times of day: "8am", "6:45", "at 7", "noon", "早上7点半", "下午3点", "凌晨2点", "8点一刻".

A part of the day ("morning", "晚上") shifts an hour into the afternoon when it
says so (晚上9点 is 21:00) and, alone, stands for a suggested hour that the user
still has to confirm (see ``Part.default``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.chat.grammar.text import Work

_MERIDIEM = r"(am|pm|a\.m\.?|p\.m\.?)"
_CLOCKS = (
    # 6:45, 18:30, 7:30pm
    re.compile(r"(?<![\d.:])(\d{1,2}):(\d{2})(?:\s*" + _MERIDIEM + r")?(?!\d)"),
    # 8am, 3 pm
    re.compile(r"(?<![\d.:])(\d{1,2})()\s*" + _MERIDIEM + r"(?![a-z])"),
    # 早上7点半, 8点15分, 8点一刻, 9点整, 20时
    re.compile(r"(?<!\d)(\d{1,2})\s*(?:点钟?|时(?![通提告发推叫]))\s*(?:(\d)\s*刻|(半)|(\d{1,2})\s*分?|整)?"),
    # at 7, at 7 o'clock, 7 o'clock
    re.compile(
        r"(?:\bat\s+(\d{1,2})(?:\s*o'?clock)?|(?<![\d.])(\d{1,2})\s*o'?clock)(?![\d:.%])"
        r"(?!\s*(?:yuan|rmb|degrees?|°|%|percent|km|kph|mph|minutes?|mins?|hours?|days?)\b)"
    ),
)
_QUARTERS = re.compile(r"\b(half past|quarter past|quarter to)\s+(\d{1,2})\b")
_NAMED = re.compile(r"\b(noon|midday|midnight)\b")

# part -> (hours it shifts into the afternoon?, suggested hour, exact on its own?)
_PART_WORDS = (
    (re.compile(r"凌晨|半夜"), "small hours"),
    (re.compile(r"\bmornings?\b|早上|早晨|清晨|上午|(?<=[每今明])早"), "morning"),
    (re.compile(r"中午|午间"), "noon"),
    (re.compile(r"\bafternoons?\b|下午"), "afternoon"),
    (re.compile(r"\bevenings?\b|傍晚|晚上|晚间|(?<=[每今明])晚"), "evening"),
    (re.compile(r"\bnights?\b|\btonight\b|夜里|夜间"), "night"),
)
DEFAULT_HOUR = {"small hours": 6, "morning": 8, "noon": 12, "afternoon": 15, "evening": 20, "night": 21, None: 8}


@dataclass(frozen=True)
class Clock:
    """A time of day. ``ambiguous``: a 12-hour reading with neither am/pm nor a part of the day ("at 3", "3点")."""

    hour: int
    minute: int
    ambiguous: bool = False


Parts = list[tuple[int, str]]  # (position, part of the day), in the order they are said


def parts_of(text: str) -> Parts:
    """Every part of the day named (morning, noon, ...), read before dates take 明晚/每晚 apart."""
    return sorted((m.start(), part) for pattern, part in _PART_WORDS for m in pattern.finditer(text))


def _part_at(parts: Parts, position: int) -> str | None:
    """The part said last before ``position`` ("早上7点和晚上9点"), else the first one ("at 8 in the evening")."""
    before = [part for start, part in parts if start <= position]
    return before[-1] if before else (parts[0][1] if parts else None)


def drop_parts(work: Work) -> None:
    for pattern, _ in _PART_WORDS:
        work.take(pattern)


def take_clocks(work: Work, parts: Parts) -> list[Clock]:
    """Every time of day in ``work`` (consumed), each resolved against its part of the day."""
    found: list[tuple[int, Clock]] = []
    for match in work.take(_NAMED):
        hour = 0 if match.group(1) == "midnight" else 12
        found.append((match.start(), Clock(hour, 0)))
    for match in work.take(_QUARTERS):
        hour, kind = int(match.group(2)), match.group(1)
        hour, minute = (hour - 1, 45) if kind == "quarter to" else (hour, 30 if kind == "half past" else 15)
        found.append((match.start(), _resolve(hour, minute, None, _part_at(parts, match.start()), padded=False)))
    for pattern in _CLOCKS:
        for match in work.take(pattern):
            found.append((match.start(), _from_match(match, _part_at(parts, match.start()))))
    found.sort(key=lambda item: item[0])
    return [clock for _, clock in found if 0 <= clock.hour < 24 and 0 <= clock.minute < 60]


def _from_match(match: re.Match[str], part: str | None) -> Clock:
    groups = match.groups()
    if len(groups) == 2:  # at 7 / 7 o'clock
        hour = int(groups[0] or groups[1])
        return _resolve(hour, 0, None, part, padded=False)
    if len(groups) == 3:  # 6:45 / 8am
        hour_text, minute_text, meridiem = groups
        return _resolve(int(hour_text), int(minute_text or 0), meridiem, part, padded=hour_text.startswith("0"))
    hour_text, quarter, half, minutes = groups
    minute = 30 if half else int(quarter) * 15 if quarter else int(minutes or 0)
    return _resolve(int(hour_text), minute, None, part, padded=hour_text.startswith("0"))


def _resolve(hour: int, minute: int, meridiem: str | None, part: str | None, *, padded: bool) -> Clock:
    if meridiem:
        pm = meridiem.startswith("p")
        if pm and hour < 12:
            hour += 12
        elif not pm and hour == 12:
            hour = 0
        return Clock(hour, minute)
    if part in ("afternoon", "evening", "night"):
        if hour == 12:  # 下午12点 is noon, 晚上12点 midnight
            return Clock(12 if part == "afternoon" else 0, minute)
        if part == "night" and hour < 5:  # 夜里2点 is 02:00
            return Clock(hour, minute)
        return Clock(hour + 12 if hour < 12 else hour, minute)
    if part == "noon":
        return Clock(hour + 12 if hour < 6 else hour, minute)
    if part in ("morning", "small hours"):
        return Clock(0 if hour == 12 else hour, minute)
    return Clock(hour, minute, ambiguous=1 <= hour <= 12 and not padded)
