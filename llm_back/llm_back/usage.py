"""Token usage per model (Prometheus) and per user (one log line per OpenAI call).

The user is logged as a keyed pseudonym of the wa_id (`shared.pseudonyms`, the key from
`USER_ID_KEY` or derived from `INTERNAL_API_TOKEN`): enough to add up one person's usage,
without writing phone numbers, or anything that leads back to one, into the logs.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

logger = logging.getLogger("llm_back.usage")

TOKENS = Counter("paguito_llm_tokens_total", "OpenAI tokens used", ["model", "kind", "direction"])
CALLS = Counter("paguito_llm_openai_calls_total", "OpenAI calls", ["kind", "outcome"])
FALLBACKS = Counter(
    "paguito_llm_fallbacks_total", "Answers given offline instead of by OpenAI", ["stage", "reason"]
)
UNDERSTOOD = Counter("paguito_llm_understood_total", "Messages understood", ["source", "intent"])


def record(user: str, model: str, kind: str, input_tokens: int, output_tokens: int) -> None:
    """`user` is the caller's pseudonym of the wa_id, never the wa_id itself."""
    TOKENS.labels(model, kind, "input").inc(input_tokens)
    TOKENS.labels(model, kind, "output").inc(output_tokens)
    logger.info(
        "openai usage",
        extra={
            "user": user,
            "model": model,
            "kind": kind,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
        },
    )
