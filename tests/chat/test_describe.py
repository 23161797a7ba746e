"""Conditions on the confirmation card read in the user's words, English and Chinese."""

from __future__ import annotations

from agents.chat.describe import condition_words


def test_a_nested_condition_reads_in_english_and_chinese_with_units() -> None:
    condition = {
        "any": [
            {"field": "temperature_c", "op": "lt", "value": -20},
            {"field": "price", "op": "pct_drop", "value": 5.0},
            {"field": "condition", "op": "changed"},
        ]
    }
    assert condition_words(condition) == {
        "en": "temperature below -20°C or price drops by 5% or condition changes",
        "zh": "气温低于-20°C或价格下降5%或天气状况发生变化",
    }
