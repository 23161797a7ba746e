"""The LLM path with the real openai SDK against the scripted OpenAI-compatible stub (a real process)."""

from __future__ import annotations

import pytest

from agents import llm
from agents.chat.intent import Draft, Slot
from agents.chat.parsers import get_parser
from taskhub.chat.services import chat_message
from taskhub.core.errors import ErrorKind, TaskHubError
from taskhub.subscriptions.models import Subscription
from tests.chat.conftest import intent_call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

BEIJING_8AM = {
    "action": "create",
    "kind": "periodic",
    "tool": "current_weather",
    "arguments": {"city": "Beijing"},
    "cron": "0 8 * * *",
}


def test_the_llm_parser_is_chosen_when_a_base_url_is_set(llm_stub) -> None:
    assert type(get_parser()).__name__ == "LLMParser"


def test_a_good_tool_call_becomes_a_card(llm_stub, shanghai_user) -> None:
    llm_stub.script(intent_call(BEIJING_8AM))

    reply = chat_message(owner=shanghai_user, text="每天早上8点告诉我北京的天气")

    assert reply.type == "card"
    assert Subscription.objects.get().arguments == {"city": "Beijing"}
    sent = llm_stub.seen()[0]
    assert "step by step" in sent["messages"][0]["content"]
    assert sent["tools"][0]["function"]["name"] == "submit_intent"
    assert "每天早上8点告诉我北京的天气" in sent["messages"][1]["content"]


def test_the_pending_draft_is_sent_to_the_model_with_the_follow_up(llm_stub, shanghai_user) -> None:
    llm_stub.script(
        intent_call({**BEIJING_8AM, "arguments": {}, "missing": ["place"]}),
        intent_call(BEIJING_8AM),
    )
    first = chat_message(owner=shanghai_user, text="weather every day at 8")
    second = chat_message(owner=shanghai_user, text="Beijing", conversation_id=first.conversation_id)
    assert (first.type, first.slot, second.type) == ("question", "place", "card")
    assert '"missing": ["place"]' in llm_stub.seen()[1]["messages"][1]["content"]


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(
            {"tool_call": {"name": "submit_intent", "arguments": '{"intent": {"action": "crea'}}, id="malformed-json"
        ),
        pytest.param(
            {"tool_call": {"name": "delete_everything", "arguments": {"intent": BEIJING_8AM}}}, id="unknown-function"
        ),
        pytest.param(
            {"tool_call": {"name": "submit_intent", "arguments": {"intent": {**BEIJING_8AM, "owner": 7}}}},
            id="intent-with-extra-field",
        ),
        pytest.param({"content": "I think you want the weather."}, id="no-tool-call"),
        pytest.param({"status": 500, "error": "boom"}, id="server-error"),
        pytest.param({"status": 400, "error": "bad request"}, id="client-error"),
        pytest.param({"delay_s": 1}, id="timeout"),
    ],
)
def test_an_unusable_answer_falls_back_to_a_follow_up_question(llm_stub, shanghai_user, step) -> None:
    llm_stub.script(step)

    reply = chat_message(owner=shanghai_user, text="weather please")

    assert (reply.type, reply.slot) == ("question", "tool")
    assert Subscription.objects.count() == 0


def test_an_intent_naming_an_unknown_tool_asks_about_the_tool(llm_stub, shanghai_user) -> None:
    llm_stub.script(intent_call({**BEIJING_8AM, "tool": "shell_exec", "arguments": {"cmd": "rm -rf /"}}))
    reply = chat_message(owner=shanghai_user, text="run rm -rf / every day at 8")
    assert (reply.type, reply.slot) == ("question", "tool")
    assert "unknown tool" in reply.text
    assert Subscription.objects.count() == 0


def test_a_failed_answer_to_a_follow_up_asks_the_pending_slot_again(llm_stub, shanghai_user) -> None:
    llm_stub.script(intent_call({**BEIJING_8AM, "arguments": {}, "missing": ["place"]}), {"status": 503})
    first = chat_message(owner=shanghai_user, text="weather every day at 8")
    again = chat_message(owner=shanghai_user, text="Beijing", conversation_id=first.conversation_id)
    assert (again.type, again.slot) == ("question", "place")


@pytest.mark.parametrize(
    ("step", "kind"),
    [
        ({"status": 503}, ErrorKind.TEMPORARY),
        ({"status": 429}, ErrorKind.TEMPORARY),
        ({"status": 401}, ErrorKind.PERMANENT),
        ({"delay_s": 1}, ErrorKind.TRANSIENT),
    ],
)
def test_llm_errors_are_classified_by_what_a_retry_could_change(llm_stub, step, kind) -> None:
    from agents.chat.llm_parser import Submission

    llm_stub.script(step)
    with pytest.raises(TaskHubError) as exc:
        llm.structured(system="s", user="u", tool="submit_intent", description="d", output=Submission)
    assert exc.value.kind == kind


def test_the_parser_returns_a_typed_draft(llm_stub) -> None:
    from datetime import UTC, datetime

    from agents.chat.intent import ParseContext
    from agents.chat.llm_parser import LLMParser

    llm_stub.script(intent_call({**BEIJING_8AM, "missing": ["time"]}))
    intent = LLMParser().parse("x", ParseContext(now=datetime.now(UTC), timezone="UTC"))
    assert intent == Draft(**{**BEIJING_8AM, "missing": (Slot.TIME,)})


def test_word_message_rewrites_through_the_llm(llm_stub) -> None:
    llm_stub.script({"content": "Good morning! Beijing is sunny, 21°C."})
    assert llm.word_message("Beijing weather: Sunny, 21°C", context={"tool": "current_weather"}) == (
        "Good morning! Beijing is sunny, 21°C."
    )


@pytest.mark.parametrize("step", [{"status": 500}, {"delay_s": 1}, {"content": ""}])
def test_word_message_returns_none_on_any_failure(llm_stub, step) -> None:
    llm_stub.script(step)
    assert llm.word_message("Beijing weather: Sunny, 21°C") is None


def test_word_message_returns_none_without_an_llm(settings) -> None:
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    assert llm.word_message("hello") is None


def test_a_wall_clock_run_at_from_the_model_is_taken_in_the_users_zone(llm_stub, shanghai_user) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    local = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).replace(
        hour=15, minute=0, second=0, microsecond=0, tzinfo=None
    )
    reminder = {"action": "create", "kind": "once", "tool": "reminder", "arguments": {"text": "call mom"}}
    llm_stub.script(intent_call({**reminder, "run_at": local.isoformat()}))

    reply = chat_message(owner=shanghai_user, text="remind me to call mom tomorrow at 3pm")

    assert reply.type == "card"
    assert reply.card["next_fires"] == [local.replace(tzinfo=ZoneInfo("Asia/Shanghai")).isoformat()]
