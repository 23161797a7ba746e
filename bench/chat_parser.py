"""How fast the embedded chat parser answers, over its whole corpus.

    make bench BENCH=chat_parser [ARGS="--rounds 20"]     (or: python bench/chat_parser.py)

Needs no database or network. Prints the cold import and first-parse times
(the place index is built on first use), then p50/p95/max of ``parse`` per
utterance over ``--rounds`` passes of the corpus (tests/agents/chat/corpus.yaml).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from _setup import machine, percentiles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    from agents.chat.grammar import parse

    import_ms = (time.perf_counter() - started) * 1000
    from tests.agents.chat.corpus import cases

    corpus = cases()
    started = time.perf_counter()
    parse(corpus[0].text, corpus[0].context)
    first_ms = (time.perf_counter() - started) * 1000

    samples = []
    for _ in range(args.rounds):
        for case in corpus:
            started = time.perf_counter()
            parse(case.text, case.context)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    figures = {
        "utterances": len(corpus),
        "parses": len(samples),
        "import_ms": round(import_ms, 1),
        "first_parse_ms": round(first_ms, 1),
        **percentiles(samples, digits=3),
        "max_ms": round(samples[-1], 3),
        "machine": machine(),
    }
    print(f"embedded parser over {len(corpus)} utterances x {args.rounds} rounds")
    print(f"  import {figures['import_ms']} ms, first parse (builds the place index) {figures['first_parse_ms']} ms")
    print(f"  parse: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
