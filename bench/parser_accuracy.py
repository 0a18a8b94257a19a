"""Offline parser: accuracy on the labelled sets and latency per message against a baseline.

Accuracy is scored on what the service answers (parse, then `amounts.settle` for the user's
asset): intent, monto, currency, destinatario, and the issue-16 fields (several recipients,
split, repeat, amount issue, language asked for) as "extras".

Run: `uv run python -m bench parser_accuracy` (or `uv run python bench/parser_accuracy.py`).
With `BENCH_OPENAI=1` and `OPENAI_API_KEY` (+ `OPENAI_BASE_URL`, e.g. the fake OpenAI), the same
sets also go through llm_back's OpenAI extraction (after its clean-up), for comparison.
The baseline is the trivial parse anyone would write first (one regex for a number, one for a
name after "a"/"to", a verb list); both run in this process on the same messages, so the ratio
is what the real parser costs over the naive one, independent of the machine.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_back.amounts import settle
from llm_back.extraction import from_extraction
from llm_back.readings import checked_model_reading
from tests.llm_back.support import (
    ASSET_CODE,
    ASSET_SCALE,
    FIELDS,
    Labelled,
    as_reading,
    field_ok,
    load_labelled,
    read_offline,
)
from tests.llm_back.support import Reading as Guess

ROUNDS = 30


_B_VERB = re.compile(r"\b(manda|mándale|mandale|envía|envia|envíale|paga|págale|send|pay)\b", re.I)
_B_NUM = re.compile(r"\d+(?:[.,]\d+)?")
_B_NAME = re.compile(r"\b(?:a|to)\s+([A-ZÁÉÍÓÚÑ]\w+)")


def baseline(text: str) -> Guess:
    """The naive parse: a verb list, the first number, the capitalized word after "a"/"to"."""
    if not _B_VERB.search(text):
        return Guess("other", None, None, None, {})
    num = _B_NUM.search(text)
    name = _B_NAME.search(text)
    currency = "USD" if "$" in text or "dollar" in text.lower() else None
    return Guess(
        "send_payment",
        num.group(0).replace(",", ".") if num else None,
        currency,
        name.group(1) if name else None,
        {},
    )


def real(text: str) -> Guess:
    return read_offline(text)


def accuracy(fn: Callable[[str], Guess], items: list[Labelled]) -> dict[str, float]:
    guesses = [(fn(i.text), i) for i in items]
    out = {f: sum(field_ok(g, i, f) for g, i in guesses) / len(items) for f in FIELDS}
    out["all"] = sum(all(field_ok(g, i, f) for f in FIELDS) for g, i in guesses) / len(items)
    return out


def latency(fn: Callable[[str], Guess], texts: list[str]) -> float:
    """Median seconds per message over ROUNDS passes (after one warm-up pass)."""
    for t in texts:
        fn(t)
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for t in texts:
            fn(t)
        samples.append((time.perf_counter() - started) / len(texts))
    return statistics.median(samples)


async def _openai_guesses(texts: list[str]) -> dict[str, Guess]:
    """Each text through OpenAIBackend.extract (4 at a time); failures count as "other"."""
    from llm_back.openai_path import OpenAIBackend
    from llm_back.settings import Settings

    backend = OpenAIBackend(Settings(internal_api_token="bench-token-0123456789"))
    gate = asyncio.Semaphore(4)

    async def one(text: str) -> Guess:
        async with gate:
            try:
                extracted = await backend.extract(text, [], None, "bench", ASSET_CODE)
            except Exception:
                return Guess("other", None, None, None, {})
        # The service's own clean-up and cross-check with the parser, then the amount rules.
        u = checked_model_reading(from_extraction(extracted, text), text, None, ASSET_CODE)
        return as_reading(settle(u, ASSET_CODE, ASSET_SCALE))

    try:
        guesses = await asyncio.gather(*(one(t) for t in texts))
    finally:
        await backend.close()
    return dict(zip(texts, guesses, strict=True))


def main() -> None:
    labelled = load_labelled()
    holdout = load_labelled("labelled_holdout.txt")
    for title, items in (("labelled", labelled), ("held-out", holdout)):
        ours, naive = accuracy(real, items), accuracy(baseline, items)
        print(f"{title} set: {len(items)} messages")
        for field in (*FIELDS, "all"):
            print(f"  {field:<13} parser {ours[field]:6.1%}   baseline {naive[field]:6.1%}")
    texts = [i.text for i in labelled + holdout]
    ours_s, naive_s = latency(real, texts), latency(baseline, texts)
    print(
        f"latency per message: parser {ours_s * 1e6:.1f} µs, baseline {naive_s * 1e6:.1f} µs, "
        f"ratio {ours_s / naive_s:.1f}x (same process, median of {ROUNDS} passes)"
    )
    if os.environ.get("BENCH_OPENAI") and os.environ.get("OPENAI_API_KEY"):
        answers = asyncio.run(_openai_guesses(texts))
        for title, items in (("labelled", labelled), ("held-out", holdout)):
            model = accuracy(answers.__getitem__, items)
            print(f"OpenAI path on the {title} set: " + ", ".join(
                f"{f} {model[f]:.1%}" for f in (*FIELDS, "all")))  # fmt: skip
    assert Decimal(str(accuracy(real, labelled)["all"])) >= Decimal("0.97")
    assert ours_s < 0.001, "the parser must stay well under a millisecond per message"


if __name__ == "__main__":
    main()
