"""Times of day, recurrences, dates and delays, and how one-offs resolve against now."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from agents.chat.grammar import calendar, clock, rules, slots
from agents.chat.grammar.text import Work
from tests.agents.chat.helpers import NOW, SHANGHAI, normalised


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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("in 5 decades", None),  # not "in 5 d(ays)"
        ("may i have the weather", None),  # not May
        ("the sun is out", None),  # not Sunday
        ("sunny today", calendar.When(days=0)),  # today, not Sunday
    ],
)
def test_words_that_only_look_like_months_or_days_are_no_dates(raw: str, expected: calendar.When | None) -> None:
    assert calendar.take_when(Work(normalised(raw))) == expected


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
