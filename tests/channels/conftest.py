"""Fixtures for channel tests: an execution to deliver, and channels of each kind."""

from __future__ import annotations

from typing import Any

import pytest

from taskhub.channels.dispatch import OutboundMessage
from taskhub.channels.models import Channel
from taskhub.executions.models import Execution
from tests.factories import active_periodic


@pytest.fixture
def execution(alice: Any, tools_registry: str) -> Execution:
    return Execution.objects.create(subscription=active_periodic(alice), fire_key="2026-01-01T00:00:00Z")


def message_for(execution: Execution, channel: Channel, **overrides: Any) -> OutboundMessage:
    fields = {"title": "Beijing weather", "body": "Sunny, 21°C", "data": {"temp": 21}, **overrides}
    return OutboundMessage(
        execution_id=execution.pk,
        subscription_id=execution.subscription_id,
        fire_key=execution.fire_key,
        channel_id=channel.pk,
        **fields,
    )
