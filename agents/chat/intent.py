"""The typed output every chat parser produces (embedded grammar or LLM).

An intent says what the user asked for, in TaskHub's terms, and nothing more:
it never carries a user id, an owner, a channel address or a URL taken from
the text (the chat service fills those from the authenticated user). Parsers
return one of ``Draft``, ``Manage``, ``Refusal``; the chat service validates a
``Draft`` against the tool registry before anything is written.

Contract of a parser: ``parse(text, context) -> Intent``, pure (no database, no
writes), deterministic for the embedded parser.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class Slot(StrEnum):
    """What a draft can still be missing; a follow-up question names one."""

    TOOL = "tool"  # what to fetch (weather? fuel price?)
    PLACE = "place"  # city (weather) or region (fuel)
    TIME = "time"  # when a periodic push or a one-off runs
    THRESHOLD = "threshold"  # the number in a monitor's condition
    TEXT = "text"  # what a reminder should say
    TARGET = "target"  # which subscription a management request is about


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Draft(_Strict):
    """A new subscription the user asked for, possibly incomplete (``missing`` non-empty).

    - ``tool``: a registered tool name (``current_weather``, ``weather_forecast``,
      ``fuel_price``, ``reminder``) or None when not yet known.
    - ``arguments``: the tool's arguments, with the place in canonical English
      (``{"city": "Beijing"}``, ``{"region": "Shanghai", "grade": "92"}``,
      ``{"text": "call mom"}``).
    - ``cron``: periodic only; 5 fields in the user's own time zone.
    - ``run_at``: once only; an aware datetime resolved against ``ParseContext.now``.
    - ``condition``: monitor only; data such as ``{"field": "price", "op": "lt", "value": 7}``
      (ops lt, lte, gt, gte, eq, ne, changed, pct_drop, pct_rise; ``{"all": [...]}`` / ``{"any": [...]}``).
    """

    action: Literal["create"] = "create"
    kind: Literal["periodic", "monitor", "once"] | None = None
    tool: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    cron: str | None = None
    run_at: datetime | None = None
    condition: dict[str, Any] | None = None
    title: str | None = None
    missing: tuple[Slot, ...] = ()


class Manage(_Strict):
    """A request about the user's existing subscriptions.

    ``scope="all"`` means every subscription matching ``kind``/``place``/``tool``
    ("pause all alerts" -> kind monitor); ``scope="one"`` needs the filters to
    pick exactly one (``place="Beijing"``, ``tool="current_weather"``).
    """

    action: Literal["list", "pause", "resume", "cancel"]
    scope: Literal["one", "all"] = "one"
    kind: Literal["periodic", "monitor", "once"] | None = None
    place: str | None = None  # canonical English name
    tool: str | None = None


class Refusal(_Strict):
    """Something TaskHub will not do (another user's data, arbitrary code, mass messaging, off-topic)."""

    action: Literal["refuse"] = "refuse"
    reason: str


Intent = Annotated[Draft | Manage | Refusal, Field(discriminator="action")]


class ParseContext(_Strict):
    """What a parser may know besides the text.

    ``pending`` is the conversation's unfinished draft: when the text answers
    it ("Shanghai", "8点"), the parser returns that draft with the slot filled.
    """

    now: datetime
    timezone: str
    language: Literal["en", "zh"] | None = None
    pending: Draft | None = None


class Parser(Protocol):
    def parse(self, text: str, context: ParseContext) -> Draft | Manage | Refusal: ...
