"""Follow-ups that arrive together: each is parsed against the pending draft it is stored over."""

from __future__ import annotations

import threading

import pytest

from agents.chat.intent import Draft, Manage, ParseContext, Refusal
from agents.chat.parsers import embedded_parser
from taskhub.chat.models import Conversation, Turn
from taskhub.chat.services import PARSE_ATTEMPTS, chat_message
from taskhub.core.errors import Conflict
from taskhub.subscriptions.models import Subscription
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.usefixtures("tools_registry")]


class ParsingTogether:
    """The embedded parser, but the first two parses wait for each other: both see the same pending draft."""

    def __init__(self) -> None:
        self.parser = embedded_parser()
        self.together = threading.Barrier(2, timeout=30)
        self.lock = threading.Lock()
        self.parses = 0

    def parse(self, text: str, context: ParseContext) -> Draft | Manage | Refusal:
        intent = self.parser.parse(text, context)
        with self.lock:
            self.parses += 1
            first_two = self.parses <= 2
        if first_two:
            self.together.wait()
        return intent


@pytest.mark.django_db(transaction=True)
def test_two_follow_ups_answered_at_once_both_fill_the_pending_draft(shanghai_user) -> None:
    question = chat_message(owner=shanghai_user, text="tell me the weather", parser=embedded_parser())
    assert (question.type, question.slot) == ("question", "place")
    answers = iter(["Beijing", "every day at 8am"])
    parser = ParsingTogether()

    replies = run_concurrently(
        lambda: chat_message(
            owner=shanghai_user, text=next(answers), conversation_id=question.conversation_id, parser=parser
        )
    )

    assert not [r for r in replies if isinstance(r, BaseException)], replies
    assert sorted(r.type for r in replies) == ["card", "question"]
    sub = Subscription.objects.get()  # the card has both answers: neither follow-up was lost
    assert (sub.arguments["city"], sub.kind) == ("Beijing", "periodic")
    card = next(r.card for r in replies if r.card)
    assert card["subscription_id"] == sub.pk
    assert card["schedule"]["en"] == "At 08:00"
    assert parser.parses == 3  # the one that lost the race was parsed again, against the winner's draft
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert (conversation.version, conversation.pending_draft) == (3, None)
    assert Turn.objects.filter(conversation=conversation).count() == 6


@pytest.mark.django_db
def test_a_follow_up_that_keeps_losing_the_race_gets_a_409_and_stores_nothing(shanghai_user) -> None:
    question = chat_message(owner=shanghai_user, text="tell me the weather", parser=embedded_parser())
    conversation_id = question.conversation_id

    class Overtaken:
        """While each parse runs, another message of the same conversation is answered."""

        def parse(self, text: str, context: ParseContext) -> Draft | Manage | Refusal:
            chat_message(
                owner=shanghai_user, text="what do I have?", conversation_id=conversation_id, parser=embedded_parser()
            )
            return embedded_parser().parse(text, context)

    with pytest.raises(Conflict) as exc:
        chat_message(owner=shanghai_user, text="Beijing", conversation_id=conversation_id, parser=Overtaken())

    assert exc.value.status_code == 409
    assert "conversation_id" in exc.value.fields
    texts = list(Turn.objects.filter(conversation_id=conversation_id, role="user").values_list("text", flat=True))
    assert texts == ["tell me the weather", *["what do I have?"] * PARSE_ATTEMPTS]
