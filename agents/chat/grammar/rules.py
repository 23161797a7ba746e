"""The intent rules: one utterance -> the slots the extractors found -> ``Draft | Manage | Refusal``.

``analyse`` runs the extractors in a fixed order, each consuming what it read
(places, forecast words, fuel grade, amounts, recurrence, date, part of day,
times, numbers, comparison); ``draft`` combines the slots:

- a comparison on weather or fuel -> a monitor;
- a recurrence -> a periodic push; a date, a delay or a time -> a one-off;
- "remind me to ..." / "提醒我..." without weather or fuel -> the ``reminder`` tool.

Missing slots are listed in the order a follow-up should ask for them:
tool, place, text, threshold, time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from agents.chat.grammar import calendar, clock, manage, places, safety, slots
from agents.chat.grammar.calendar import Recurrence, When
from agents.chat.grammar.clock import Clock
from agents.chat.grammar.places import PlaceRef
from agents.chat.grammar.text import Text, Work, numerals
from agents.chat.intent import Draft, Manage, Refusal, Slot

_CJK = re.compile(r"[\u4e00-\u9fff]")
_EN_REMIND = re.compile(r"\bremind(?:er)?s?\b(?:\s+me)?")
_EN_REMIND_TO = re.compile(r"\bremind\s+me\s+(?:\S+\s+){0,6}?(?:to|that)\s+\S")
_ZH_REMIND = re.compile(r"(?:记得)?(?:提醒|叫)(?:一下)?我(?:一下)?")
_CONNECTORS = re.compile(
    r"^(?:\s|[,.:;!?]|to\b|that\b|about\b|of\b|at\b|on\b|in\b|by\b|for\b|please\b|要|该|记得|一下)+"
    r"|(?:\s|[,.:;!?]|\bat|\bon|\bin|\bby|\bfor|\bplease|\bevery|\band|\bthe|吧|哦|啊|了|一下)+$"
)
# What is left of "提醒我北京的天气" once the data words are gone is nothing: a push, not an errand.
_DATA_WORDS = re.compile(places.MARK + r"|天气|预报|油价|汽油|柴油|价格|(?<!\d)\d+号|的|一下|情况|推送|发|[\s,.!?]")
_DATA_TOOLS = ("fuel_price", "weather_forecast", "current_weather")


@dataclass
class Analysis:
    """Everything the extractors found in one utterance."""

    text: Text
    chinese: bool
    places: list[PlaceRef] = field(default_factory=list)
    tool: str | None = None
    forecast_days: int | None = None
    grade: str | None = None
    recurrence: Recurrence | None = None
    when: When | None = None
    part: str | None = None
    clocks: list[Clock] = field(default_factory=list)
    comparison: slots.Comparison | None = None
    conditions: list[slots.Comparison] = field(default_factory=list)  # two or more: a compound condition
    joiner: str = "all"
    metric: str | None = None
    reminder: bool = False
    reminder_text: str | None = None
    rest: str = ""  # the normalised text without the dates and times read from it
    numbers: list[slots.Number] = field(default_factory=list)
    refusal: Refusal | None = None
    manage: Manage | None = None

    @property
    def has_time(self) -> bool:
        return bool(self.recurrence or self.when or self.clocks or self.part)


def analyse(raw: str, *, language: str | None = None) -> Analysis:
    """Run every extractor over ``raw``; ``language`` ("en"/"zh") picks the refusal wording, else the script does."""
    text = Text.of(raw)
    found = places.replace(text)
    chinese = language == "zh" if language else bool(_CJK.search(raw))
    result = Analysis(text=text, chinese=chinese, places=found)
    # Before numerals: names such as 张三 are words, not numbers.
    if refusal := safety.check(text.norm, chinese=result.chinese):
        result.refusal = refusal
        return result
    numerals(text)
    norm = text.norm
    if not (_EN_REMIND_TO.search(norm) or re.match(r"\s*remind", norm)):
        result.manage = manage.match(norm, found)
        if result.manage is not None:
            return result
    work = Work(norm)
    result.forecast_days = slots.take_forecast_days(work)
    fuel = bool(slots.FUEL.search(work.s))
    result.grade = slots.take_grade(work)
    money = slots.take_money(work)
    parts = clock.parts_of(work.s)
    result.part = parts[0][1] if parts else None
    before_times = len(work.taken)
    result.recurrence = calendar.take_recurrence(work)
    result.when = calendar.take_when(work)
    clock.drop_parts(work)
    result.clocks = clock.take_clocks(work, parts)
    result.rest = Work.without(norm, work.taken[before_times:])
    result.numbers = numbers = sorted(money + slots.take_numbers(Work(work.s)), key=lambda n: n.start)
    data = fuel or result.grade or result.forecast_days or slots.WEATHER.search(norm)
    if data:  # "move the car" is no comparison
        found, result.joiner = slots.take_comparisons(work, numbers)
        result.comparison = found[0] if found else None
        # One fuel price per subscription: clauses about other things are not its conditions.
        result.conditions = found if len(found) > 1 and not (fuel or result.grade) else []
    result.metric = slots.metric(norm)
    trigger = _EN_REMIND.search(norm) or _ZH_REMIND.search(norm)
    if trigger is not None:
        result.reminder = True
        result.reminder_text = words(text, result.rest, after=trigger)
    result.tool = _tool(result, fuel, errand=_errand(result, norm, trigger))
    return result


def _errand(a: Analysis, norm: str, trigger: re.Match[str] | None) -> bool:
    """Is the reminder's text something to do ("buy 92 petrol"), not just the data to send ("北京天气")?"""
    if trigger is None or not a.reminder_text or a.comparison is not None:
        return False
    if _EN_REMIND.search(norm):
        return bool(_EN_REMIND_TO.search(norm))
    return bool(_DATA_WORDS.sub("", a.rest[trigger.end() :]))


