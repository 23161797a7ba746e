"""The reminder tool through the real gateway against the real tool-server process."""

from __future__ import annotations

import pytest

from taskhub.core.errors import InvalidInput
from tools import gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def reminder_server(servers_url, register):  # type: ignore[no-untyped-def]
    register("reminder", f"{servers_url}/reminder/mcp")


def test_the_reminder_tool_answers_its_text_as_structured_content(reminder_server) -> None:
    result = gateway.call("reminder", {"text": "call mom"})
    assert result.data["text"] == "call mom"
    assert result.data["created"].endswith("+00:00")
    assert set(gateway.known_tools()["reminder"].output_schema["properties"]) == {"text", "created"}


@pytest.mark.parametrize("text", ["", "x" * 501])
def test_a_reminder_text_outside_1_to_500_characters_is_refused_naming_it(reminder_server, text) -> None:
    with pytest.raises(InvalidInput) as exc:
        gateway.validate_arguments("reminder", {"text": text})
    assert "text" in exc.value.fields
