"""``POST /api/v1/chat/``: the REST face of the chat service (LLM stub as the parser)."""

from __future__ import annotations

import pytest

from taskhub.chat.models import Conversation
from tests.chat.conftest import intent_call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

NEEDS_PLACE = {
    "action": "create",
    "kind": "periodic",
    "tool": "current_weather",
    "cron": "0 8 * * *",
    "missing": ["place"],
}


def test_chat_answers_a_question_then_a_card_in_one_conversation(api_for, shanghai_user, llm_stub) -> None:
    llm_stub.script(
        intent_call(NEEDS_PLACE), intent_call({**NEEDS_PLACE, "arguments": {"city": "Beijing"}, "missing": []})
    )
    api = api_for(shanghai_user)

    first = api.post("/api/v1/chat/", {"message": "weather every day at 8"}, format="json")
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["type"], body["slot"]) == ("question", "place")
    assert "card" not in body

    second = api.post(
        "/api/v1/chat/", {"message": "Beijing", "conversation_id": body["conversation_id"]}, format="json"
    )
    assert second.status_code == 200
    card = second.json()["card"]
    assert second.json()["type"] == "card"

    confirmed = api.post(card["actions"]["confirm"]["url"])
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "active"


@pytest.mark.parametrize(
    "body",
    [{}, {"message": ""}, {"message": "   "}, {"message": 5}, {"message": "x" * 1001}],
)
def test_a_missing_empty_or_oversized_message_is_a_400_naming_it(api_for, alice, body) -> None:
    response = api_for(alice).post("/api/v1/chat/", body, format="json")
    assert response.status_code == 400
    assert "message" in response.json()["fields"]
    assert Conversation.objects.count() == 0


def test_someone_elses_conversation_is_a_404(api_for, alice, bob, llm_stub) -> None:
    llm_stub.script(intent_call(NEEDS_PLACE))
    conversation = api_for(alice).post("/api/v1/chat/", {"message": "weather at 8"}, format="json").json()
    response = api_for(bob).post(
        "/api/v1/chat/", {"message": "Beijing", "conversation_id": conversation["conversation_id"]}, format="json"
    )
    assert response.status_code == 404


def test_chat_needs_authentication(api_for) -> None:
    assert api_for(None).post("/api/v1/chat/", {"message": "hi"}, format="json").status_code in (401, 403)


def test_the_admin_shows_a_conversations_card_as_text(client, staff, shanghai_user, llm_stub) -> None:
    llm_stub.script(intent_call({**NEEDS_PLACE, "arguments": {"city": "Beijing"}, "missing": []}))
    from taskhub.chat.services import chat_message

    reply = chat_message(owner=shanghai_user, text="Beijing weather every day at 8")
    client.force_login(staff)
    page = client.get(f"/admin/chat/conversation/{reply.conversation_id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "the current weather in Beijing" in html
    assert f"/api/v1/subscriptions/{reply.card['subscription_id']}/confirm/" in html
