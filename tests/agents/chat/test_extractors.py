"""The parser's other building blocks: normaliser, numerals, places, comparisons, grades, metrics, robustness."""

from __future__ import annotations

import random

import pytest
from croniter import croniter

from agents.chat.grammar import MAX_CHARS, TOO_LONG, parse, places, rules, safety, slots
from agents.chat.grammar.text import Text, Work, chinese_number, numerals
from agents.chat.intent import Draft, ParseContext, Refusal, Slot
from tests.agents.chat.helpers import NOW, TOOL_ARGUMENTS, normalised
from tools.geo import PLACES, PROVINCES

CODE_REFUSAL = ("TaskHub does not run code or commands.", "TaskHub 不会执行代码或命令。")  # (English, Chinese)


@pytest.mark.parametrize(
    ("run", "value"),
    [
        ("七", 7),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("二十五", 25),
        ("两", 2),
        ("一百", 100),
        ("一百五", 150),
        ("一百五十", 150),
        ("一百零五", 105),
        ("两百", 200),
        ("三千二", 3200),
        ("一万", 10000),
        ("二零二六", 2026),
    ],
)
def test_chinese_numerals_read_as_numbers(run: str, value: int) -> None:
    assert chinese_number(run) == value


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("ＢＥＩＪＩＮＧ　８：３０", "\ue000 8:30"),
        ("零下二十度", "-20度"),
        ("七块五", "7块5"),
        ("星期一", "周1 "),
        ("每周一三五", "每周1 3 5 "),
        ("未来一周天气", "未来1周天气"),
        ("every two hours", "every 2 hours"),
        ("minus ten", "-10"),
        ("三亚和九江", "\ue000和\ue001"),
    ],
)
def test_the_normaliser_folds_width_case_and_numerals_but_not_place_names(raw: str, norm: str) -> None:
    assert normalised(raw) == norm


def test_normalised_spans_map_back_to_what_the_user_typed() -> None:
    text = Text.of("提醒我买三个苹果 {{7*7}}")
    places.replace(text)
    numerals(text)
    begin = text.norm.index("买")
    assert text.source(begin, len(text.norm)) == "买三个苹果 {{7*7}}"


def _sentence_places(sentence: str) -> list[str]:
    text = Text.of(sentence)
    return [ref.name for ref in places.replace(text)]


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.slug)
def test_every_place_name_and_alias_is_found_inside_a_sentence(place) -> None:  # type: ignore[no-untyped-def]
    names = [place.name, *place.aliases]
    for name in names:
        if len(name) == 1:
            continue  # single-character aliases only stand alone (see places.lookup)
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in name)
        sentence = f"每天早上8点推送{name}天气" if zh else f"send me the weather in {name}, every day at 8"
        assert _sentence_places(sentence) == [place.name], (name, sentence)
    assert _sentence_places(f"每天早上8点推送{place.name_zh}天气") == [place.name]
    assert _sentence_places(f"{place.name_zh}市明天天气") == [place.name]
    assert _sentence_places(f"weather in {place.name.upper()}.") == [place.name]


@pytest.mark.parametrize("province", PROVINCES, ids=lambda p: p.code)
def test_every_province_is_found_as_a_fuel_region(province) -> None:  # type: ignore[no-untyped-def]
    for name in (province.name, province.name_zh, province.full_name_zh):
        found = places.replace(Text.of(f"tell me when 92 petrol in {name} drops below 7"))
        assert [ref.province.name if ref.province else None for ref in found] == [province.name], name


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("东京天气", ["Tokyo"]),  # not 京 (Beijing) inside 东京
        ("jilin city weather", ["Jilin"]),
        ("xian weather and XI'AN again", ["Xi'an", "Xi'an"]),
        ("hongkong", ["Hong Kong"]),
        ("weather in parisian cafes", []),  # whole words only
        ("港口的天气", []),  # 港 alone is Hong Kong only as a whole answer
    ],
)
def test_place_matching_prefers_the_longest_whole_name(sentence: str, expected: list[str]) -> None:
    assert _sentence_places(sentence) == expected


