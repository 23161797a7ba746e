"""The confirmation card of a draft subscription: JSON for clients, and the same as plain text.

``card_for`` is a pure function of a subscription and the user's time zone (it
reads the subscription's schedule and channels, writes nothing). Its actions are
the REST endpoints that call the lifecycle services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agents.chat.describe import condition_words, fetch_words, schedule_words
from taskhub.subscriptions import scheduling
from taskhub.subscriptions.models import Kind, Subscription
from taskhub.subscriptions.selectors import next_fires

API_PREFIX = "/api/v1/subscriptions"


def _schedule(sub: Subscription, tz: ZoneInfo) -> dict[str, Any] | None:
    if sub.kind == Kind.PERIODIC and sub.schedule is not None:
        cron = scheduling.cron_of(sub.schedule)
        return {"cron": cron, "timezone": sub.timezone, **schedule_words(cron)}
    if sub.kind == Kind.ONCE and sub.run_at is not None:
        local = sub.run_at.astimezone(tz)
        return {
            "run_at": local.isoformat(),
            "timezone": str(tz),
            "en": f"once, on {local:%Y-%m-%d} at {local:%H:%M}",
            "zh": f"一次，{local.year}年{local.month}月{local.day}日 {local:%H:%M}",
        }
    if sub.kind == Kind.MONITOR:
        return {"en": "whenever the condition becomes true", "zh": "每当条件成立时"}
    return None


def card_for(sub: Subscription, *, user_timezone: str, now: datetime) -> dict[str, Any]:
    """The card of ``sub``: title, what is fetched, schedule (EN + ZH), next 3 fires in the user's zone,
    condition in words, channels, and the confirm / edit / cancel actions."""
    tz = ZoneInfo(user_timezone)
    base = f"{API_PREFIX}/{sub.pk}"
    return {
        "subscription_id": sub.pk,
        "status": sub.status,
        "kind": sub.kind,
        "title": sub.title,
        "tool": sub.tool,
        "arguments": sub.arguments,
        "fetch": fetch_words(sub.tool, sub.arguments),
        "schedule": _schedule(sub, tz),
        "timezone": user_timezone,
        "next_fires": [f.astimezone(tz).isoformat() for f in next_fires(sub, count=3, after=now)],
        "condition": {"data": sub.condition, **condition_words(sub.condition)} if sub.condition else None,
        "channels": [{"id": c.pk, "kind": c.kind, "name": c.name} for c in sub.channels.all()],
        "actions": {
            "confirm": {"method": "POST", "url": f"{base}/confirm/"},
            "edit": {"method": "PATCH", "url": f"{base}/"},
            "cancel": {"method": "POST", "url": f"{base}/cancel/"},
        },
    }


def card_text(card: dict[str, Any], *, language: str = "en") -> str:
    """The card as plain text (inbox, admin), in ``language`` with the other language's schedule too."""
    zh = language == "zh"
    lines = [card["title"], ("获取：" if zh else "Fetches: ") + card["fetch"]["zh" if zh else "en"]]
    schedule = card.get("schedule")
    if schedule:
        lines.append(("时间：" if zh else "When: ") + f"{schedule['en']} / {schedule['zh']}")
    if card.get("condition"):
        lines.append(("条件：" if zh else "Condition: ") + card["condition"]["zh" if zh else "en"])
    if card.get("next_fires"):
        lines.append(("接下来：" if zh else "Next: ") + ", ".join(_short(f) for f in card["next_fires"]))
    channels = ", ".join(c["name"] or c["kind"] for c in card.get("channels", []))
    if channels:
        lines.append(("推送到：" if zh else "Sent to: ") + channels)
    actions = card["actions"]
    lines.append(
        ("确认/修改/取消：" if zh else "Confirm / edit / cancel: ")
        + " · ".join(f"{a['method']} {a['url']}" for a in actions.values())
    )
    return "\n".join(lines)


def _short(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return f"{moment:%Y-%m-%d %H:%M} ({moment.tzname()})"
