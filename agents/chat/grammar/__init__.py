"""The embedded intent parser: a small grammar for English and Chinese, no network, no database.

    from agents.chat.grammar import parse
    parse("every weekday at 6:45 send me the weather in Beijing", context)

Modules: ``text`` (normaliser), ``places`` (place names in free text),
``clock``/``calendar`` (times, recurrences, dates), ``slots`` (tools, grades,
metrics, comparisons), ``safety`` (refusals), ``manage`` (list/pause/resume/
cancel), ``rules`` (intent rules), ``followup`` (answers to a pending draft).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agents.chat.grammar import followup, rules
from agents.chat.intent import Draft, Manage, ParseContext, Refusal

MAX_CHARS = 500  # a request is a sentence or two; longer input is refused, never scanned


class EmbeddedParser:
    """The rule-based :class:`~agents.chat.intent.Parser`: deterministic, a fraction of a millisecond per call."""

    def parse(self, text: str, context: ParseContext) -> Draft | Manage | Refusal:
        if len(text) > MAX_CHARS:
            chinese = context.language == "zh" if context.language else any("\u4e00" <= ch <= "\u9fff" for ch in text)
            return Refusal(reason=TOO_LONG[1] if chinese else TOO_LONG[0])
        zone = ZoneInfo(context.timezone)
        # A naive ``now`` is read as wall time in the user's zone.
        now = context.now.replace(tzinfo=zone) if context.now.tzinfo is None else context.now.astimezone(zone)
        analysis = rules.analyse(text, language=context.language)
        if context.pending is not None and context.pending.missing:
            return followup.answer(context.pending, analysis, text, now)
        return rules.fresh(analysis, now)


TOO_LONG = (
    f"That message is too long (over {MAX_CHARS} characters); tell me in a sentence what to set up.",
    f"消息太长（超过 {MAX_CHARS} 个字符），请用一句话告诉我要设置什么。",
)
_PARSER = EmbeddedParser()


def parse(text: str, context: ParseContext) -> Draft | Manage | Refusal:
    """``EmbeddedParser().parse``: the intent of ``text`` in ``context``."""
    return _PARSER.parse(text, context)


__all__ = ["EmbeddedParser", "parse"]
