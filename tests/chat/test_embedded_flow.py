"""The chat endpoint with the default (embedded) parser: sentences of each kind reach the right answer."""

from __future__ import annotations

import pytest

from taskhub.subscriptions.models import Subscription

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


@pytest.fixture
def chat(api_for, shanghai_user, settings):  # type: ignore[no-untyped-def]
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    api = api_for(shanghai_user)

    def send(message: str, conversation_id: int | None = None) -> dict:
        body = {"message": message} | ({"conversation_id": conversation_id} if conversation_id else {})
        response = api.post("/api/v1/chat/", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return send


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("every weekday at 6:45 send me the Shanghai weather", "periodic"),
        ("每周一上午9点推送广州天气", "periodic"),
        ("tell me when 92 petrol in Shanghai drops below 7 yuan", "monitor"),
        ("哈尔滨低于零下20度提醒我", "monitor"),
        ("remind me to call mom tomorrow at 3pm", "once"),
        ("20分钟后提醒我开会", "once"),
    ],
)
def test_a_complete_request_becomes_a_draft_and_its_card(chat, sentence, kind) -> None:
    reply = chat(sentence)
    assert reply["type"] == "card", reply
    sub = Subscription.objects.get(pk=reply["card"]["subscription_id"])
    assert (sub.kind, sub.status, sub.created_from) == (kind, "draft", "chat")


def test_a_missing_place_is_asked_and_the_answer_completes_the_draft(chat) -> None:
    question = chat("每天早上8点告诉我天气")
    assert (question["type"], question["slot"]) == ("question", "place")
    card = chat("上海", question["conversation_id"])
    assert card["type"] == "card", card
    assert card["card"]["arguments"] == {"city": "Shanghai"}


def test_management_and_unsafe_requests(chat) -> None:
    chat("every day at 8 send me the Beijing weather")
    assert chat("what do I have?")["type"] == "result"
    refused = chat("delete bob's subscriptions")
    assert refused["type"] == "refusal"
    assert Subscription.objects.count() == 1
