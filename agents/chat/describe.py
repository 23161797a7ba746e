"""Subscriptions in words, English and Chinese: what is fetched, when, and on what condition.

Pure functions of plain values (no database). Text from the user is quoted as
data, never formatted as a template.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cron_descriptor import ExpressionDescriptor, Options

from taskhub.monitoring.conditions import Wording, describe
from tools.geo import find_place, find_province

TOOL_WORDS: dict[str, tuple[str, str]] = {
    "current_weather": ("the current weather", "实时天气"),
    "weather_forecast": ("the weather forecast", "天气预报"),
    "fuel_price": ("the fuel price", "油价"),
    "reminder": ("a reminder", "提醒"),
}

FIELD_WORDS: dict[str, tuple[str, str]] = {
    "price": ("price", "价格"),
    "temperature_c": ("temperature", "气温"),
    "feels_like_c": ("feels-like temperature", "体感温度"),
    "humidity_pct": ("humidity", "湿度"),
    "precipitation_probability_pct": ("chance of rain", "降水概率"),
    "wind_speed_kmh": ("wind speed", "风速"),
    "aqi": ("AQI", "空气质量指数"),
    "condition": ("condition", "天气状况"),
}

UNITS: dict[str, tuple[str, str]] = {
    "price": (" yuan/L", "元/升"),
    "temperature_c": ("°C", "°C"),
    "feels_like_c": ("°C", "°C"),
    "humidity_pct": ("%", "%"),
    "precipitation_probability_pct": ("%", "%"),
    "wind_speed_kmh": (" km/h", "公里/小时"),
}

OP_WORDS: dict[str, tuple[str, str]] = {
    "lt": ("below", "低于"),
    "lte": ("at or below", "不高于"),
    "gt": ("above", "高于"),
    "gte": ("at or above", "不低于"),
    "eq": ("equal to", "等于"),
    "ne": ("not equal to", "不等于"),
    "changed": ("changes", "变化"),
    "pct_drop": ("drops by", "下降"),
    "pct_rise": ("rises by", "上涨"),
}

# cron-descriptor translates its phrases into zh_CN but takes day and month names
# from the process locale (English here); we swap them rather than change a global locale.
_ZH_NAMES = {
    "Monday": "周一",
    "Tuesday": "周二",
    "Wednesday": "周三",
    "Thursday": "周四",
    "Friday": "周五",
    "Saturday": "周六",
    "Sunday": "周日",
    **{
        month: f"{i}月"
        for i, month in enumerate(
            (
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ),
            start=1,
        )
    },
}


def place_names(arguments: dict[str, Any]) -> tuple[str, str] | None:
    """(English, Chinese) name of the city or region in ``arguments``, as the place table knows it."""
    for key in ("city", "region"):
        value = arguments.get(key)
        if not isinstance(value, str):
            continue
        province = find_province(value) if key == "region" else None
        if province is not None:
            return province.name, province.name_zh
        place = find_place(value)
        return (place.name, place.name_zh) if place else (value, value)
    return None


def fetch_words(tool: str, arguments: dict[str, Any]) -> dict[str, str]:
    """What will be fetched, e.g. ``{"en": "the current weather in Beijing", "zh": "北京的实时天气"}``."""
    en, zh = TOOL_WORDS.get(tool, (f"tool {tool}", f"工具 {tool}"))
    if tool == "reminder":
        text = str(arguments.get("text", ""))
        return {"en": f"a reminder: “{text}”", "zh": f"提醒：“{text}”"}
    if tool == "fuel_price":
        grade = str(arguments.get("grade", "92"))
        en, zh = (
            ("the diesel price", "柴油价格") if grade == "0" else (f"the {grade} petrol price", f"{grade}号汽油价格")
        )
    if tool == "weather_forecast" and "days" in arguments:
        en, zh = f"the {arguments['days']}-day weather forecast", f"{arguments['days']}天天气预报"
    names = place_names(arguments)
    if names is None:
        return {"en": en, "zh": zh}
    return {"en": f"{en} in {names[0]}", "zh": f"{names[1]}的{zh}"}


@cache
def schedule_words(cron: str) -> dict[str, str]:
    """A cron expression in English and Chinese (24-hour clock)."""
    words = {}
    for lang, locale in (("en", "en_US"), ("zh", "zh_CN")):
        options = Options()
        options.locale_code = locale
        options.use_24hour_time_format = True
        text = ExpressionDescriptor(cron, options).get_description()
        if lang == "zh":
            for name, zh in _ZH_NAMES.items():
                text = text.replace(name, zh)
        words[lang] = text
    return words


def _wording(lang: int) -> Wording:
    """The chat's reading of conditions in English (0) or Chinese (1), from the tables above."""
    return Wording(
        ops={op: words[lang] for op, words in OP_WORDS.items()},
        fields={name: words[lang] for name, words in FIELD_WORDS.items()},
        units={name: words[lang] for name, words in UNITS.items()},
        all=(" and ", "且")[lang],
        any=(" or ", "或")[lang],
        group="{}",
        changed=("{field} changes", "{field}发生变化")[lang],
        percent=("{field} {op} {value}%", "{field}{op}{value}%")[lang],
        compare=("{field} {op} {value}{unit}", "{field}{op}{value}{unit}")[lang],
    )


WORDING = {"en": _wording(0), "zh": _wording(1)}


def condition_words(condition: dict[str, Any]) -> dict[str, str]:
    """A monitor condition in words: ``{"en": "price below 7 yuan/L", "zh": "价格低于7元/升"}``."""
    return {lang: describe(condition, words) for lang, words in WORDING.items()}
