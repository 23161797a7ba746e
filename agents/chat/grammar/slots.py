"""What to fetch and what to watch: tool words, fuel grade, forecast days, weather metric, comparison + number.

Every ``take_*`` consumes what it recognised from a :class:`Work`, so a fuel
grade ("92号") or a time ("7点") is never read again as a threshold.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from agents.chat.grammar.places import MARK
from agents.chat.grammar.text import Work

FUEL = re.compile(
    r"\b(?:petrol|gasoline|gas\s+prices?|gas|fuel|diesel|unleaded|oil\s+prices?)\b|汽油|柴油|油价|加油|成品油|(?<!\d)0号"
)
WEATHER = re.compile(
    r"\bweather\b|\btemperatures?\b|\btemp\b|\bdegrees?\b|°|\bcelsius\b|(?<![a-z])aqi(?![a-z])|\bair\s+(?:quality|pollution)\b"
    r"|\bhumidity\b|\brain(?:s|ing|y)?\b|\bwind(?:y)?\b|\bcold(?:er)?\b|\bwarm(?:er)?\b|\bhot(?:ter)?\b|\bfreezing\b"
    r"|(?<![a-z])pm\s*2\.?5(?!\d)|天气|气温|温度|空气|湿度|降雨|下雨|降水|风速|大风|雾霾|污染|体感|(?<=\d)\s*度|冷|热"
)
_FORECAST_DAYS = (
    (
        re.compile(
            r"\btomorrow'?s\s+(?:\W\s+)?(?:weather|forecast)\b|\b(?:weather|forecast)\s+(?:\W\s+)?for\s+tomorrow\b"
            r"|(?:明天|明日)的?" + MARK + "?的?天气"
        ),
        2,
    ),
    (re.compile("后天的?" + MARK + "?的?天气"), 3),
    (re.compile(r"\b(?:this\s+|next\s+)?week'?s?\s+(?:weather|forecast)\b|\bweekly\s+forecast\b"), 7),
    (re.compile(r"未来\s*1?\s*周|1周|7天|(?:下|本|这)周的?" + MARK + "?的?天气"), 7),
    (
        re.compile(
            r"\b(\d)[-\s]?days?'?\s+(?:weather\s+)?forecasts?\b|\b(\d)-day\b"
            r"|\b(?:weather|forecast)\s+(?:for\s+)?(?:the\s+)?next\s+(\d)\s+days\b"
            r"|未来\s*(\d)\s*天|(\d)\s*天(?:的)?(?:天气)?预报"
        ),
        0,
    ),
)
_FORECAST = re.compile(r"\bforecasts?\b|预报")
_GRADES = (
    re.compile(r"(?<![\d.])(92|95|98|0)\s*号"),
    re.compile(r"#\s*(92|95|98)\b"),
    re.compile(r"(?<![\d.])(92|95|98)(?=\s*(?:octane|ron|petrol|gasoline|gas|fuel|unleaded|price|汽油|的?油价))"),
    re.compile(r"(?<![\d.])(92|95|98)(?=\s+(?:in|at|for)\s+" + MARK + ")"),
    re.compile(r"(?:petrol|gasoline|gas|fuel|汽油|price\s+of|price\s+for|grade)\s*#?\s*(92|95|98)(?![\d.])"),
)
_DIESEL = re.compile(r"\bdiesel\b|柴油")
_METRICS = (
    ("feels_like_c", re.compile(r"\bfeels?\s+like\b|体感")),
    (
        "aqi",
        re.compile(
            r"(?<![a-z])aqi(?![a-z])|\bair\s+(?:quality|pollution)\b|\b(?:pollution|smog)\b|pm\s*2\.?5|空气|污染|雾霾"
        ),
    ),
    ("humidity_pct", re.compile(r"\bhumid(?:ity)?\b|湿度")),
    ("precipitation_probability_pct", re.compile(r"\brain(?:s|ing|y)?\b|\bprecipitation\b|降雨|下雨|降水")),
    ("wind_speed_kmh", re.compile(r"\bwind(?:y|s)?\b|风速|风力|大风|刮风")),
    (
        "temperature_c",
        re.compile(r"\btemp(?:erature)?s?\b|\bdegrees?\b|°|\bcelsius\b|\bcold|\bwarm|\bhot|\bfreez|气温|温度|度|冷|热"),
    ),
)
_MONEY = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:块钱?|元|yuan|rmb)(?:\s*(\d)\s*毛?(?![\d.]))?|(?<![\d.])(\d+)\s*点\s*(\d+)\s*(?=元|块)"
)
_NUMBER = re.compile(
    r"(?<![a-z0-9.])(-?\d+(?:\.\d+)?)\s*(%|percent\b|per\s+cent\b|°c?|degrees?\b|度|km/?h\b|kph\b|公里)?"
)

_PCT = r"(?=\s*-?\d+(?:\.\d+)?\s*(?:%|percent|per\s+cent))"


# "7 yuan or less": the number belongs to the wording; single spaces, so "or [blanked word] below" is not it.
_OR_NUMBER = r"-?\d+(?:\.\d+)?\s*(?:[a-z°%]+\s)?or\s"


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


# Order is priority: the first kind of wording found decides the operator.
_OPS = (
    (
        "pct_drop",
        _words(
            r"\b(?:drops?|dropped|falls?|fell|goes\s+down|decreases?|dips?|declines?|down)\s*(?:by)?" + _PCT,
            r"(?:下降|下跌|降低|跌幅|降幅|跌|降)了?\s*(?:超过)?" + _PCT,
        ),
    ),
    (
        "pct_rise",
        _words(
            r"\b(?:rises?|rose|goes\s+up|increases?|climbs?|jumps?|up)\s*(?:by)?" + _PCT,
            r"(?:上涨|上升|涨幅|涨|升)了?\s*(?:超过)?" + _PCT,
        ),
    ),
    (
        "lte",
        _words(
            r"\bat\s+or\s+below\b|\bno\s+more\s+than\b|\bat\s+most\b",
            _OR_NUMBER + r"(?:less|lower|below)\b",
            "不高于|不超过",
        ),
    ),
    (
        "gte",
        _words(
            r"\bat\s+or\s+above\b|\bat\s+least\b|\bno\s+less\s+than\b",
            _OR_NUMBER + r"(?:more|higher|above)\b",
            "不低于|不少于",
        ),
    ),
    (
        "lt",
        _words(
            r"\bbelow\b|\bunder\b|\bless\s+than\b|\blower\s+than\b|\bcolder\s+than\b|\bcooler\s+than\b|\bcheaper\s+than\b",
            r"\b(?:weaker|slower|better)\s+than\b",
            "低于|小于|少于|跌破|不到|不足|以下|之下",
        ),
    ),
    (
        "gt",
        _words(
            r"\babove\b|\bover\b|\bmore\s+than\b|\bhigher\s+than\b|\bgreater\s+than\b|\bexceeds?\b",
            r"\bwarmer\s+than\b|\bhotter\s+than\b|\bmore\s+expensive\s+than\b",
            r"\b(?:stronger|faster|worse)\s+than\b",
            "高于|大于|超过|多于|突破|以上|之上",
        ),
    ),
    (
        "lte",
        _words(r"\b(?:drops?|falls?|goes\s+down|comes\s+down|dips?|decreases?)\s+to\b", "降到|跌到|降至|跌至|回落到"),
    ),
    (
        "gte",
        _words(
            r"\b(?:rises?|goes\s+up|climbs?|increases?)\s+to\b|\breach(?:es)?\b|\bhits\b", "涨到|升到|涨至|升至|达到"
        ),
    ),
    (
        "changed",
        _words(r"\bchang(?:e|es|ed|ing)\b|\badjust(?:s|ed|ment)?\b", "变化|变动|调价|调整|有变|变了"),
    ),
    (
        "lt",
        _words(r"\b(?:drops?|falls?|goes\s+down|decreases?|dips?|gets\s+cheaper)\b", "降价|下降|下跌|降了|跌了|便宜"),
    ),
    ("gt", _words(r"\b(?:rises?|goes\s+up|increases?|climbs?)\b", "涨价|上涨|涨了|贵了")),
)


@dataclass(frozen=True)
class Number:
    value: float
    unit: str
    start: int


@dataclass(frozen=True)
class Comparison:
    """An operator and, when the user gave one, its number (None: ask for the threshold).

    ``metric``: the weather field named in the comparison's own clause, if any
    ("... below 0 or the AQI above 200": the second one's is ``aqi``).
    """

    op: str
    value: float | None
    unit: str = ""
    metric: str | None = None


_JOINS = re.compile(r"\b(or|and)\b|(或者|或是|或|并且|而且|同时)")


def take_forecast_days(work: Work) -> int | None:
    """Days of forecast asked for (today first), or None when the text asks for no forecast."""
    for pattern, days in _FORECAST_DAYS:
        if match := work.take_one(pattern):
            asked = days or int(next(g for g in match.groups() if g))
            work.take(_FORECAST)
            return max(1, min(7, asked))
    if work.take(_FORECAST):
        return 3
    return None


def take_grade(work: Work) -> str | None:
    if work.take(_DIESEL):
        return "0"
    for pattern in _GRADES:
        if match := work.take_one(pattern):
            return match.group(1)
    return None


def metric(text: str) -> str | None:
    """The current_weather output field the text talks about, or None."""
    for field, pattern in _METRICS:
        if pattern.search(text):
            return field
    return None


def take_money(work: Work) -> list[Number]:
    """Amounts in yuan, "7块5" and "7点5元" included (before times read "7点5" as 7:05)."""
    found = []
    for match in work.take(_MONEY):
        whole, tenth, whole2, decimals = match.groups()
        value = float(whole) + int(tenth) / 10 if whole and tenth else float(whole or f"{whole2}.{decimals}")
        found.append(Number(value, "yuan", match.start()))
    return found


def take_numbers(work: Work) -> list[Number]:
    units = {"percent": "%", "per cent": "%", "度": "°", "degrees": "°", "degree": "°", "°c": "°", "公里": "km/h"}
    found = []
    for match in work.take(_NUMBER):
        unit = " ".join((match.group(2) or "").split())
        found.append(Number(float(match.group(1)), units.get(unit, unit), match.start()))
    return found


def take_comparisons(work: Work, numbers: list[Number]) -> tuple[list[Comparison], str]:
    """The comparison of each clause and how they join ("all" for and/并且, "any" for or/或者).

    Clauses only count as separate conditions when each names its own field and
    number, all different; otherwise the first comparison is the condition.
    """
    cuts = list(_JOINS.finditer(work.s))
    bounds = [0, *(m.start() for m in cuts), len(work.s)]
    clauses: list[Comparison] = []
    for begin, end in itertools.pairwise(bounds):
        clause = Work(" " * begin + work.s[begin:end] + " " * (len(work.s) - end))
        found = take_comparison(clause, [n for n in numbers if begin <= n.start < end])
        if found is not None:
            clauses.append(Comparison(found.op, found.value, found.unit, metric(work.s[begin:end])))
    fields = {c.metric for c in clauses if c.metric and c.value is not None}
    if len(clauses) > 1 and len(fields) == len(clauses):  # each clause names its own field and number
        joiner = "any" if any(m.group() in ("or", "或者", "或是", "或") for m in cuts) else "all"
        return clauses, joiner
    single = take_comparison(work, numbers)
    return ([single] if single else []), "all"


def take_comparison(work: Work, numbers: list[Number]) -> Comparison | None:
    """The first kind of comparison worded in ``work``, with the nearest number after it (else before it)."""
    for op, pattern in _OPS:
        match = pattern.search(work.s)
        if match is None:
            continue
        work.take(pattern)
        if op == "changed":
            return Comparison(op, None)
        after = [n for n in numbers if n.start >= match.start()]
        before = [n for n in numbers if n.start < match.start()]
        number = after[0] if after else (before[-1] if before else None)
        if number is None:
            return Comparison(op, None)
        return Comparison(op, number.value, number.unit)
    return None
