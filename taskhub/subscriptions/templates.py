"""Message templates: plain ``{name}`` placeholders, nothing else.

No expression language, no attribute access, no indexing, no format specs: a
template is data a user typed, so rendering is a dictionary lookup and a
length cap. Unknown names render empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from taskhub.core.errors import InvalidInput

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Placeholders every message may use, whatever the tool.
COMMON_PLACEHOLDERS = frozenset({"title", "date", "time", "weekday", "timezone", "stale_note"})
MAX_VALUE_LENGTH = 500


def validate_template(
    template: str, *, allowed: frozenset[str] | None, max_length: int, field: str = "template"
) -> str:
    """Refuse anything but plain names from ``allowed`` (None: any plain name)."""
    if len(template) > max_length:
        raise InvalidInput(f"{field}: too long", fields={field: [f"longer than {max_length} characters"]})
    for name in PLACEHOLDER.findall(template):
        if not IDENTIFIER.match(name):
            raise InvalidInput(
                f"{field}: bad placeholder", fields={field: [f"placeholder {{{name}}} is not a plain name"]}
            )
        if allowed is not None and name not in allowed:
            message = f"unknown placeholder {{{name}}}; allowed: {', '.join(sorted(allowed))}"
            raise InvalidInput(f"{field}: unknown placeholder", fields={field: [message]})
    return template


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return ""
    return str(value)[:MAX_VALUE_LENGTH]


def render(template: str, values: Mapping[str, Any], *, max_length: int) -> str:
    """Substitute ``{name}`` from ``values``; the result is capped at ``max_length`` characters."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        return _text(values[name]) if IDENTIFIER.match(name) and values.get(name) is not None else ""

    return PLACEHOLDER.sub(substitute, template)[:max_length]


def default_template(data: Mapping[str, Any]) -> str:
    """A readable message when the user wrote none: the title, then each top-level scalar."""
    fields = [
        f"{name}: {{{name}}}"
        for name, value in data.items()
        if IDENTIFIER.match(name) and not isinstance(value, (dict, list))
    ]
    return "{title}\n" + "\n".join(fields) + "{stale_note}"
