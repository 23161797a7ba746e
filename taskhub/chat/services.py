"""The chat agent's one entry point: a message in, a question, a card, a result or a refusal out.

``chat_message`` parses with the configured parser (``agents.chat.parsers``),
then acts only within the user's own account: a complete draft becomes a DRAFT
subscription (nothing runs until the user confirms the card), management
requests go through the lifecycle services on the user's own subscriptions.
The text is data: nothing in it is evaluated or used as a template.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone as djtz
from pydantic import ValidationError

from agents.chat.card import card_for, card_text
from agents.chat.intent import Draft, Manage, ParseContext, Parser, Refusal
from taskhub.channels.selectors import user_timezone
from taskhub.chat.drafts import DraftProblem, draft_spec, missing_slots, problem_of
from taskhub.chat.manage import manage
from taskhub.chat.models import Conversation, Role, Turn
from taskhub.chat.questions import language_of, question, say
from taskhub.core.errors import Conflict, InvalidInput, NotFound
from taskhub.subscriptions.models import Origin
from taskhub.subscriptions.services import subscription_create

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 1000
PARSE_ATTEMPTS = 3  # a follow-up that raced other turns of its conversation is parsed again, at most this often


@dataclass(frozen=True)
class Reply:
    conversation_id: int
    type: Literal["question", "card", "result", "refusal"]
    text: str
    slot: str | None = None
    card: dict[str, Any] | None = None
    subscriptions: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _conversation(owner: AbstractBaseUser, conversation_id: int, *, lock: bool = False) -> Conversation:
    qs = Conversation.objects.filter(pk=conversation_id, owner=owner)
    conversation = (qs.select_for_update() if lock else qs).first()
    if conversation is None:
        raise NotFound("conversation not found")  # another user's conversation looks exactly like a missing one
    return conversation


def _pending(conversation: Conversation) -> Draft | None:
    if not conversation.pending_draft:
        return None
    try:
        return Draft.model_validate(conversation.pending_draft)
    except ValidationError:
        return None  # stored by an older schema: start afresh rather than fail


def chat_message(
    *, owner: AbstractBaseUser, text: str, conversation_id: int | None = None, parser: Parser | None = None
) -> Reply:
    """Answer one chat message of ``owner``; stores both turns and the conversation's pending draft.

    Raises ``InvalidInput`` (field ``message``) for an empty or oversized message,
    ``NotFound`` for a conversation that is not the user's, and ``Conflict`` (409,
    field ``conversation_id``) when other turns of the conversation kept being
    answered while this one was parsed. A follow-up is parsed against the pending
    draft it is stored over: concurrent follow-ups each count, none is lost.
    """
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(
            "message: empty or too long", fields={"message": [f"must be 1 to {MAX_MESSAGE_LENGTH} characters"]}
        )
    tz = user_timezone(owner)
    if parser is None:
        from agents.chat.parsers import get_parser

        parser = get_parser()
    for _ in range(PARSE_ATTEMPTS):
        known = _conversation(owner, conversation_id) if conversation_id is not None else None
        language = language_of(text, default=known.language if known else "en")
        now = djtz.now()
        context = ParseContext(now=now, timezone=tz, language=language, pending=_pending(known) if known else None)
        # Outside any transaction: an LLM parser may take seconds, and must not hold a row lock meanwhile.
        intent = parser.parse(text, context)
        try:
            return _answer(
                owner,
                intent,
                text=text,
                conversation_id=conversation_id,
                seen_version=known.version if known else None,
                language=language,
                tz=tz,
                now=now,
            )
        except _Answered:
            # Another message of this conversation was answered while this one was parsed: its pending
            # draft is the one this message follows up, so parse again rather than overwrite it.
            logger.info("chat follow-up parsed again", extra={"conversation_id": conversation_id})
    raise Conflict(
        "conversation: busy",
        fields={"conversation_id": ["other messages of this conversation were answered meanwhile; send it again"]},
    )


class _Answered(Exception):
    """The conversation moved on (another turn was stored) after this message was parsed."""


@transaction.atomic
def _answer(
    owner: AbstractBaseUser,
    intent: Draft | Manage | Refusal,
    *,
    text: str,
    conversation_id: int | None,
    seen_version: int | None,
    language: str,
    tz: str,
    now: datetime,
) -> Reply:
    """Act on ``intent`` and store the exchange, all or nothing.

    ``seen_version``: the conversation's version ``intent`` was parsed against;
    ``_Answered`` (nothing written) when it is no longer the current one.
    """
    if conversation_id is None:
        conversation = Conversation.objects.create(owner=owner, language=language)
    else:
        conversation = _conversation(owner, conversation_id, lock=True)
        if conversation.version != seen_version:
            raise _Answered
    user_turn = Turn.objects.create(
        conversation=conversation, role=Role.USER, text=text, intent=intent.model_dump(mode="json")
    )

    pending: Draft | None = None
    if isinstance(intent, Refusal):
        reply = Reply(
            conversation.pk,
            "refusal",
            say(language, "Sorry, I can't do that: ", "抱歉，这个我做不到：") + intent.reason,
        )
    elif isinstance(intent, Manage):
        outcome = manage(owner=owner, request=intent, language=language)
        reply = Reply(
            conversation.pk,
            outcome.type,  # type: ignore[arg-type]
            outcome.text,
            slot=str(outcome.slot) if outcome.slot else None,
            subscriptions=outcome.subscriptions,
        )
    else:
        reply, pending = _draft_reply(
            owner, intent, conversation=conversation, turn=user_turn, timezone=tz, language=language, now=now
        )

    Turn.objects.create(conversation=conversation, role=Role.AGENT, text=reply.text, reply=reply.as_dict())
    conversation.pending_draft = pending.model_dump(mode="json") if pending else None
    conversation.language = language
    conversation.version += 1  # under the row lock taken above
    conversation.save(update_fields=["pending_draft", "language", "version", "updated_at"])
    logger.info(
        "chat reply",
        extra={"conversation_id": conversation.pk, "reply_type": reply.type, "slot": reply.slot},
    )
    return reply


def _draft_reply(
    owner: AbstractBaseUser,
    draft: Draft,
    *,
    conversation: Conversation,
    turn: Turn,
    timezone: str,
    language: str,
    now: datetime,
) -> tuple[Reply, Draft | None]:
    """A card for a complete, valid draft; otherwise the question about its first problem (kept pending)."""
    try:
        kind, spec = draft_spec(draft, timezone=timezone, language=language)
        # A savepoint: a refusal inside subscription_create leaves nothing behind but still lets us answer.
        with transaction.atomic():
            sub = subscription_create(
                owner=owner, kind=kind, spec=spec, origin=Origin.CHAT, source_ref=f"chat-turn:{turn.pk}"
            )
    except DraftProblem as problem:
        return _question(draft, problem, conversation=conversation, language=language)
    except InvalidInput as exc:
        return _question(draft, problem_of(exc), conversation=conversation, language=language)
    card = card_for(sub, user_timezone=timezone, now=now)
    text = card_text(card, language=language)
    return Reply(conversation.pk, "card", text, card=card), None


def _question(draft: Draft, problem: DraftProblem, *, conversation: Conversation, language: str) -> tuple[Reply, Draft]:
    # Keep what is known, and mark the slot asked, so the parser knows what the next message answers.
    asked = (problem.slot, *(s for s in missing_slots(draft) if s != problem.slot))
    pending = draft.model_copy(update={"missing": asked})
    text = question(problem.slot, language, problem=problem.problem)
    return Reply(conversation.pk, "question", text, slot=str(problem.slot)), pending
