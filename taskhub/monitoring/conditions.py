"""Conditions as data: ``{"field": "price", "op": "lt", "value": 7}``, nested with ``all`` / ``any``.

Pure functions, no eval. ``validate`` checks a condition against a tool's output
fields and returns its normal form; ``evaluate`` decides it for one observation
(with the previous observation, for ``changed`` and ``pct_*``); ``threshold_of``
says whether it is a single numeric comparison the database can match by index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from taskhub.core.errors import InvalidInput

COMPARE = ("lt", "lte", "gt", "gte")
OPS = (*COMPARE, "eq", "ne", "changed", "pct_drop", "pct_rise")
NUMERIC = (*COMPARE, "pct_drop", "pct_rise")
MAX_DEPTH = 3
MAX_LEAVES = 20


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float, or None (absent, bool, text, NaN, infinity): what comparisons accept."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def validate(condition: Any, *, output_fields: frozenset[str] | None, path: str = "condition") -> dict[str, Any]:
    """``condition`` checked and normalised; ``InvalidInput`` naming the offending path otherwise.

    ``output_fields``: top-level fields of the tool's structured output (None: not known, not checked).
    """
    return _validate(condition, output_fields, path, depth=1, leaves=[0])


def _validate(
    condition: Any, output_fields: frozenset[str] | None, path: str, *, depth: int, leaves: list[int]
) -> dict[str, Any]:
    if not isinstance(condition, dict) or not condition:
        raise InvalidInput.at(path, "must be a non-empty object")
    groups = [name for name in ("all", "any") if name in condition]
    if groups:
        if len(condition) != 1:
            raise InvalidInput.at(path, "a group has exactly one key, 'all' or 'any'")
        name = groups[0]
        items = condition[name]
        if depth >= MAX_DEPTH:
            raise InvalidInput.at(path, f"nested deeper than {MAX_DEPTH} levels")
        if not isinstance(items, list) or not items:
            raise InvalidInput.at(f"{path}.{name}", "must be a non-empty list of conditions")
        return {
            name: [
                _validate(item, output_fields, f"{path}.{name}.{i}", depth=depth + 1, leaves=leaves)
                for i, item in enumerate(items)
            ]
        }

    leaves[0] += 1
    if leaves[0] > MAX_LEAVES:
        raise InvalidInput.at(path, f"more than {MAX_LEAVES} comparisons")
    unknown = sorted(set(condition) - {"field", "op", "value"})
    if unknown:
        raise InvalidInput.at(f"{path}.{unknown[0]}", "unknown key; expected field, op, value (or all / any)")
    field = condition.get("field")
    if not isinstance(field, str) or not field.strip() or len(field) > 200:
        raise InvalidInput.at(f"{path}.field", "required: the name of an output field, e.g. 'price'")
    if output_fields is not None and field.split(".")[0] not in output_fields:
        known = ", ".join(sorted(output_fields))
        raise InvalidInput.at(f"{path}.field", f"unknown field {field!r}; the tool reports: {known}")
    op = condition.get("op")
    if op not in OPS:
        raise InvalidInput.at(f"{path}.op", f"expected one of {', '.join(OPS)}")
    checked: dict[str, Any] = {"field": field, "op": op}
    if op == "changed":
        if "value" in condition:
            raise InvalidInput.at(f"{path}.value", "'changed' takes no value")
        return checked
    if "value" not in condition:
        raise InvalidInput.at(f"{path}.value", "required")
    value = condition["value"]
    if op in NUMERIC:
        number = finite_number(value)
        if number is None:
            raise InvalidInput.at(f"{path}.value", f"'{op}' needs a finite number")
        if op.startswith("pct_") and not 0 < number <= 100:
            raise InvalidInput.at(f"{path}.value", "a percentage in (0, 100]")
        value = int(number) if number.is_integer() and isinstance(value, int) else number
    elif not (value is None or isinstance(value, str | bool) or finite_number(value) is not None):
        raise InvalidInput.at(f"{path}.value", "must be a string, a number, true/false or null")
    checked["value"] = value
    return checked


@dataclass(frozen=True)
class Threshold:
    field: str
    direction: str
    threshold: float


def threshold_of(condition: dict[str, Any]) -> Threshold | None:
    """The (field, direction, threshold) of a single numeric comparison; None for anything else."""
    if condition.get("op") in COMPARE:
        return Threshold(condition["field"], condition["op"], float(condition["value"]))
    return None


def lookup(data: Any, field: str) -> Any:
    """The value at a dotted ``field`` path of ``data`` (None when absent)."""
    for part in field.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def compare(op: str, value: float, threshold: float) -> bool:
    return {
        "lt": value < threshold,
        "lte": value <= threshold,
        "gt": value > threshold,
        "gte": value >= threshold,
    }[op]


def evaluate(condition: dict[str, Any], data: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Whether ``condition`` holds for ``data``; ``previous`` is the observation before it (or None)."""
    if "all" in condition:
        return all(evaluate(c, data, previous) for c in condition["all"])
    if "any" in condition:
        return any(evaluate(c, data, previous) for c in condition["any"])
    op, field = condition["op"], condition["field"]
    current = lookup(data, field)
    before = lookup(previous, field) if previous is not None else None
    if op == "changed":
        return previous is not None and current != before
    if op == "eq":
        return current == condition["value"]
    if op == "ne":
        return current != condition["value"]
    number = finite_number(current)
    if number is None:
        return False  # a missing or non-numeric value never satisfies a numeric test
    if op in COMPARE:
        return compare(op, number, condition["value"])
    base = finite_number(before)
    if base is None or base == 0:
        return False
    change_pct = (number - base) / abs(base) * 100
    return -change_pct >= condition["value"] if op == "pct_drop" else change_pct >= condition["value"]


@dataclass(frozen=True)
class Wording:
    """How ``describe`` reads conditions in one language: a table of words, no code.

    ``ops``/``fields``/``units`` map an op, a field or a field's unit to words
    (a field without an entry reads as its own name); the templates take
    ``{field}``, ``{op}``, ``{value}`` and ``{unit}``; ``group`` wraps a whole
    ``all``/``any`` group.
    """

    ops: Mapping[str, str]
    all: str = " and "
    any: str = " or "
    group: str = "({})"
    fields: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    changed: str = "{field} changed"
    percent: str = "{field} {op} {value}%"
    compare: str = "{field} {op} {value}{unit}"


# The short reading for alert messages: ``price < 7``.
SYMBOLS = Wording(
    ops={
        "lt": "<",
        "lte": "<=",
        "gt": ">",
        "gte": ">=",
        "eq": "=",
        "ne": "!=",
        "pct_drop": "dropped by",
        "pct_rise": "rose by",
    }
)


def number_text(value: Any) -> str:
    """A condition's value as text: ``7.5`` rather than ``7.500000``, ``7`` for an int."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe(condition: dict[str, Any], words: Wording = SYMBOLS) -> str:
    """A human reading of ``condition`` in ``words`` (by default the short one: ``price < 7``).

    The user's field names and values are substituted as data; only ``words``'s templates are formatted.
    """
    for name, joiner in (("all", words.all), ("any", words.any)):
        if name in condition:
            return words.group.format(joiner.join(describe(c, words) for c in condition[name]))
    name, op = str(condition.get("field", "")), str(condition.get("op", ""))
    parts = {
        "field": words.fields.get(name, name),
        "op": words.ops.get(op, op),
        "value": number_text(condition.get("value")),
        "unit": words.units.get(name, ""),
    }
    if op == "changed":
        return words.changed.format(**parts)
    return (words.percent if op in ("pct_drop", "pct_rise") else words.compare).format(**parts)
