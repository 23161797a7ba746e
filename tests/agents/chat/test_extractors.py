"""The parser's building blocks: normaliser, numbers, times, dates, places, comparisons, safety."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agents.chat.grammar import calendar, clock, parse, places, rules, slots
from agents.chat.grammar.text import Text, Work, chinese_number, numerals
from agents.chat.intent import Draft, Manage, ParseContext, Refusal
from tools.geo import PLACES, PROVINCES

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday


def normalised(raw: str) -> str:
    text = Text.of(raw)
    places.replace(text)
    numerals(text)
    return text.norm


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


@pytest.mark.parametrize(
    ("raw", "hour", "minute", "ambiguous"),
    [
        ("8am", 8, 0, False),
        ("at 7:30pm", 19, 30, False),
        ("12am", 0, 0, False),
        ("noon", 12, 0, False),
        ("midnight", 0, 0, False),
        ("18:30", 18, 30, False),
        ("06:45", 6, 45, False),
        ("at 7", 7, 0, True),
        ("half past 8", 8, 30, True),
        ("quarter to 9", 8, 45, True),
        ("早上7点半", 7, 30, False),
        ("下午三点", 15, 0, False),
        ("晚上9点", 21, 0, False),
        ("晚上12点", 0, 0, False),
        ("中午12点", 12, 0, False),
        ("中午1点", 13, 0, False),
        ("凌晨2点", 2, 0, False),
        ("8点一刻", 8, 15, True),
        ("9点整", 9, 0, True),
        ("10点20分", 10, 20, True),
        ("at 8 in the evening", 20, 0, False),
    ],
)
def test_times_of_day(raw: str, hour: int, minute: int, ambiguous: bool) -> None:
    work = Work(normalised(raw))
    parts = clock.parts_of(work.s)
    clock.drop_parts(work)
    assert clock.take_clocks(work, parts) == [clock.Clock(hour, minute, ambiguous)]


def test_each_time_takes_the_part_of_the_day_said_before_it() -> None:
    work = Work(normalised("早上7点和晚上9点"))
    parts = clock.parts_of(work.s)
    clock.drop_parts(work)
    assert clock.take_clocks(work, parts) == [clock.Clock(7, 0), clock.Clock(21, 0)]


@pytest.mark.parametrize("raw", ["below 7 yuan", "7块5", "at 35 degrees", "每2小时", "92号汽油"])
def test_amounts_and_intervals_are_not_times(raw: str) -> None:
    work = Work(normalised(raw))
    slots.take_money(work)
    slots.take_grade(work)
    calendar.take_recurrence(work)
    assert clock.take_clocks(work, []) == []


@pytest.mark.parametrize(
    ("raw", "dow", "every"),
    [
        ("every day", "*", None),
        ("daily", "*", None),
        ("every weekday", "1-5", None),
        ("weekdays", "1-5", None),
        ("on weekends", "0,6", None),
        ("every monday and thursday", "1,4", None),
        ("every wednesday, friday and sunday", "0,3,5", None),
        ("on saturdays", "6", None),
        ("every hour", "*", 60),
        ("every 15 minutes", "*", 15),
        ("every 3 hours", "*", 180),
        ("每天", "*", None),
        ("工作日", "1-5", None),
        ("周一到周五", "1-5", None),
        ("周末", "0,6", None),
        ("每周日", "0", None),
        ("每星期二", "2", None),
        ("每周一和周四", "1,4", None),
        ("每小时", "*", 60),
        ("每半小时", "*", 30),
        ("每隔两小时", "*", 120),
    ],
)
def test_recurrences(raw: str, dow: str, every: int | None) -> None:
    assert calendar.take_recurrence(Work(normalised(raw))) == calendar.Recurrence(dow=dow, every_minutes=every)


@pytest.mark.parametrize("raw", ["tomorrow at 3pm", "on monday", "下周一", "明天", "in 20 minutes"])
def test_one_off_dates_are_not_recurrences(raw: str) -> None:
    assert calendar.take_recurrence(Work(normalised(raw))) is None


@pytest.mark.parametrize("raw", ["in 5 decades", "may i have the weather", "sunny today", "the sun is out"])
def test_words_that_only_look_like_months_or_days_are_no_dates(raw: str) -> None:
    when = calendar.take_when(Work(normalised(raw)))
    assert when is None or when.days == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("in 20 minutes", NOW + timedelta(minutes=20)),
        ("in an hour", NOW + timedelta(hours=1)),
        ("in half an hour", NOW + timedelta(minutes=30)),
        ("in 2 days", NOW + timedelta(days=2)),
        ("20分钟后", NOW + timedelta(minutes=20)),
        ("半小时后", NOW + timedelta(minutes=30)),
        ("两个小时后", NOW + timedelta(hours=2)),
        ("tomorrow at 3pm", datetime(2026, 11, 26, 15, 0, tzinfo=SHANGHAI)),
        ("the day after tomorrow at 8am", datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI)),
        ("明天下午3点", datetime(2026, 11, 26, 15, 0, tzinfo=SHANGHAI)),
        ("明天3点", datetime(2026, 11, 26, 15, 0, tzinfo=SHANGHAI)),
        ("后天早上8点", datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI)),
        ("大后天9点", datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)),
        ("下周一上午10点", datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)),
        ("下周三晚上8点", datetime(2026, 12, 2, 20, 0, tzinfo=SHANGHAI)),
        ("周五下午4点", datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI)),
        ("next monday at 9am", datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)),
        ("this sunday at 10am", datetime(2026, 11, 29, 10, 0, tzinfo=SHANGHAI)),
        ("at 18:30", datetime(2026, 11, 25, 18, 30, tzinfo=SHANGHAI)),
        ("at 08:00", datetime(2026, 11, 26, 8, 0, tzinfo=SHANGHAI)),
        ("at 3", datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)),
        ("tonight at 9", datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI)),
        ("明晚7点半", datetime(2026, 11, 26, 19, 30, tzinfo=SHANGHAI)),
        ("on Dec 1 at 9am", datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)),
        ("the 3rd of December at 10am", datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)),
        ("12月3日上午10点", datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)),
        ("1月5号早上9点", datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI)),  # past this year: next year
        ("in an hour and a half", NOW + timedelta(minutes=90)),
        ("一个半小时后", NOW + timedelta(minutes=90)),
    ],
)
def test_one_off_times_resolve_against_now_in_the_users_zone(raw: str, expected: datetime) -> None:
    analysis = rules.analyse(raw)
    at, known = calendar.run_at(analysis.when, analysis.clocks[0] if analysis.clocks else None, analysis.part, NOW)
    assert known
    assert at == expected


def test_a_day_without_a_time_is_a_placeholder_the_user_still_has_to_confirm() -> None:
    analysis = rules.analyse("tomorrow morning")
    at, known = calendar.run_at(analysis.when, None, analysis.part, NOW)
    assert not known
    assert at == datetime(2026, 11, 26, 8, 0, tzinfo=SHANGHAI)


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


def test_random_input_never_raises_and_always_yields_an_intent() -> None:
    rng = random.Random(7)
    alphabet = "abc xyz 0123456789:%-.,每天早上点提醒我北京上海油价低于以下汽油号`{}$"
    context = ParseContext(now=NOW, timezone="Asia/Shanghai")
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert isinstance(parse(text, context), Draft | Manage | Refusal)


def test_overlong_input_is_refused_without_being_scanned() -> None:
    context = ParseContext(now=NOW, timezone="Asia/Shanghai")
    assert isinstance(parse("每天早上8点推送北京天气" * 50, context), Refusal)


@pytest.mark.parametrize("unit", ["1", "1点", "92号", "-1", "7块", "remind me to x ", "beijing ", "提醒我"])
def test_repetitive_input_of_the_longest_accepted_length_stays_fast(unit: str) -> None:
    """No pattern backtracks quadratically: 500 characters of digits or names parse in milliseconds."""
    context = ParseContext(now=NOW, timezone="Asia/Shanghai")
    started = time.perf_counter()
    parse((unit * 500)[:500], context)
    assert time.perf_counter() - started < 0.25
