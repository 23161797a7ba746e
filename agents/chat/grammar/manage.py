"""Requests about the user's existing subscriptions: list, pause, resume, cancel.

A management request starts with (or is built around) a management verb; what
follows narrows it: "all"/"所有" widens the scope, "alerts" names monitors,
"reminders" the reminder tool, "weather"/"fuel" a tool, a place a place.
"""

from __future__ import annotations

import re

from agents.chat.grammar.places import PlaceRef
from agents.chat.grammar.slots import FUEL, WEATHER
from agents.chat.intent import Manage

_LEAD = r"^(?:(?:please|pls|can\s+you|could\s+you|i\s+want\s+to|i'd\s+like\s+to|i\s+wanna|just)\s+)*"
_ZH_LEAD = r"^(?:请|麻烦|帮我|给我|我要|我想)*"
_ACTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "list",
        re.compile(
            r"\bwhat\b.*\b(?:do\s+i\s+have|am\s+i\s+subscribed|have\s+i\s+set)\b|\bwhat\s+are\s+my\b|\bwhat's\s+on\s+my\b"
            + r"|"
            + _LEAD
            + r"(?:list|show|see|view|display)\b(?:\s+me)?\s+(?:all\s+)?(?:of\s+)?(?:my|everything)\b"
            r"|\blist\s+(?:all|my|every)\b|\bi'?m\s+subscribed\b|\bam\s+i\s+subscribed\b"
            r"|我有哪些|我有什么|我都有|我的订阅|列出|(?:查看|看看|显示)(?:一下)?我的|有哪些订阅|订阅列表"
        ),
    ),
    ("pause", re.compile(_LEAD + r"(?:pause|suspend|mute|hold|snooze)\b|暂停|先停")),
    (
        "resume",
        re.compile(
            _LEAD + r"(?:resume|unpause|restart|reactivate|re-?enable|unmute|continue)\b|\bturn\s+.+\s+back\s+on\b"
            r"|恢复|继续|重新开启|重新启用|重新打开"
        ),
    ),
    (
        "cancel",
        re.compile(
            _LEAD + r"(?:stop|cancel|delete|remove|unsubscribe|end|kill|drop|disable|turn\s+off)\b"
            r"|\b(?:cancel|delete|remove|unsubscribe)\b|\bdon'?t\s+(?:send|remind|notify|alert)\b|\bno\s+more\b"
            + r"|"
            + _ZH_LEAD
            + r"(?:取消|删除|删掉|停止|退订|关掉|关闭)|不要再|别再|不想再|不用再|不再|停(?:了|掉)"
        ),
    ),
)
_ALL = re.compile(r"\ball\b|\bevery(?:thing)?\b|\beach\b|\bany\b|所有|全部|一切|都")
_MONITOR = re.compile(r"\balerts?\b|\bmonitors?\b|\balarms?\b|\bwarnings?\b|预警|监控|报警|告警")
_PERIODIC = re.compile(r"\bpush(?:es)?\b|\bdaily\b|\bperiodic\b|\bschedules?\b|\bscheduled\b|推送|定时|每天")
_ONCE = re.compile(r"\bone-?offs?\b|一次性")
_REMINDER = re.compile(r"\breminders?\b")
_FORECAST = re.compile(r"\bforecasts?\b|预报")


def match(norm: str, places: list[PlaceRef]) -> Manage | None:
    """A management request in ``norm`` (normalised, places replaced), or None."""
    action = next((name for name, pattern in _ACTIONS if pattern.search(norm)), None)
    if action is None:
        return None
    kind = None
    if _MONITOR.search(norm):
        kind = "monitor"
    elif _ONCE.search(norm):
        kind = "once"
    elif _PERIODIC.search(norm):
        kind = "periodic"
    tool = None
    if FUEL.search(norm):
        tool = "fuel_price"
    elif _FORECAST.search(norm):
        tool = "weather_forecast"
    elif WEATHER.search(norm):
        tool = "current_weather"
    elif _REMINDER.search(norm):
        tool = "reminder"
    every = action == "list" or bool(_ALL.search(norm))
    return Manage(
        action=action,  # type: ignore[arg-type]
        scope="all" if every else "one",
        kind=kind,  # type: ignore[arg-type]
        place=places[0].name if places else None,
        tool=tool,
    )
