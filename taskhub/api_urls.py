"""``/api/v1/``: one router for every area's viewsets."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from taskhub.channels.api import ChannelViewSet
from taskhub.channels.inbox_api import InboxViewSet, PreferencesView
from taskhub.channels.stream import inbox_stream
from taskhub.chat.api import ChatView
from taskhub.executions.api import ExecutionViewSet, SubscriptionExecutionViewSet
from taskhub.monitoring.api import EventIngestView
from taskhub.subscriptions.api import SubscriptionViewSet

router = DefaultRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("channels", ChannelViewSet, basename="channel")
router.register("inbox", InboxViewSet, basename="inbox")

urlpatterns = [
    # before the router: "stream" would otherwise be taken for an inbox message id
    path("inbox/stream/", inbox_stream, name="inbox-stream"),
    path("me/preferences/", PreferencesView.as_view(), name="preferences"),
    path("chat/", ChatView.as_view(), name="chat"),
    path("events/", EventIngestView.as_view(), name="events"),
    path(
        "subscriptions/<int:subscription_pk>/executions/",
        SubscriptionExecutionViewSet.as_view({"get": "list"}),
        name="subscription-executions",
    ),
    *router.urls,
]
