"""The one seam that picks the chat parser: the LLM when configured, else the embedded grammar."""

from __future__ import annotations

import importlib
import logging

from agents import llm
from agents.chat.intent import Draft, Manage, ParseContext, Parser, Refusal

logger = logging.getLogger(__name__)

# Where the embedded parser lives (built separately); tried in this order.
EMBEDDED_MODULES = ("agents.chat.grammar", "agents.chat.embedded")


class _NoParser:
    """Stands in while no embedded parser is installed: refuses politely rather than failing."""

    def parse(self, text: str, context: ParseContext) -> Draft | Manage | Refusal:
        return Refusal(reason="the chat parser is not installed on this server; use the REST API")


def embedded_parser() -> Parser | None:
    """The embedded (offline, rule-based) parser, or None when its module is not installed."""
    for name in EMBEDDED_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that package is absent; anything else missing inside it is a real error
            raise
        parser_class = getattr(module, "EmbeddedParser", None)
        return parser_class() if parser_class is not None else module  # a module with parse() is a Parser too
    return None


def get_parser() -> Parser:
    """The LLM parser when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set, else the embedded one."""
    if llm.configured():
        from agents.chat.llm_parser import LLMParser

        return LLMParser()
    parser = embedded_parser()
    if parser is None:
        logger.warning("no embedded chat parser installed")
        return _NoParser()
    return parser
