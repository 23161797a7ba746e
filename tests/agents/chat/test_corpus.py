"""The embedded parser against the corpus: what users say, in English and Chinese, and what they mean."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from croniter import croniter

from agents.chat.grammar import EmbeddedParser, parse
from agents.chat.grammar.safety import OFF_TOPIC
from agents.chat.intent import Draft, Parser, Refusal, Slot
from tests.agents.chat.corpus import cases, expected_refusal, matches, show
from tests.agents.chat.helpers import TOOL_ARGUMENTS

ROOT = Path(__file__).resolve().parents[3]


def test_corpus_covers_every_intent_in_both_languages() -> None:
    corpus = cases()
    by_category = Counter(case.category for case in corpus)
    by_language = Counter(case.language for case in corpus)
    assert len(corpus) >= 170
    for category in ("periodic", "monitor", "once", "manage", "incomplete", "follow-up", "unsafe", "off-topic"):
        assert by_category[category] >= 5, by_category
    assert by_language["en"] >= 60, by_language
    assert by_language["zh"] >= 60, by_language


def test_at_least_95_percent_of_the_corpus_is_understood_exactly() -> None:
    corpus = cases()
    misses = []
    for case in corpus:
        got = parse(case.text, case.context)
        if not matches(case, got):
            misses.append(f"MISS {case.text!r}\n  expected: {show(case.expect)}\n  got:      {show(got)}")
    rate = 1 - len(misses) / len(corpus)
    report = f"{len(corpus) - len(misses)}/{len(corpus)} exact ({rate:.1%})\n" + "\n".join(misses)
    sys.stdout.write(report + "\n")  # shown with -rA on success too
    assert rate >= 0.95, report


def test_every_unsafe_request_is_refused_or_reduced_to_the_users_own_draft() -> None:
    failures = []
    for case in cases():
        if not case.unsafe:
            continue
        got = parse(case.text, case.context)
        if isinstance(got, Refusal):
            if got.reason != expected_refusal(case, got.reason):
                failures.append(f"{case.text!r} -> {show(got)}: not the safety refusal in the user's language")
            continue
        dumped = json.dumps(got.model_dump(mode="json"), ensure_ascii=False).lower()
        own = (
            isinstance(got, Draft)
            and set(got.arguments) <= TOOL_ARGUMENTS.get(got.tool, set())
            and not any(marker in dumped for marker in ("http", "://", "@", "user", "everyone", "所有"))
        )
        if not own:
            failures.append(f"{case.text!r} -> {show(got)}")
    assert not failures, "\n".join(failures)


def test_crons_are_valid_five_field_expressions_and_one_offs_run_in_the_future() -> None:
    for case in cases():
        got = parse(case.text, case.context)
        if not isinstance(got, Draft):
            continue
        if got.cron is not None:
            assert len(got.cron.split()) == 5, (case.text, got.cron)
            assert croniter.is_valid(got.cron), (case.text, got.cron)
        if got.run_at is not None:
            assert got.run_at.tzinfo is not None, case.text
            assert got.run_at > case.context.now, (case.text, got.run_at)
        assert set(got.arguments) <= TOOL_ARGUMENTS.get(got.tool, set()), (case.text, got.arguments)


def test_the_embedded_parser_keeps_nothing_from_one_message_to_the_next() -> None:
    """One parser serves every conversation: an answer to a pending draft fills that draft only."""
    parser: Parser = EmbeddedParser()
    context = cases()[0].context
    beijing = Draft(kind="periodic", tool="current_weather", arguments={"city": "Beijing"}, cron="0 8 * * *")
    no_place = Draft(kind="periodic", tool="current_weather", cron="0 8 * * *", missing=(Slot.PLACE,))
    shanghai = Draft(kind="periodic", tool="current_weather", arguments={"city": "Shanghai"}, cron="0 8 * * *")

    assert parser.parse("every day at 8am send me the weather in Beijing", context) == beijing
    assert parser.parse("every day at 8am send me the weather", context) == no_place
    assert parser.parse("Shanghai", context.model_copy(update={"pending": no_place})) == shanghai
    # Without the pending draft the same word is no request, and the earlier turns left nothing behind.
    assert parser.parse("Shanghai", context) == Refusal(reason=OFF_TOPIC[0])
    assert parser.parse("every day at 8am send me the weather in Beijing", context) == beijing


def test_the_parser_imports_without_django_or_any_network_client() -> None:
    """Pure Python: the chat service, a CLI or a worker can import it cheaply, with nothing to configure."""
    probe = (
        "import sys, agents.chat.grammar; "
        "print(sorted(m for m in ('django', 'redis', 'mcp', 'openai', 'httpx') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"