def test_a_single_character_alias_names_a_place_as_a_whole_answer() -> None:
    ref = places.lookup("沪")
    assert ref is not None
    assert ref.name == "Shanghai"


@pytest.mark.parametrize(
    ("raw", "op", "value"),
    [
        ("drops below 7 yuan", "lt", 7),
        ("goes above 8", "gt", 8),
        ("colder than -20", "lt", -20),
        ("warmer than 10 degrees", "gt", 10),
        ("falls to 7 or less", "lte", 7),
        ("at least 9", "gte", 9),
        ("drops by 5%", "pct_drop", 5),
        ("rises 3 percent", "pct_rise", 3),
        ("changes", "changed", None),
        ("降到7块以下", "lt", 7),
        ("低于七块五", "lt", 7.5),
        ("低于零下二十度", "lt", -20),
        ("不超过7块", "lte", 7),
        ("涨到9块以上", "gt", 9),
        ("降到七块二", "lte", 7.2),
        ("涨了5%", "pct_rise", 5),
        ("跌了3%", "pct_drop", 3),
        ("有变化", "changed", None),
        ("降了", "lt", None),
    ],
)
def test_comparisons_and_their_numbers(raw: str, op: str, value: float | None) -> None:
    analysis = rules.analyse(f"petrol {raw}")
    assert analysis.comparison is not None
    assert (analysis.comparison.op, analysis.comparison.value) == (op, value)


@pytest.mark.parametrize(
    ("raw", "joiner", "fields"),
    [
        ("temperature below 0 or aqi above 200", "any", ["temperature_c", "aqi"]),
        ("above 30 degrees and humidity over 80%", "all", ["temperature_c", "humidity_pct"]),
        ("气温低于0度或者湿度高于90%", "any", ["temperature_c", "humidity_pct"]),
    ],
)
def test_clauses_on_different_fields_make_a_compound_condition(raw: str, joiner: str, fields: list[str]) -> None:
    analysis = rules.analyse(f"Beijing {raw}")
    condition = rules.condition_for(analysis)
    assert [leaf["field"] for leaf in condition[joiner]] == fields  # type: ignore[index,attr-defined]


@pytest.mark.parametrize("raw", ["temperature below 0 and below -5", "petrol below 7 and diesel below 6"])
def test_clauses_without_two_fields_stay_one_condition(raw: str) -> None:
    condition = rules.condition_for(rules.analyse(f"Beijing {raw}"))
    assert condition["op"] == "lt"


@pytest.mark.parametrize("raw", ["remind me in 2 hours to move the car", "remind me when it's over", "提醒我降了"])
def test_comparison_words_without_weather_or_fuel_are_not_conditions(raw: str) -> None:
    assert rules.analyse(raw).comparison is None


@pytest.mark.parametrize(
    ("raw", "grade"),
    [("92 petrol", "92"), ("95号汽油", "95"), ("diesel", "0"), ("柴油", "0"), ("0号柴油", "0"), ("#98 gas", "98")],
)
def test_fuel_grades(raw: str, grade: str) -> None:
    assert slots.take_grade(Work(normalised(raw))) == grade


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("AQI over 150", "aqi"),
        ("空气质量指数", "aqi"),
        ("feels like -10 degrees", "feels_like_c"),
        ("humidity above 80%", "humidity_pct"),
        ("chance of rain", "precipitation_probability_pct"),
        ("风速超过50", "wind_speed_kmh"),
        ("气温低于0度", "temperature_c"),
    ],
)
def test_weather_metrics(raw: str, field: str) -> None:
    assert slots.metric(normalised(raw)) == field


