"""Follow-up turns: an answer ("Shanghai", "8点", "7 yuan", "call mom") fills the pending draft's missing slots.

An answer that is a request of its own (another tool, a complete draft, a
management request, something refused) replaces the pending draft instead.
Every missing slot the answer carries is filled, not only the first one
("Shanghai at 8am" answers both the place and the time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from agents.chat.grammar import calendar, places, rules, slots
from agents.chat.grammar.calendar import Recurrence
from agents.chat.grammar.clock import Clock
from agents.chat.grammar.rules import Analysis
from agents.chat.grammar.text import Work
from agents.chat.intent import Draft, Manage, Refusal, Slot

Kind = Literal["periodic", "monitor", "once"] | None


def answer(pending: Draft, a: Analysis, raw: str, now: datetime) -> Draft | Manage | Refusal:
    if a.refusal is not None or a.manage is not None:
        return rules.fresh(a, now)
    if a.tool is not None and pending.tool is not None and a.tool != pending.tool:
        return rules.fresh(a, now)  # a new request
    if a.tool is not None:
        candidate = rules.fresh(a, now)
        if isinstance(candidate, Draft) and not candidate.missing:
            return candidate
    filled: set[Slot] = set()
    tool, arguments, condition = pending.tool, dict(pending.arguments), pending.condition
    kind, cron, run_at = pending.kind, pending.cron, pending.run_at
    place = a.places[0] if a.places else places.lookup(raw)
    if Slot.TOOL in pending.missing and a.tool is not None:
        tool, filled = a.tool, filled | {Slot.TOOL}
        arguments = {**rules.arguments_for(tool, place, a), **arguments}
    if Slot.PLACE in pending.missing and place is not None:
        with_place = rules.arguments_for(tool, place, a)
        if {"city", "region"} & with_place.keys():
            arguments = {**with_place, **{k: v for k, v in arguments.items() if k not in ("city", "region")}}
            filled.add(Slot.PLACE)
    # An answer such as "above 8" carries no tool word, so the comparison is read here.
    comparison = a.comparison or slots.take_comparison(Work(a.rest), a.numbers)
    if Slot.THRESHOLD in pending.missing and (value := _threshold(comparison, a)) is not None:
        condition = {**(condition or {}), "value": value}
        if comparison is not None and comparison.value is not None:
            condition["op"] = comparison.op
        filled.add(Slot.THRESHOLD)
    if Slot.TIME in pending.missing and a.has_time:
        kind, cron, run_at, known = _time(pending, a, now)
        if known:
            filled.add(Slot.TIME)
    if Slot.TEXT in pending.missing:
        text = a.reminder_text or rules.words(a.text, a.rest)
        if text:
            arguments["text"] = text
            filled.add(Slot.TEXT)
    if not filled:
        return rules.fresh(a, now)
    time_known = Slot.TIME not in pending.missing or Slot.TIME in filled
    return Draft(
        kind=kind,
        tool=tool,
        arguments=arguments,
        cron=cron,
        run_at=run_at,
        condition=condition,
        title=pending.title,
        missing=rules.missing(kind, tool, arguments, condition, time_known),
    )


def _threshold(comparison: slots.Comparison | None, a: Analysis) -> int | float | None:
    if comparison is not None and comparison.value is not None:
        value = comparison.value
    elif a.numbers:
        value = a.numbers[0].value
    else:
        return None
    return int(value) if value == int(value) else value


def _time(pending: Draft, a: Analysis, now: datetime) -> tuple[Kind, str | None, datetime | None, bool]:
    """The pending draft's kind, cron and run_at with the answered time, and whether the time is now known."""
    kind = pending.kind
    if kind is None:
        kind = "once" if a.when is not None and a.recurrence is None else "periodic"
    if kind == "periodic":
        fields = (pending.cron or "0 8 * * *").split()
        recurrence = a.recurrence or Recurrence(dow=fields[4] if len(fields) == 5 else "*")
        clocks = [_shift(c, fields[1]) for c in a.clocks] if a.part is None else a.clocks
        cron, known = calendar.cron(recurrence, clocks, a.part)
        return kind, cron, None, known
    clock = a.clocks[0] if a.clocks else None
    if a.when is None and clock is not None and pending.run_at is not None:
        previous = pending.run_at.astimezone(now.tzinfo)  # the user's wall clock, whoever wrote the draft
        at = calendar.replace_time(previous, clock, previous.hour)
        return kind, None, at if at > now else at + timedelta(days=1), True
    run_at, known = calendar.run_at(a.when, clock, a.part, now)
    return kind, None, run_at, known


def _shift(clock: Clock, suggested_hour: str) -> Clock:
    """An ambiguous hour follows the suggested part of the day: "at 9" answering "every evening" is 21:00."""
    if clock.ambiguous and suggested_hour.isdigit() and int(suggested_hour) >= 12 and clock.hour < 12:
        return Clock(clock.hour + 12, clock.minute)
    return clock
