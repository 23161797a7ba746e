"""Read-only REST API over executions, scoped to the requesting user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from taskhub.core.api import IdCursorPagination, StrictModelSerializer, query_choice
from taskhub.core.errors import InvalidInput
from taskhub.executions.models import Execution, ExecutionStatus, with_status


class ExecutionSerializer(StrictModelSerializer):
    # The tool's answer the run used: {"tool", "data", "status", "fetched_at", an alert's
    # "alert"} (rows older than executions/0009 lack "tool"), or null (ToolSnapshot).
    tool_snapshot = serializers.JSONField(read_only=True, allow_null=True)

    class Meta:
        model = Execution
        fields = [
            "id",
            "subscription",
            "fire_key",
            "instance_id",
            "status",
            "attempts",
            "scheduled_for",
            "enqueued_at",
            "started_at",
            "finished_at",
            "error_kind",
            "error_message",
            "tool_snapshot",
            "message",
            "meta",
            "created_at",
        ]
        read_only_fields = fields


def _time_param(params: dict[str, str], name: str) -> object:
    raw = params.get(name)
    if not raw:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise InvalidInput(f"{name}: not an ISO 8601 date-time", fields={name: ["expected e.g. 2026-11-25T08:00:00Z"]})
    return parsed


FILTERS = [
    OpenApiParameter("status", str, enum=ExecutionStatus.values),
    OpenApiParameter("subscription", int),
    OpenApiParameter("since", str, description="created at or after (ISO 8601)"),
    OpenApiParameter("until", str, description="created before (ISO 8601)"),
]


def executions_of(user: object, params: dict[str, str], subscription_id: int | None = None) -> QuerySet[Execution]:
    """``user``'s executions filtered by the query parameters in ``FILTERS``."""
    qs = Execution.objects.filter(subscription__owner=user).select_related("snapshot")
    subscription = subscription_id or params.get("subscription")
    if subscription:
        if not str(subscription).isdigit():
            raise InvalidInput("subscription: not an id", fields={"subscription": ["must be an integer"]})
        qs = qs.filter(subscription_id=int(subscription))
    status = query_choice(params, "status", ExecutionStatus.values)
    if status:
        qs = qs.filter(with_status(status))
    since, until = _time_param(params, "since"), _time_param(params, "until")
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class ExecutionViewSet(viewsets.ReadOnlyModelViewSet):
    """Executions of the user's subscriptions, newest first."""

    serializer_class = ExecutionSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Execution]:
        return executions_of(self.request.user, self.request.query_params)


@extend_schema_view(list=extend_schema(parameters=[p for p in FILTERS if p.name != "subscription"]))
class SubscriptionExecutionViewSet(viewsets.ReadOnlyModelViewSet):
    """Executions of one of the user's subscriptions (another user's subscription lists nothing)."""

    serializer_class = ExecutionSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Execution]:
        return executions_of(
            self.request.user, self.request.query_params, subscription_id=int(self.kwargs["subscription_pk"])
        )
