"""What the agent says back: follow-up questions per slot, and the user's language (EN or ZH)."""

from __future__ import annotations

import re

from agents.chat.intent import Slot

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")

QUESTIONS: dict[Slot, tuple[str, str]] = {
    Slot.TOOL: (
        "What should I fetch for you: the weather, a weather forecast, a fuel price, or a reminder?",
        "需要我为你做什么：查天气、天气预报、油价，还是设个提醒？",
    ),
    Slot.PLACE: ("Which city (or province, for fuel prices)?", "哪个城市（油价请说省份）？"),
    Slot.TIME: (
        'When should it run? For example "every day at 8:00" or "tomorrow at 15:00".',
        "什么时候执行？比如“每天早上8点”或“明天下午3点”。",
    ),
    Slot.THRESHOLD: ('At what value should I alert you? For example "below 7".', "到多少时提醒你？比如“低于7”。"),
    Slot.TEXT: ("What should the reminder say?", "提醒的内容是什么？"),
    Slot.TARGET: ("Which subscription do you mean?", "你指的是哪一个订阅？"),
}


def language_of(text: str, *, default: str) -> str:
    """ "zh" when the text has Chinese characters, "en" when it has Latin letters, else ``default``."""
    if _CJK.search(text):
        return "zh"
    if _LATIN.search(text):
        return "en"
    return default


def question(slot: Slot, language: str, *, problem: str | None = None) -> str:
    """The follow-up question for ``slot``; ``problem`` (a validation message) is said first."""
    en, zh = QUESTIONS[slot]
    asked = zh if language == "zh" else en
    if problem:
        return (f"这个不行：{problem}。" if language == "zh" else f"I can't use that: {problem}. ") + asked
    return asked


def say(language: str, en: str, zh: str) -> str:
    return zh if language == "zh" else en
