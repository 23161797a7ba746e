"""``POST /api/v1/chat/``: translation only; the chat service does the work."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taskhub.chat.services import MAX_MESSAGE_LENGTH, chat_message
from taskhub.core.api import StrictCharField, StrictIntegerField


class ChatRequestSerializer(serializers.Serializer):
    message = StrictCharField(min_length=1, max_length=MAX_MESSAGE_LENGTH)
    conversation_id = StrictIntegerField(required=False, min_value=1, max_value=2**63 - 1)


class SubscriptionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    tool = serializers.CharField()


class ChatReplySerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=["question", "card", "result", "refusal"])
    text = serializers.CharField()
    slot = serializers.CharField(required=False, help_text="the slot a question asks about (city, time, ...)")
    card = serializers.DictField(required=False, help_text="confirmation card of the new draft subscription")
    subscriptions = SubscriptionSummarySerializer(many=True, required=False)


class ChatView(APIView):
    """Send the chat agent a message; get a question, a confirmation card, a result or a refusal."""

    @extend_schema(request=ChatRequestSerializer, responses=ChatReplySerializer)
    def post(self, request: Request) -> Response:
        body = ChatRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reply = chat_message(
            owner=request.user,
            text=body.validated_data["message"],
            conversation_id=body.validated_data.get("conversation_id"),
        )
        return Response(reply.as_dict())
