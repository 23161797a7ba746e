"""REST API for subscriptions: translation only; every write is a service call."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone as djtz
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from taskhub.core.api import (
    IdCursorPagination,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictModelSerializer,
    query_choice,
    query_int,
)
from taskhub.executions import services as execution_services
from taskhub.executions.api import ExecutionSerializer
from taskhub.subscriptions import scheduling, selectors, services
from taskhub.subscriptions.models import Kind, MissedPolicy, Priority, Subscription
from taskhub.subscriptions.states import Action, Status


class CronField(StrictCharField):
    """Written as a cron string; read back from the shared schedule row."""

    def get_attribute(self, instance: Subscription) -> str | None:
        return scheduling.cron_of(instance.schedule) if instance.schedule_id else None


class ChannelIdsField(serializers.ListField):
    """Written and read as a list of the owner's channel ids."""

    def get_attribute(self, instance: Subscription) -> list[int]:
        return [channel.pk for channel in instance.channels.all()]


class LastRunField(serializers.DateTimeField):
    """When the subscription last ran (``selectors.LAST_RUNS``): annotated by the list's queryset,
    looked up once per instance otherwise (a subscription a service just returned)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def get_attribute(self, instance: Subscription) -> Any:
        if not hasattr(instance, self.source):
            for name, value in selectors.last_runs(instance.pk).items():
                setattr(instance, name, value)
        return getattr(instance, self.source)


class MonitorSerializer(serializers.Serializer):
    """A monitor's alert settings; ranges are checked by the service (errors on ``monitor.<name>``)."""

    interval_s = StrictIntegerField(required=False, min_value=1, help_text="seconds between polls of its tool call")
    margin = serializers.FloatField(
        required=False, min_value=0, help_text="hysteresis: re-arm past threshold +/- margin"
    )
    cooldown_s = StrictIntegerField(required=False, min_value=0, help_text="no second alert within this many seconds")
    daily_cap = StrictIntegerField(required=False, min_value=0, help_text="at most this many alerts a day (0: no cap)")
    alert_once = StrictBooleanField(required=False, help_text="alert once, then complete the subscription")


class SubscriptionSerializer(StrictModelSerializer):
    cron = CronField(required=False, allow_null=True, max_length=100)
    channels = ChannelIdsField(child=StrictIntegerField(min_value=1), required=False, max_length=20)
    kind = StrictChoiceField(choices=Kind.choices)
    priority = StrictChoiceField(choices=Priority.choices, required=False)
    missed_policy = StrictChoiceField(choices=MissedPolicy.choices, required=False)
    arguments = serializers.DictField(required=False)
    condition = serializers.DictField(required=False, allow_null=True)
    catch_up_window_s = StrictIntegerField(required=False, min_value=0, max_value=7 * 86400)
    monitor = MonitorSerializer(required=False, allow_null=True)
    last_fired_at = LastRunField()
    last_succeeded_at = LastRunField()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "kind",
            "status",
            "title",
            "tool",
            "arguments",
            "cron",
            "timezone",
            "run_at",
            "condition",
            "template",
            "channels",
            "priority",
            "starts_at",
            "ends_at",
            "missed_policy",
            "catch_up_window_s",
            "monitor",
            "consecutive_failures",
            "last_fired_at",
            "last_succeeded_at",
            "created_from",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "consecutive_failures",
            "last_fired_at",
            "last_succeeded_at",
            "created_from",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"title": {"max_length": 200}, "tool": {"max_length": 100}}

    def spec(self) -> services.SubscriptionSpec:
        data = dict(self.validated_data)
        data.pop("kind", None)
        if "channels" in data:
            data["channel_ids"] = data.pop("channels")
        return services.SubscriptionSpec(**data)


def _transition_endpoint(lifecycle_action: Action) -> Any:
    """``POST /subscriptions/{id}/<action>/``: one lifecycle transition, 409 when not allowed."""

    def endpoint(self: SubscriptionViewSet, request: Request, pk: str | None = None) -> Response:
        subscription = self.get_object()  # 404 for another user's subscription
        updated = services.subscription_transition(
            subscription_id=subscription.pk, action=lifecycle_action, owner=request.user
        )
        return Response(SubscriptionSerializer(updated).data)

    # DRF dispatches an extra action by its function name: set it before decorating.
    endpoint.__name__ = str(lifecycle_action)
    return extend_schema(request=None, responses=SubscriptionSerializer)(
        action(detail=True, methods=["post"])(endpoint)
    )


class SubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A user's subscriptions. Another user's subscription is a 404, never a 403."""

    serializer_class = SubscriptionSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Subscription]:
        params = self.request.query_params
        return selectors.subscriptions_of(
            self.request.user,
            status=query_choice(params, "status", Status.values),
            kind=query_choice(params, "kind", Kind.values),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Status.values),
            OpenApiParameter("kind", str, enum=Kind.values),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: SubscriptionSerializer) -> None:
        serializer.instance = services.subscription_create(
            owner=self.request.user, kind=serializer.validated_data["kind"], spec=serializer.spec()
        )

    def perform_update(self, serializer: SubscriptionSerializer) -> None:
        kind = serializer.validated_data.get("kind")
        if kind is not None and kind != serializer.instance.kind:
            raise serializers.ValidationError({"kind": ["cannot change the kind of a subscription"]})
        serializer.instance = services.subscription_update(
            subscription_id=serializer.instance.pk, owner=self.request.user, spec=serializer.spec()
        )

    def perform_destroy(self, instance: Subscription) -> None:
        services.subscription_delete(subscription_id=instance.pk, owner=self.request.user)

    confirm = _transition_endpoint(Action.CONFIRM)
    pause = _transition_endpoint(Action.PAUSE)
    resume = _transition_endpoint(Action.RESUME)
    cancel = _transition_endpoint(Action.CANCEL)

    @extend_schema(request=None, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"], url_path="run-now")
    def run_now(self, request: Request, pk: str | None = None) -> Response:
        subscription = self.get_object()
        execution = execution_services.execution_run_now(subscription_id=subscription.pk, owner=request.user)
        return Response(ExecutionSerializer(execution).data, status=202)

    @extend_schema(
        parameters=[OpenApiParameter("count", int, description="how many fire times (1-50, default 5)")],
        responses=inline_serializer(
            "NextFires",
            {"timezone": serializers.CharField(), "fires": serializers.ListField(child=serializers.DateTimeField())},
        ),
    )
    @action(detail=True, methods=["get"], url_path="next-fires")
    def next_fires(self, request: Request, pk: str | None = None) -> Response:
        subscription = self.get_object()
        count = query_int(request.query_params, "count", default=5, low=1, high=50)
        fires = selectors.next_fires(subscription, count=count, after=djtz.now())
        return Response({"timezone": subscription.timezone, "fires": [f.isoformat() for f in fires]})
