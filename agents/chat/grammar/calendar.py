"""When: recurrences ("every weekday", "每周一") for crons, dates and delays ("tomorrow", "20分钟后") for one-offs.

``cron`` and ``run_at`` turn what was found into the draft's fields. When the
user gave no time of day they still return a suggestion (the part of day's
usual hour) together with ``known=False``: the draft then lists ``Slot.TIME``
as missing, and the follow-up answer ("at 9") keeps the recurrence or the date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from agents.chat.grammar.clock import DEFAULT_HOUR, Clock
from agents.chat.grammar.text import Work

_DAY = r"(mon|tues|tue|wednes|wed|thurs|thur|thu|fri|satur|sat|sun)(?:day)?"
_DAY_INDEX = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 0}
_MINUTES = {"m": 1, "h": 60, "d": 1440, "分": 1, "小": 60, "钟": 60, "天": 1440}


@dataclass(frozen=True)
class Recurrence:
    """How often a periodic push runs: on days of the week (a cron day-of-week field) or every N minutes."""

    dow: str = "*"
    every_minutes: int | None = None


@dataclass(frozen=True)
class When:
    """When a one-off runs: a delay from now, or a day (``days`` from today, a weekday of this/next week,
    or a ``(month, day)`` date, this year or, once past, next year)."""

    delay: timedelta | None = None
    days: int | None = None
    date: tuple[int, int] | None = None
    weekday: int | None = None  # cron numbering, 0 = Sunday
    week: str | None = None  # "this" | "next" | None (the coming one)


_INTERVALS = (
    re.compile(r"\bevery\s+(\d+)\s*(m|h)(?:in(?:ute)?s?|(?:ou)?rs?)?\b"),
    re.compile(r"每隔?\s*(\d+)\s*个?\s*(分|小|钟)(?:钟|时|头)?"),
)
_HALF_HOURLY = re.compile(r"\bevery\s+half(?:\s+an)?\s+hour\b|每隔?半个?小时")
_HOURLY = re.compile(r"\b(?:every|each)\s+hour\b|\bhourly\b|\bonce an hour\b|每个?小时|每个钟头")
_WEEKDAYS = re.compile(
    r"\b(?:every\s+|each\s+|on\s+)?(?:week\s?days?|work\s?days?|working\s+days?|business\s+days?)\b"
    r"|\bmon(?:day)?\s*(?:-|to|through|thru)\s*fri(?:day)?\b|工作日|周1\s*(?:到|至|-|~)\s*周?5"
)
_WEEKENDS = re.compile(r"\b(?:every\s+|on\s+)?weekends?\b|周末|双休日")
_DAY_SEP = r"(?:\s*,\s*|\s+and\s+|\s*,\s*and\s+|\s*&\s*)"
_EN_DAYS = re.compile(
    r"\b(?:every|each)\s+" + _DAY + r"s?\b(?:" + _DAY_SEP + _DAY + r"s?\b)*"
    r"|\b(?:on\s+)?" + _DAY + r"s\b(?:" + _DAY_SEP + _DAY + r"s\b)*"
)
_ZH_DAYS = re.compile(r"每个?周([1-7](?:[\s,和及与]*周?[1-7](?!\d|\s*[点时:]))*)")
_DAILY = re.compile(
    r"\bevery\s*day\b|\beach\s+day\b|\bdaily\b|\bevery\s+(?=(?:morning|afternoon|evening|night)\b)"
    r"|每天|每日|(?<![今明后昨每])天天(?!气)|每1天|每[早晚]"
)
_PLURAL_PARTS = re.compile(r"\b(?:mornings|afternoons|evenings|nights)\b")

_DELAYS = (
    re.compile(r"\bin\s+(\d+|an?)\s*(m|h|d)(?:in(?:ute)?s?|(?:ou)?rs?|ays?)?\b"),
    re.compile(r"\b(\d+)\s*(m|h|d)(?:in(?:ute)?s?|(?:ou)?rs?|ays?)?\s+from\s+now\b"),
    re.compile(r"(?<!\d)(\d+)\s*个?\s*(分|小|钟|天)(?:钟|时|头)?\s*(?:以后|之后|后)"),
    re.compile(r"过\s*(\d+)\s*个?\s*(分|小|钟)(?:钟|时|头)?"),
)
_HALF_HOUR_DELAY = re.compile(r"\bin\s+half\s+an\s+hour\b|半个?小时(?:以后|之后|后)")
_HOURS_AND_A_HALF = re.compile(
    r"\bin\s+(\d+|an?)\s+hours?\s+and\s+a\s+half\b|(?<!\d)(\d+)\s*个半\s*(?:小时|钟头)(?:以后|之后|后)"
)
_DAYS_AHEAD = (
    (re.compile(r"大后天"), 3),
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b|后天"), 2),
    (re.compile(r"\btomorrow\b|明天|明日|明[早晚]"), 1),
    (re.compile(r"\btoday\b|\btonight\b|今天|今日|今[早晚]"), 0),
)
# A bare "sun"/"sat" is a word, not a day: short forms need "on"/"next"/"this" before them.
_EN_DATE_DAY = re.compile(
    r"\b(?:(next|this|coming|on)\s+" + _DAY + r"|(monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b"
)
_ZH_DATE_DAY = re.compile(r"(下个?|这个?|本)?周([1-7])")
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?"
)
_MONTH_INDEX = {name: i for i, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun"), 1)} | {
    name: i for i, name in enumerate(("jul", "aug", "sep", "oct", "nov", "dec"), 7)
}
_DATES = (
    (re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"), (1, 2)),
    (re.compile(r"\b(?:on\s+)?" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b"), (1, 2)),
    (re.compile(r"\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH), (2, 1)),
)


def _day_numbers(text: str) -> list[int]:
    """Weekdays in cron numbering from "1 3 5" / "1和周4" / "mondays and thursdays"."""
    found = [int(d) % 7 for d in re.findall(r"[1-7]", text)]
    found += [_DAY_INDEX[d[:3]] for d in re.findall(_DAY, text)]
    return sorted(set(found))


def take_recurrence(work: Work) -> Recurrence | None:
    """How often, consumed from ``work``; None when the text names no recurrence."""
    dow = "*"
    if work.take(_WEEKDAYS):
        dow = "1-5"
    elif work.take(_WEEKENDS):
        dow = "0,6"
    elif days := work.take(_EN_DAYS) or work.take(_ZH_DAYS):
        dow = ",".join(str(d) for d in _day_numbers(" ".join(m.group() for m in days)))
    daily = bool(work.take(_DAILY))
    every = _take_interval(work)
    if every is not None:
        return Recurrence(dow=dow, every_minutes=every)
    if dow != "*" or daily or _PLURAL_PARTS.search(work.s):
        return Recurrence(dow=dow)
    return None


def _take_interval(work: Work) -> int | None:
    if work.take(_HALF_HOURLY):
        return 30
    if work.take(_HOURLY):
        return 60
    for pattern in _INTERVALS:
        if match := work.take_one(pattern):
            return int(match.group(1)) * _MINUTES[match.group(2)]
    return None


def take_when(work: Work) -> When | None:
    """A one-off's day or delay, consumed from ``work``."""
    if match := work.take_one(_HOURS_AND_A_HALF):
        hours = match.group(1) or match.group(2)
        return When(delay=timedelta(minutes=(1 if hours in ("a", "an") else int(hours)) * 60 + 30))
    if work.take(_HALF_HOUR_DELAY):
        return When(delay=timedelta(minutes=30))
    for pattern in _DELAYS:
        if match := work.take_one(pattern):
            count = 1 if match.group(1) in ("a", "an") else int(match.group(1))
            return When(delay=timedelta(minutes=count * _MINUTES[match.group(2)])) if count else None
    for pattern, days in _DAYS_AHEAD:
        if work.take(pattern):
            return When(days=days)
    for pattern, (month_group, day_group) in _DATES:
        if match := work.take_one(pattern):
            month = match.group(month_group)
            number = int(month) if month.isdigit() else _MONTH_INDEX[month[:3]]
            return When(date=(number, int(match.group(day_group))))
    if match := work.take_one(_ZH_DATE_DAY):
        week = {"下": "next", "这": "this", "本": "this"}.get((match.group(1) or " ")[0])
        return When(weekday=int(match.group(2)) % 7, week=week)
    if match := work.take_one(_EN_DATE_DAY):
        week = {"next": "next", "this": "this"}.get(match.group(1) or "")
        return When(weekday=_DAY_INDEX[(match.group(2) or match.group(3))[:3]], week=week)
    return None


