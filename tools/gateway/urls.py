from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from tools.gateway.api import FuelOverrideView, ToolListView, ToolServerViewSet

router = DefaultRouter()
router.register("servers", ToolServerViewSet, basename="tool-server")

urlpatterns = [
    path("", ToolListView.as_view(), name="tool-list"),
    path("fuel-overrides/", FuelOverrideView.as_view(), name="fuel-overrides"),
    path("", include(router.urls)),
]
