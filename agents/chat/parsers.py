"""The one seam that picks the chat parser: the LLM when configured, else the embedded grammar."""

from __future__ import annotations

from agents import llm
from agents.chat.intent import Parser


def embedded_parser() -> Parser:
    """The embedded (offline, rule-based) parser."""
    from agents.chat.grammar import EmbeddedParser

    return EmbeddedParser()


def get_parser() -> Parser:
    """The LLM parser when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set, else the embedded one."""
    if llm.configured():
        from agents.chat.llm_parser import LLMParser

        return LLMParser()
    return embedded_parser()