def test_random_input_is_refused_in_the_users_language_or_drafted_with_a_question_to_ask() -> None:
    """Gibberish gets an answer the user can act on: the right refusal in their script, or a draft that asks."""
    rng = random.Random(7)
    alphabet = "abc xyz 0123456789:%-.,每天早上点提醒我北京上海油价低于以下汽油号`{}$"
    context = ParseContext(now=NOW, timezone="Asia/Shanghai")
    outcomes = set()
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        got = parse(text, context)
        chinese = any("\u4e00" <= ch <= "\u9fff" for ch in text)
        if "`" in text:  # a backtick is code, whatever surrounds it
            assert got == Refusal(reason=CODE_REFUSAL[chinese]), text
        elif isinstance(got, Refusal):
            assert got.reason == safety.OFF_TOPIC[chinese], text
        else:
            assert isinstance(got, Draft), (text, got)
            assert got.missing, (text, got)  # none of these strings is a complete request: a follow-up asks
            assert (got.tool is None) == (Slot.TOOL in got.missing), (text, got)
            assert got.cron is None or croniter.is_valid(got.cron), (text, got)
            assert got.run_at is None or got.run_at > NOW, (text, got)
            assert set(got.arguments) <= TOOL_ARGUMENTS[got.tool], (text, got)
        outcomes.add(type(got).__name__ if isinstance(got, Draft) else got.reason)
    # The seed reaches every branch above: a code refusal, off-topic in both languages, drafts.
    assert outcomes >= {"Draft", CODE_REFUSAL[1], *safety.OFF_TOPIC}


def test_overlong_input_is_refused_without_being_scanned() -> None:
    """Over MAX_CHARS the user is told to say it in a sentence, in their language; nothing in the text is read."""
    context = ParseContext(now=NOW, timezone="Asia/Shanghai")
    assert parse("每天早上8点推送北京天气" * 50, context) == Refusal(reason=TOO_LONG[1])
    assert parse("every day at 8am send me the weather in Beijing. " * 20, context) == Refusal(reason=TOO_LONG[0])
    # Code that would be refused as code at any shorter length gets the length answer: it was never scanned.
    assert parse("run this python code `rm -rf /` " * 20, context) == Refusal(reason=TOO_LONG[0])
    assert parse("run this python code `rm -rf /` ", context) == Refusal(reason=CODE_REFUSAL[0])


def _longest(unit: str) -> str:
    return (unit * MAX_CHARS)[:MAX_CHARS]


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("1", Refusal(reason=safety.OFF_TOPIC[0])),
        ("-1", Refusal(reason=safety.OFF_TOPIC[0])),
        ("beijing ", Refusal(reason=safety.OFF_TOPIC[0])),
        ("7块", Refusal(reason=safety.OFF_TOPIC[1])),
        ("1点", {"kind": "once", "tool": None, "arguments": {}, "missing": (Slot.TOOL,)}),
        (
            "92号",
            {"kind": None, "tool": "fuel_price", "arguments": {"grade": "92"}, "missing": (Slot.PLACE, Slot.TIME)},
        ),
        (
            "remind me to x ",
            {
                "kind": "once",
                "tool": "reminder",
                "arguments": {"text": _longest("remind me to x ").removeprefix("remind me to ")},
                "missing": (Slot.TIME,),
            },
        ),
        (
            "提醒我",
            {
                "kind": "once",
                "tool": "reminder",
                "arguments": {"text": _longest("提醒我").removeprefix("提醒我")},
                "missing": (Slot.TIME,),
            },
        ),
    ],
)
def test_repetitive_input_is_parsed_up_to_the_longest_accepted_length_and_refused_beyond_it(
    unit: str, expected: Refusal | dict[str, object]
) -> None:
    """The guard against runaway regex backtracking is a bound, not a stopwatch (speed lives in bench/).

    Repeated digits, times, grades and trigger words at exactly MAX_CHARS are read to the end (the
    reminder keeps every word after the first trigger); one character more and no pattern sees
    the text at all: the user is asked for a sentence instead.
    """
    context = ParseContext(now=NOW, timezone="Asia/Shanghai")
    text = _longest(unit)
    got = parse(text, context)
    if isinstance(expected, Refusal):
        assert got == expected
    else:
        assert isinstance(got, Draft), got
        assert got.model_dump(include=set(expected)) == expected
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in unit)
    assert parse(text + unit[0], context) == Refusal(reason=TOO_LONG[chinese])
