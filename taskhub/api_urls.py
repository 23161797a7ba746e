"""``/api/v1/``: one router for every area's viewsets."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from taskhub.channels.api import ChannelViewSet
from taskhub.executions.api import ExecutionViewSet, SubscriptionExecutionViewSet
from taskhub.subscriptions.api import SubscriptionViewSet

router = DefaultRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = [
    path(
        "subscriptions/<int:subscription_pk>/executions/",
        SubscriptionExecutionViewSet.as_view({"get": "list"}),
        name="subscription-executions",
    ),
    *router.urls,
]
