"""Conditions as data: pure evaluation, and validation that names the path at fault."""

from __future__ import annotations

from typing import Any

import pytest

from taskhub.core.errors import InvalidInput
from taskhub.monitoring.conditions import Wording, describe, evaluate, threshold_of, validate

FIELDS = frozenset({"price", "prices", "grade", "source"})


@pytest.mark.parametrize(
    ("condition", "data", "previous", "holds"),
    [
        ({"field": "price", "op": "lte", "value": 7}, {"price": 7}, None, True),
        ({"field": "price", "op": "gt", "value": 7}, {"price": "8"}, None, False),  # not a number: never true
        ({"field": "price", "op": "lt", "value": 7}, {}, None, False),
        ({"field": "source", "op": "eq", "value": "override"}, {"source": "override"}, None, True),
        ({"field": "source", "op": "ne", "value": "override"}, {"source": "offline"}, None, True),
        ({"field": "price", "op": "changed"}, {"price": 7.1}, None, False),  # nothing to compare with yet
        ({"field": "price", "op": "changed"}, {"price": 7.1}, {"price": 7.0}, True),
        ({"field": "price", "op": "pct_drop", "value": 10}, {"price": 9}, {"price": 10}, True),
        ({"field": "price", "op": "pct_drop", "value": 10}, {"price": 9.5}, {"price": 10}, False),
        ({"field": "price", "op": "pct_rise", "value": 5}, {"price": 10.5}, {"price": 10}, True),
        ({"field": "prices.95", "op": "lt", "value": 8}, {"prices": {"95": 7.5}}, None, True),
        (
            {"all": [{"field": "price", "op": "lt", "value": 8}, {"field": "grade", "op": "eq", "value": "92"}]},
            {"price": 7, "grade": "95"},
            None,
            False,
        ),
    ],
)
def test_conditions_evaluate_against_the_observation_and_the_previous_one(
    condition: dict[str, Any], data: dict[str, Any], previous: dict[str, Any] | None, holds: bool
) -> None:
    assert evaluate(validate(condition, output_fields=FIELDS), data, previous) is holds


def test_only_a_single_numeric_comparison_is_a_threshold() -> None:
    assert threshold_of({"field": "price", "op": "gte", "value": 7}).direction == "gte"
    assert threshold_of({"field": "price", "op": "changed"}) is None
    assert threshold_of({"all": [{"field": "price", "op": "lt", "value": 7}]}) is None


def test_a_condition_reads_as_people_write_it() -> None:
    condition = {"any": [{"field": "price", "op": "lt", "value": 7.5}, {"field": "price", "op": "changed"}]}
    assert describe(condition) == "(price < 7.5 or price changed)"


def test_a_condition_reads_in_the_words_it_is_given() -> None:
    words = Wording(
        ops={"lt": "sous", "pct_drop": "baisse de"},
        fields={"price": "le prix"},
        units={"price": " €"},
        all=" et ",
        group="[{}]",
        changed="{field} change",
    )
    condition = {
        "all": [
            {"field": "price", "op": "lt", "value": 7.0},
            {"field": "price", "op": "pct_drop", "value": 2.5},
            {"field": "grade", "op": "changed"},
        ]
    }
    assert describe(condition, words) == "[le prix sous 7 € et le prix baisse de 2.5% et grade change]"


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ("price < 7", "condition"),
        ({"all": [], "any": []}, "condition"),
        ({"all": "x"}, "condition.all"),
        ({"field": "price", "op": "lt", "value": 7, "then": "x"}, "condition.then"),
        ({"field": "price", "op": "changed", "value": 1}, "condition.value"),
        ({"field": "price", "op": "lt", "value": True}, "condition.value"),
        ({"field": "source", "op": "eq", "value": {"a": 1}}, "condition.value"),
        ({"any": [{"field": "price", "op": "changed"}] * 21}, "condition.any.20"),
    ],
)
def test_a_bad_condition_names_the_path_at_fault(condition: Any, path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(condition, output_fields=FIELDS)
    assert path in caught.value.fields
