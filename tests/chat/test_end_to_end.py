"""From a Chinese sentence to a message in the user's inbox: chat -> card -> confirm -> bucket -> fire -> inbox.

Two variants: the default embedded parser, and the LLM path (the stub scripted
with the intent a model would give).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from taskhub.channels.models import InboxMessage
from taskhub.executions.fanout import fanout, nominal_fire
from taskhub.subscriptions.models import Subscription
from taskhub.subscriptions.scheduling import FANOUT_TASK, bucket_name
from tests.batches import run_waiting
from tests.chat.conftest import intent_call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tools_registry")]

SENTENCE = "每天早上8点告诉我北京的天气"


def _sentence_to_inbox(api, user) -> InboxMessage:  # type: ignore[no-untyped-def]
    reply = api.post("/api/v1/chat/", {"message": SENTENCE}, format="json").json()
    assert reply["type"] == "card", reply
    card = reply["card"]
    assert card["schedule"]["cron"] == "0 8 * * *"
    assert all("T08:00:00+08:00" in fire for fire in card["next_fires"])

    confirmed = api.post(card["actions"]["confirm"]["url"])
    assert confirmed.status_code == 200
    sub = Subscription.objects.get(pk=card["subscription_id"])
    assert sub.status == "active"
    bucket = PeriodicTask.objects.get(name=bucket_name(sub.schedule_id))
    assert (bucket.task, bucket.enabled, str(bucket.crontab.timezone)) == (FANOUT_TASK, True, "Asia/Shanghai")

    # The beat tick of the bucket, one second after its latest 08:00 in Shanghai.
    tick = nominal_fire(cron="0 8 * * *", timezone="Asia/Shanghai", now=timezone.now()) + timedelta(seconds=1)
    assert fanout(schedule_id=sub.schedule_id, now=tick).created == 1
    assert run_waiting() == {"succeeded": 1}
    return InboxMessage.objects.get(owner=user, subscription=sub)


def test_a_chinese_sentence_ends_as_an_inbox_message_through_the_llm_parser(api_for, shanghai_user, llm_stub) -> None:
    llm_stub.script(
        intent_call(
            {
                "action": "create",
                "kind": "periodic",
                "tool": "current_weather",
                "arguments": {"city": "Beijing"},
                "cron": "0 8 * * *",
            }
        )
    )
    message = _sentence_to_inbox(api_for(shanghai_user), shanghai_user)
    assert message.title == "北京天气"
    assert message.body.startswith("北京天气：")
    assert "°C" in message.body


def test_a_chinese_sentence_ends_as_an_inbox_message_through_the_embedded_parser(
    api_for, shanghai_user, settings
) -> None:
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    message = _sentence_to_inbox(api_for(shanghai_user), shanghai_user)
    assert "°C" in message.body


def test_without_an_llm_the_chat_uses_the_embedded_parser(settings) -> None:
    from agents.chat.grammar import EmbeddedParser
    from agents.chat.parsers import get_parser

    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    assert isinstance(get_parser(), EmbeddedParser)
