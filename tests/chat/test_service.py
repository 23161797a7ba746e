"""The chat service driven by fixed intents (a scripted parser), against the real registry and database."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from agents.chat.intent import Draft, Manage, Refusal, Slot
from taskhub.channels.models import Channel, InboxMessage
from taskhub.chat.models import Conversation, Turn
from taskhub.chat.services import chat_message
from taskhub.core.errors import InvalidInput, NotFound
from taskhub.subscriptions.models import Origin, Subscription
from tests.chat.conftest import ScriptedParser
from tests.factories import active_periodic, periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

BEIJING_8AM = Draft(kind="periodic", tool="current_weather", arguments={"city": "Beijing"}, cron="0 8 * * *")


def test_a_follow_up_answer_fills_the_pending_slot_of_the_same_conversation(shanghai_user) -> None:
    parser = ScriptedParser(
        Draft(kind="periodic", tool="current_weather", cron="0 8 * * *", missing=(Slot.PLACE,)),
        BEIJING_8AM,
    )
    first = chat_message(owner=shanghai_user, text="every day at 8 tell me the weather", parser=parser)

    assert first.type == "question"
    assert first.slot == "place"
    assert "Which city" in first.text
    assert Subscription.objects.count() == 0
    pending = Conversation.objects.get(pk=first.conversation_id).pending_draft
    assert pending["cron"] == "0 8 * * *"
    assert pending["missing"] == ["place"]

    second = chat_message(owner=shanghai_user, text="Beijing", conversation_id=first.conversation_id, parser=parser)

    assert second.type == "card"
    assert second.conversation_id == first.conversation_id
    assert parser.contexts[1].pending is not None
    assert parser.contexts[1].pending.missing == (Slot.PLACE,)
    assert Conversation.objects.get(pk=first.conversation_id).pending_draft is None
    assert Turn.objects.filter(conversation_id=first.conversation_id).count() == 4


def test_a_question_is_asked_in_the_users_language(shanghai_user) -> None:
    parser = ScriptedParser(Draft(kind="periodic", tool="current_weather", missing=(Slot.PLACE, Slot.TIME)))
    reply = chat_message(owner=shanghai_user, text="告诉我天气", parser=parser)
    assert reply.type == "question"
    assert reply.slot == "place"
    assert "哪个城市" in reply.text


def test_a_complete_draft_gives_a_card_with_the_next_three_fires_in_the_users_zone(shanghai_user) -> None:
    reply = chat_message(owner=shanghai_user, text="每天早上8点告诉我北京的天气", parser=ScriptedParser(BEIJING_8AM))

    assert reply.type == "card"
    card = reply.card
    sub = Subscription.objects.get(pk=card["subscription_id"])
    assert (sub.status, sub.owner, sub.created_from, sub.timezone) == (
        "draft",
        shanghai_user,
        Origin.CHAT,
        "Asia/Shanghai",
    )
    assert card["title"] == sub.title == "北京天气"
    assert card["fetch"] == {"en": "the current weather in Beijing", "zh": "北京的实时天气"}
    assert card["schedule"]["en"] == "At 08:00"
    assert "08:00" in card["schedule"]["zh"]
    assert card["schedule"]["zh"] != card["schedule"]["en"]
    fires = [datetime.fromisoformat(f) for f in card["next_fires"]]
    assert len(fires) == 3
    assert all(f.utcoffset() == timedelta(hours=8) and (f.hour, f.minute) == (8, 0) for f in fires)
    assert fires[0] > timezone.now()
    assert fires[1] - fires[0] == timedelta(days=1)
    assert card["channels"] == [{"id": sub.channels.get().pk, "kind": "inbox", "name": sub.channels.get().name}]
    assert card["actions"]["confirm"] == {"method": "POST", "url": f"/api/v1/subscriptions/{sub.pk}/confirm/"}
    assert card["actions"]["edit"]["method"] == "PATCH"
    assert card["actions"]["cancel"]["url"].endswith(f"/{sub.pk}/cancel/")
    assert "北京的实时天气" in reply.text


def test_a_monitor_card_says_the_condition_in_words(shanghai_user) -> None:
    draft = Draft(
        kind="monitor",
        tool="fuel_price",
        arguments={"region": "Shanghai", "grade": "92"},
        condition={"field": "price", "op": "lt", "value": 7},
    )
    reply = chat_message(
        owner=shanghai_user, text="tell me when 92 in Shanghai drops below 7", parser=ScriptedParser(draft)
    )
    assert reply.type == "card"
    assert reply.card["condition"]["en"] == "price below 7 yuan/L"
    assert reply.card["condition"]["zh"] == "价格低于7元/升"
    assert Subscription.objects.get().condition == {"field": "price", "op": "lt", "value": 7}


def test_a_reminder_is_a_one_off_subscription_of_the_reminder_tool(shanghai_user) -> None:
    at = (timezone.now() + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    draft = Draft(kind="once", tool="reminder", arguments={"text": "call mom"}, run_at=at)
    reply = chat_message(owner=shanghai_user, text="remind me to call mom in 2 hours", parser=ScriptedParser(draft))
    assert reply.type == "card"
    sub = Subscription.objects.get()
    assert (sub.kind, sub.tool, sub.arguments, sub.run_at) == ("once", "reminder", {"text": "call mom"}, at)
    assert reply.card["next_fires"] == [at.isoformat()]


@pytest.mark.parametrize(
    ("draft", "slot", "words"),
    [
        (BEIJING_8AM.model_copy(update={"tool": "stock_price"}), "tool", "unknown tool"),
        (BEIJING_8AM.model_copy(update={"arguments": {"city": "Atlantis"}}), "place", "Atlantis"),
        (
            BEIJING_8AM.model_copy(update={"arguments": {"city": "Beijing", "webhook": "http://10.0.0.1/"}}),
            "tool",
            "webhook",
        ),
        (BEIJING_8AM.model_copy(update={"cron": "* * * * *"}), "time", "minimum interval"),
        (BEIJING_8AM.model_copy(update={"cron": "every day"}), "time", "5 fields"),
        (
            Draft(
                kind="monitor",
                tool="fuel_price",
                arguments={"region": "Shanghai"},
                condition={"field": "price", "op": "lt", "value": "cheap"},
            ),
            "threshold",
            "number",
        ),
        (
            Draft(
                kind="monitor",
                tool="fuel_price",
                arguments={"region": "Shanghai"},
                condition={"field": "mood", "op": "lt", "value": 7},
            ),
            "threshold",
            "mood",
        ),
        (
            Draft(
                kind="once", tool="reminder", arguments={"text": "x" * 600}, run_at=timezone.now() + timedelta(hours=1)
            ),
            "text",
            "",
        ),
        (
            Draft(kind="once", tool="reminder", arguments={"text": "late"}, run_at=timezone.now() - timedelta(hours=1)),
            "time",
            "future",
        ),
    ],
)
def test_a_draft_that_fails_validation_becomes_a_question_about_that_field(shanghai_user, draft, slot, words) -> None:
    reply = chat_message(owner=shanghai_user, text="please", parser=ScriptedParser(draft))
    assert (reply.type, reply.slot) == ("question", slot)
    assert words in reply.text
    assert Subscription.objects.count() == 0
    assert Conversation.objects.get().pending_draft["missing"][0] == slot


def test_manage_requests_act_only_on_the_users_own_subscriptions(shanghai_user, bob) -> None:
    mine = active_periodic(shanghai_user)
    theirs = active_periodic(bob)

    listed = chat_message(owner=shanghai_user, text="what do I have?", parser=ScriptedParser(Manage(action="list")))
    assert [s["id"] for s in listed.subscriptions] == [mine.pk]

    paused = chat_message(
        owner=shanghai_user, text="pause all", parser=ScriptedParser(Manage(action="pause", scope="all"))
    )
    assert [s["id"] for s in paused.subscriptions] == [mine.pk]
    assert Subscription.objects.get(pk=mine.pk).status == "paused"
    assert Subscription.objects.get(pk=theirs.pk).status == "active"

    cancel = Manage(action="cancel", place="Beijing")
    cancelled = chat_message(owner=shanghai_user, text="stop my Beijing weather", parser=ScriptedParser(cancel))
    assert cancelled.type == "result"
    assert Subscription.objects.get(pk=mine.pk).status == "cancelled"
    assert Subscription.objects.get(pk=theirs.pk).status == "active"


def test_one_request_that_matches_several_subscriptions_asks_which(shanghai_user) -> None:
    a = active_periodic(shanghai_user)
    b = active_periodic(shanghai_user, cron="0 9 * * *")
    reply = chat_message(
        owner=shanghai_user,
        text="pause my Beijing weather",
        parser=ScriptedParser(Manage(action="pause", place="Beijing")),
    )
    assert (reply.type, reply.slot) == ("question", "target")
    assert {s["id"] for s in reply.subscriptions} == {a.pk, b.pk}
    assert set(Subscription.objects.values_list("status", flat=True)) == {"active"}


def test_a_request_that_matches_nothing_says_so(shanghai_user) -> None:
    periodic(shanghai_user)  # a draft cannot be paused
    reply = chat_message(
        owner=shanghai_user, text="pause Tokyo", parser=ScriptedParser(Manage(action="pause", place="Tokyo"))
    )
    assert reply.type == "result"
    assert reply.subscriptions == []
    assert "Nothing to pause" in reply.text


def test_a_refusal_gives_the_reason_and_writes_nothing(shanghai_user, bob) -> None:
    active_periodic(bob)
    before = (Subscription.objects.count(), Channel.objects.count(), InboxMessage.objects.count())
    refusal = Refusal(reason="I can only manage your own subscriptions")
    reply = chat_message(owner=shanghai_user, text="cancel bob's subscriptions", parser=ScriptedParser(refusal))
    assert reply.type == "refusal"
    assert "your own subscriptions" in reply.text
    assert (Subscription.objects.count(), Channel.objects.count(), InboxMessage.objects.count()) == before
    assert Subscription.objects.get().status == "active"


def test_another_users_conversation_is_not_found(shanghai_user, bob) -> None:
    reply = chat_message(owner=shanghai_user, text="weather", parser=ScriptedParser(Draft(missing=(Slot.TOOL,))))
    with pytest.raises(NotFound):
        chat_message(owner=bob, text="Beijing", conversation_id=reply.conversation_id, parser=ScriptedParser())


def test_an_empty_message_is_refused_naming_the_field(shanghai_user) -> None:
    with pytest.raises(InvalidInput) as exc:
        chat_message(owner=shanghai_user, text="   ", parser=ScriptedParser())
    assert "message" in exc.value.fields


def test_a_chat_draft_is_checked_against_the_tool_schema_once(shanghai_user, monkeypatch) -> None:
    from tools.gateway import client

    checked: list[str] = []
    real = client.validate_arguments

    def counting(tool, args):  # type: ignore[no-untyped-def]
        checked.append(tool)
        return real(tool, args)

    monkeypatch.setattr(client, "validate_arguments", counting)
    reply = chat_message(owner=shanghai_user, text="每天早上8点告诉我北京的天气", parser=ScriptedParser(BEIJING_8AM))

    assert reply.type == "card"
    assert checked == ["current_weather"]


def _pause_all_queries(owner, count: int) -> int:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(count):
        active_periodic(owner)
    with CaptureQueriesContext(connection) as queries:
        reply = chat_message(owner=owner, text="pause all", parser=ScriptedParser(Manage(action="pause", scope="all")))
    assert len(reply.subscriptions) == count
    assert not Subscription.objects.filter(owner=owner, status="active").exists()
    return len(queries)


def test_pause_all_in_the_chat_costs_the_same_queries_for_2_or_12_subscriptions(alice, bob) -> None:
    assert _pause_all_queries(bob, 12) == _pause_all_queries(alice, 2)


def test_resume_all_over_the_quota_resumes_what_fits_and_names_the_rest(shanghai_user, settings) -> None:
    subs = [active_periodic(shanghai_user) for _ in range(3)]
    chat_message(owner=shanghai_user, text="pause all", parser=ScriptedParser(Manage(action="pause", scope="all")))
    settings.SUBSCRIPTION_MAX_ACTIVE_PER_USER = 2

    reply = chat_message(
        owner=shanghai_user, text="resume all", parser=ScriptedParser(Manage(action="resume", scope="all"))
    )

    assert reply.type == "result"
    assert [s["id"] for s in reply.subscriptions] == [subs[0].pk, subs[1].pk]
    assert f"#{subs[2].pk}" in reply.text
    assert "quota exceeded" in reply.text
    assert Subscription.objects.get(pk=subs[2].pk).status == "paused"
