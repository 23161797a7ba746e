"""What the MCP tools return: typed (pydantic) views of subscriptions and executions, for structured output."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from taskhub.executions.api import executions_of
from taskhub.subscriptions import scheduling
from taskhub.subscriptions.models import Subscription


class SubscriptionOut(BaseModel):
    id: int
    kind: str
    status: str
    title: str
    tool: str
    arguments: dict[str, Any]
    cron: str | None
    timezone: str
    run_at: datetime | None
    condition: dict[str, Any] | None
    created_from: str


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]


class ExecutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscription_id: int
    fire_key: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    error_kind: str
    error_message: str
    message: str


class ExecutionList(BaseModel):
    executions: list[ExecutionOut]


def subscription_out(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.pk,
        kind=sub.kind,
        status=sub.status,
        title=sub.title,
        tool=sub.tool,
        arguments=sub.arguments,
        cron=scheduling.cron_of(sub.schedule) if sub.schedule_id else None,
        timezone=sub.timezone,
        run_at=sub.run_at,
        condition=sub.condition,
        created_from=sub.created_from,
    )


def execution_list(user: Any, *, subscription_id: int | None, limit: int) -> ExecutionList:
    """``user``'s latest executions, selected as the REST list selects them (another user's id matches nothing)."""
    rows = executions_of(user, {}, subscription_id).order_by("-id")[:limit]
    return ExecutionList(executions=[ExecutionOut.model_validate(e, from_attributes=True) for e in rows])