def cron(recurrence: Recurrence, clocks: list[Clock], part: str | None) -> tuple[str, bool]:
    """The 5-field cron and whether the user gave its time (else the time is a suggestion)."""
    if recurrence.every_minutes:
        every = recurrence.every_minutes
        if every < 60:
            return f"*/{every} * * * {recurrence.dow}", True
        hours = max(1, every // 60)
        return ("0 * * * " if hours == 1 else f"0 */{hours} * * ") + recurrence.dow, True
    if not clocks:
        return f"0 {DEFAULT_HOUR[part]} * * {recurrence.dow}", part == "noon"
    minute = clocks[0].minute
    hours = sorted({c.hour for c in clocks if c.minute == minute})
    return f"{minute} {','.join(str(h) for h in hours)} * * {recurrence.dow}", True


def run_at(when: When | None, clock: Clock | None, part: str | None, now: datetime) -> tuple[datetime | None, bool]:
    """The one-off's aware time in ``now``'s zone, and whether the user gave its time of day.

    Without a time of day, a day or part of day said ("tomorrow", "tonight") gives a
    placeholder at the part's usual hour (known=False); nothing said gives None.
    """
    if when is not None and when.delay is not None:
        return now + when.delay, True
    zone = now.tzinfo
    day = _day(when, now.date()) if when is not None else None
    if clock is None:
        if day is None and part is None:
            return None, False  # nothing said about when: no placeholder to remember
        hour = DEFAULT_HOUR[part]
        start = day or now.date()
        at = _at(start, hour, 0, zone)
        return (at if at > now else at + timedelta(days=1)), part == "noon"
    hours = [clock.hour]
    if clock.ambiguous and clock.hour < 12:
        # "明天3点" / "tomorrow at 3" mean the afternoon; a bare "at 8" is the next 8 o'clock.
        hours = [clock.hour + 12] if day is not None and clock.hour <= 5 else [clock.hour, clock.hour + 12]
    for offset in range(0, 8):
        start = (day or now.date()) + timedelta(days=offset)
        for hour in hours:
            at = _at(start, hour, clock.minute, zone)
            if at > now:
                return at, True
    return _at(now.date() + timedelta(days=1), hours[0], clock.minute, zone), True


def _day(when: When, today: date) -> date | None:
    if when.days is not None:
        return today + timedelta(days=when.days)
    if when.date is not None:
        month, day = when.date
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                return None  # 2月30日: no such day, so no day at all
            if candidate >= today:
                return candidate
        return None
    assert when.weekday is not None
    iso_today = today.isoweekday()  # Monday 1 .. Sunday 7
    iso_target = when.weekday or 7
    monday = today - timedelta(days=iso_today - 1)
    if when.week == "next":
        return monday + timedelta(days=7 + iso_target - 1)
    if when.week == "this":
        return monday + timedelta(days=iso_target - 1)
    return today + timedelta(days=(iso_target - iso_today) % 7 or 7)


def _at(day: date, hour: int, minute: int, zone: tzinfo | None) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def replace_time(previous: datetime, clock: Clock, suggested_hour: int) -> datetime:
    """A pending one-off's day at the answered time ("at 9" after "tomorrow morning")."""
    hour = clock.hour + 12 if clock.ambiguous and suggested_hour >= 12 and clock.hour < 12 else clock.hour
    return previous.replace(hour=hour, minute=clock.minute, second=0, microsecond=0)