def _tool(a: Analysis, fuel: bool, *, errand: bool) -> str | None:
    if errand:
        return "reminder"
    if fuel or a.grade is not None:
        return "fuel_price"
    if a.forecast_days is not None:
        return "weather_forecast"
    if slots.WEATHER.search(a.text.norm):
        return "current_weather"
    if a.reminder and a.comparison is None:
        return "reminder"
    return None


def words(text: Text, rest: str, after: re.Match[str] | None = None) -> str | None:
    """The words left in ``rest`` (after the ``after`` match), as typed, without connecting words at the ends.

    "remind me to call Mom tomorrow at 3pm" -> "call Mom"; "提醒我买三个苹果" -> "买三个苹果".
    """
    offset = after.end() if after is not None else 0
    pieces = [text.source(offset + m.start(), offset + m.end()) for m in re.finditer(r"\S+(?:\s\S+)*", rest[offset:])]
    # A piece that is only connecting words ("at" between a date and a time) goes too.
    joined = " ".join(piece for piece in pieces if _strip(piece))
    return _strip(joined) or None


def _strip(words: str) -> str:
    """``words`` without connecting words and punctuation at either end."""
    previous = None
    while previous != words:
        previous, words = words, _CONNECTORS.sub("", words)
    return words


def fresh(analysis: Analysis, now: datetime) -> Draft | Manage | Refusal:
    """The intent of a stand-alone utterance."""
    if analysis.refusal is not None:
        return analysis.refusal
    if analysis.manage is not None:
        return analysis.manage
    if analysis.tool is None and not (analysis.recurrence or analysis.clocks):
        return safety.off_topic(chinese=analysis.chinese)
    return draft(analysis, now)


def draft(a: Analysis, now: datetime) -> Draft:
    kind = None
    if a.comparison is not None and a.tool != "reminder":
        kind = "monitor"
    elif a.recurrence is not None:
        kind = "periodic"
    elif a.when is not None or a.clocks or a.part or a.tool == "reminder":
        kind = "once"
    # A monitor watches the fields of the current conditions; a forecast's days are no threshold.
    tool = "current_weather" if kind == "monitor" and a.tool == "weather_forecast" else a.tool
    cron = run_at = None
    time_known = False
    if kind == "periodic":
        assert a.recurrence is not None
        cron, time_known = calendar.cron(a.recurrence, a.clocks, a.part)
    elif kind == "once":
        run_at, time_known = calendar.run_at(a.when, a.clocks[0] if a.clocks else None, a.part, now)
    arguments = arguments_for(tool, a.places[0] if a.places else None, a)
    condition = condition_for(a) if kind == "monitor" else None
    return Draft(
        kind=kind,  # type: ignore[arg-type]
        tool=tool,
        arguments=arguments,
        cron=cron,
        run_at=run_at,
        condition=condition,
        missing=missing(kind, tool, arguments, condition, time_known),
    )


def arguments_for(tool: str | None, place: PlaceRef | None, a: Analysis) -> dict[str, object]:
    if tool == "fuel_price":
        args: dict[str, object] = {"grade": a.grade or "92"}
        if place is not None and place.in_mainland:
            args = {"region": place.name, **args}
        return args
    if tool in ("current_weather", "weather_forecast"):
        args = {"city": place.city.name} if place is not None and place.city is not None else {}
        if tool == "weather_forecast":
            args["days"] = a.forecast_days or 3
        return args
    if tool == "reminder" and a.reminder_text:
        return {"text": a.reminder_text}
    return {}


def condition_for(a: Analysis) -> dict[str, object]:
    """The monitor's condition as data; clauses joined by and/or become ``{"all"|"any": [...]}``."""
    if a.conditions:
        return {a.joiner: [_leaf(a.tool, c, c.metric) for c in a.conditions]}
    assert a.comparison is not None
    return _leaf(a.tool, a.comparison, a.metric)


def _leaf(tool: str | None, comparison: slots.Comparison, metric: str | None) -> dict[str, object]:
    if tool == "fuel_price":
        name: str | None = "price"
    elif tool is None:
        name = metric
    elif comparison.unit == "°":
        name = "temperature_c" if metric != "feels_like_c" else metric
    elif metric is None and comparison.op == "changed":
        name = "condition"
    else:
        name = metric or "temperature_c"
    condition: dict[str, object] = {"field": name, "op": comparison.op} if name else {"op": comparison.op}
    if comparison.value is not None:
        value = comparison.value
        condition["value"] = int(value) if value == int(value) else value
    return condition


def missing(
    kind: str | None, tool: str | None, arguments: dict[str, object], condition: dict | None, time_known: bool
) -> tuple[Slot, ...]:
    """The slots a draft still lacks, in the order to ask for them."""
    needed = []
    if tool is None:
        needed.append(Slot.TOOL)
    if tool in _DATA_TOOLS and not ({"city", "region"} & arguments.keys()):
        needed.append(Slot.PLACE)
    if tool == "reminder" and "text" not in arguments:
        needed.append(Slot.TEXT)
    if kind == "monitor" and condition and condition.get("op", "changed") != "changed" and "value" not in condition:
        needed.append(Slot.THRESHOLD)
    if kind != "monitor" and not time_known:
        needed.append(Slot.TIME)
    return tuple(needed)
