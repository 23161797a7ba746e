"""Management requests from the chat ("what do I have?", "stop my Beijing weather", "pause all alerts").

Only the requesting user's subscriptions are ever looked at (``subscriptions_of``),
and every change is one bulk lifecycle transition (``subscriptions_transition``):
"pause all" costs the same few queries for 3 subscriptions as for 300.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from agents.chat.describe import place_names
from agents.chat.intent import Manage, Slot
from taskhub.chat.questions import say
from taskhub.subscriptions.models import Subscription
from taskhub.subscriptions.selectors import subscriptions_of
from taskhub.subscriptions.services import subscriptions_transition
from taskhub.subscriptions.states import TRANSITIONS, Action, Status

FINISHED = (Status.CANCELLED, Status.COMPLETED)
VERBS = {
    "pause": ("Paused", "已暂停"),
    "resume": ("Resumed", "已恢复"),
    "cancel": ("Cancelled", "已取消"),
}


@dataclass(frozen=True)
class ManageOutcome:
    type: str  # "result" or "question"
    text: str
    subscriptions: list[dict[str, Any]]
    slot: Slot | None = None


def summary(sub: Subscription) -> dict[str, Any]:
    return {"id": sub.pk, "title": sub.title, "kind": sub.kind, "status": sub.status, "tool": sub.tool}


def _matches(sub: Subscription, request: Manage) -> bool:
    if request.kind and sub.kind != request.kind:
        return False
    if request.tool and sub.tool != request.tool:
        return False
    if request.place:
        names = place_names(sub.arguments)
        wanted = place_names({"city": request.place}) or (request.place, request.place)
        return names is not None and names[0].casefold() == wanted[0].casefold()
    return True


def _lines(subs: list[Subscription]) -> str:
    return "\n".join(f"#{s.pk} {s.title} ({s.kind}, {s.status})" for s in subs)


def manage(*, owner: AbstractBaseUser, request: Manage, language: str) -> ManageOutcome:
    """Carry out ``request`` on ``owner``'s own subscriptions; ask which one when it is ambiguous."""
    # One query for the user's live subscriptions; a user has at most a few hundred.
    live = [s for s in subscriptions_of(owner).exclude(status__in=FINISHED).order_by("id") if _matches(s, request)]
    if request.action == "list":
        if not live:
            return ManageOutcome("result", say(language, "You have no subscriptions.", "你还没有任何订阅。"), [])
        header = say(language, f"You have {len(live)} subscription(s):", f"你有{len(live)}个订阅：")
        return ManageOutcome("result", f"{header}\n{_lines(live)}", [summary(s) for s in live])

    action = Action(request.action)
    allowed_from, _ = TRANSITIONS[action]
    candidates = [s for s in live if s.status in allowed_from]
    if not candidates:
        text = say(language, f"Nothing to {action}: no matching subscription.", "没有找到可以操作的订阅。")
        return ManageOutcome("result", text, [])
    if request.scope == "one" and len(candidates) > 1:
        text = say(language, "Which one do you mean?", "你指的是哪一个？") + "\n" + _lines(candidates)
        return ManageOutcome("question", text, [summary(s) for s in candidates], slot=Slot.TARGET)
    result = subscriptions_transition(owner=owner, subscription_ids=[s.pk for s in candidates], action=action)
    done = result.changed
    en, zh = VERBS[str(action)]
    parts = [say(language, f"{en}:", f"{zh}：") + "\n" + _lines(done)] if done else []
    if result.refused:
        # Changed meanwhile (another tab, a worker) or over the quota: say so rather than pretend.
        titles = {s.pk: s.title for s in candidates}
        refused = "\n".join(f"#{pk} {titles[pk]}: {exc.message}" for pk, exc in sorted(result.refused.items()))
        parts.append(say(language, "Not changed:", "未能操作：") + "\n" + refused)
    text = "\n".join(parts)
    return ManageOutcome("result", text, [summary(s) for s in done])
