"""Loading the parser corpus (``corpus.yaml``): cases, their contexts, expected intents, comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import TypeAdapter

from agents.chat.grammar.safety import OFF_TOPIC
from agents.chat.intent import Draft, Intent, Manage, ParseContext, Refusal

CORPUS = Path(__file__).with_name("corpus.yaml")
_INTENT: TypeAdapter[Draft | Manage | Refusal] = TypeAdapter(Intent)


@dataclass(frozen=True)
class Case:
    text: str
    expect: Draft | Manage | str  # "refuse": any Refusal
    context: ParseContext
    unsafe: bool
    note: str

    @property
    def language(self) -> str:
        return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in self.text) else "en"

    @property
    def category(self) -> str:
        if self.unsafe:
            return "unsafe"
        if self.context.pending is not None:
            return "follow-up"
        if isinstance(self.expect, str):
            return "off-topic"
        if isinstance(self.expect, Manage):
            return "manage"
        if self.expect.missing:
            return "incomplete"
        return self.expect.kind or "draft"


@cache
def cases() -> tuple[Case, ...]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    defaults = data["defaults"]
    return tuple(_case(raw, defaults) for raw in data["cases"])


def _case(raw: dict[str, Any], defaults: dict[str, Any]) -> Case:
    timezone = raw.get("timezone", defaults["timezone"])
    now = datetime.fromisoformat(raw.get("now", defaults["now"])).replace(tzinfo=ZoneInfo(timezone))
    pending = Draft.model_validate(raw["pending"]) if "pending" in raw else None
    expect = raw["expect"]
    if expect != "refuse":
        expect = _INTENT.validate_python({"action": "create", **expect})
    return Case(
        text=str(raw["text"]),
        expect=expect,
        context=ParseContext(now=now, timezone=timezone, pending=pending),
        unsafe=bool(raw.get("unsafe", False)),
        note=raw.get("note", ""),
    )


def matches(case: Case, got: Draft | Manage | Refusal) -> bool:
    """Exact match of every field; a refusal must be the right kind, in the language the user wrote."""
    expected = case.expect
    if expected == "refuse":
        return isinstance(got, Refusal) and got.reason == expected_refusal(case, got.reason)
    return type(got) is type(expected) and got.model_dump() == expected.model_dump()  # type: ignore[union-attr]


def expected_refusal(case: Case, reason: str) -> str | None:
    """The refusal ``case`` must get: the off-topic help, or for an unsafe request ``reason`` if it is
    a safety refusal (not the off-topic help) in the case's language. None: no refusal fits."""
    chinese = case.language == "zh"
    if not case.unsafe:
        return OFF_TOPIC[chinese]
    in_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in reason)
    return reason if reason not in OFF_TOPIC and in_chinese == chinese else None


def show(intent: Draft | Manage | Refusal | str) -> str:
    if isinstance(intent, str):
        return intent
    return repr(intent.model_dump(mode="json", exclude_defaults=True))
