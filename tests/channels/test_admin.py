from __future__ import annotations

import pytest

from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.services import channel_create, inbox_channel_for
from tests.channels.conftest import message_for

pytestmark = pytest.mark.django_db


def test_channel_admin_pages_render_and_never_show_a_webhook_secret(staff, alice, execution, client) -> None:
    hook = channel_create(owner=alice, kind="webhook", name="hook", config={"url": "https://example.com/h"})
    deliver_messages([message_for(execution, inbox_channel_for(alice))])
    client.force_login(staff)
    for page in (
        "/admin/channels/inboxmessage/",
        "/admin/channels/notificationpreferences/",
        f"/admin/channels/channel/{hook.pk}/change/",
    ):
        response = client.get(page)
        assert response.status_code == 200, page
        assert hook.secret not in response.content.decode()
