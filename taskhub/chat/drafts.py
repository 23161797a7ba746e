"""From a parsed ``Draft`` to a validated subscription spec, or the slot to ask about.

Every check runs before anything is written: a known place here, then
``subscription_create``'s own validation (it validates before it writes, in one
transaction): a known tool, arguments valid against the tool's input schema, a
schedule within the limits (in the user's time zone), a monitor condition that
is data over the tool's output fields with a numeric threshold. Each check runs
once per draft; an ``InvalidInput`` from the service maps to a slot through
``problem_of``. A failure is a ``DraftProblem`` naming the slot the follow-up
question asks about, never an error for the user.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from agents.chat.describe import place_names
from agents.chat.intent import Draft, Slot
from taskhub.core.errors import InvalidInput
from taskhub.subscriptions.models import Kind
from taskhub.subscriptions.services import SubscriptionSpec
from tools.geo import find_place, find_province

PLACE_ARGUMENT = {"current_weather": "city", "weather_forecast": "city", "fuel_price": "region"}

# Templates the chat gives the subscriptions it drafts (placeholders are output fields of the tool).
TEMPLATES: dict[str, tuple[str, str]] = {
    "current_weather": (
        "{title}: {condition}, {temperature_c}°C, rain {precipitation_probability_pct}%",
        "{title}：{condition_zh}，{temperature_c}°C，降水概率{precipitation_probability_pct}%",
    ),
    "fuel_price": ("{title}: {price} yuan/L ({date})", "{title}：{price}元/升（{date}）"),
    "reminder": ("Reminder: {text}", "提醒：{text}"),
}


class DraftProblem(Exception):
    """The draft cannot become a subscription yet; ``slot`` is what to ask about."""

    def __init__(self, slot: Slot, problem: str | None = None):
        super().__init__(problem or str(slot))
        self.slot = slot
        self.problem = problem


def kind_of(draft: Draft) -> str | None:
    if draft.kind:
        return draft.kind
    if draft.condition is not None:
        return Kind.MONITOR
    if draft.cron:
        return Kind.PERIODIC
    if draft.run_at is not None or draft.tool == "reminder":
        return Kind.ONCE
    return None


def missing_slots(draft: Draft) -> tuple[Slot, ...]:
    """The parser's ``missing`` plus whatever the draft plainly lacks, in the order to ask them."""
    missing = set(draft.missing)
    kind = kind_of(draft)
    if not draft.tool:
        missing.add(Slot.TOOL)
    place_arg = PLACE_ARGUMENT.get(draft.tool or "")
    if place_arg and not draft.arguments.get(place_arg):
        missing.add(Slot.PLACE)
    if draft.tool == "reminder" and not draft.arguments.get("text"):
        missing.add(Slot.TEXT)
    if kind is None or (kind == Kind.PERIODIC and not draft.cron) or (kind == Kind.ONCE and draft.run_at is None):
        missing.add(Slot.TIME)
    if kind == Kind.MONITOR and not draft.condition:
        missing.add(Slot.THRESHOLD)
    return tuple(slot for slot in Slot if slot in missing)


def _check_place(tool: str, arguments: dict[str, Any]) -> None:
    name = PLACE_ARGUMENT.get(tool)
    value = arguments.get(name) if name else None
    if value is None:
        return
    known = isinstance(value, str) and (
        find_place(value) is not None or (name == "region" and find_province(value) is not None)
    )
    if not known:
        raise DraftProblem(Slot.PLACE, f"I don't know the place {value!r}")


def _slot_for(fields: dict[str, Any]) -> Slot:
    """The slot a validation error's field belongs to."""
    names = " ".join(fields)
    if "city" in names or "region" in names:
        return Slot.PLACE
    if "arguments.text" in names:
        return Slot.TEXT
    if any(name in names for name in ("cron", "run_at", "timezone")):
        return Slot.TIME
    if "condition" in names:
        return Slot.THRESHOLD
    return Slot.TOOL


def problem_of(exc: InvalidInput) -> DraftProblem:
    detail = "; ".join(str(m) for messages in exc.fields.values() for m in messages) or exc.message
    return DraftProblem(_slot_for(exc.fields), detail)


def draft_spec(draft: Draft, *, timezone: str, language: str) -> tuple[str, SubscriptionSpec]:
    """(kind, spec) for a complete draft with a known place; ``DraftProblem`` otherwise.

    The spec is not validated here: ``subscription_create`` does that, once, and
    its ``InvalidInput`` becomes a ``DraftProblem`` through ``problem_of``.
    """
    missing = missing_slots(draft)
    if missing:
        raise DraftProblem(missing[0])
    kind, tool = kind_of(draft), str(draft.tool)
    assert kind is not None  # missing_slots asks for the time otherwise
    arguments = dict(draft.arguments)
    _check_place(tool, arguments)
    spec = SubscriptionSpec(
        title=(draft.title or _title(tool, arguments, language))[:200],
        tool=tool,
        arguments=arguments,
        timezone=timezone,
        template=_template(tool, language),
    )
    if kind == Kind.PERIODIC:
        spec.cron = str(draft.cron)
    elif kind == Kind.ONCE:
        run_at = draft.run_at
        assert run_at is not None  # missing_slots asks for the time otherwise
        if run_at.tzinfo is None:  # a wall-clock time from the parser is the user's own
            run_at = run_at.replace(tzinfo=ZoneInfo(timezone))
        spec.run_at = run_at
    else:
        spec.condition = draft.condition
    return kind, spec


def _template(tool: str, language: str) -> str:
    en, zh = TEMPLATES.get(tool, ("", ""))
    return zh if language == "zh" else en


def _title(tool: str, arguments: dict[str, Any], language: str) -> str:
    if tool == "reminder":
        return str(arguments.get("text", "Reminder"))
    names = place_names(arguments)
    en_place, zh_place = names if names else ("", "")
    if tool == "fuel_price":
        grade = str(arguments.get("grade", "92"))
        return f"{zh_place}{grade}号油价" if language == "zh" else f"{en_place} {grade} fuel price"
    if tool == "weather_forecast":
        return f"{zh_place}天气预报" if language == "zh" else f"{en_place} weather forecast"
    return f"{zh_place}天气" if language == "zh" else f"{en_place} weather"
