"""Token usage per model (Prometheus) and per user (one log line per OpenAI call).

The user is logged as a short hash of the wa_id: enough to add up one person's usage, without
writing phone numbers into the logs.
"""

from __future__ import annotations

import hashlib
import logging

from prometheus_client import Counter

logger = logging.getLogger("llm_back.usage")

TOKENS = Counter("paguito_llm_tokens_total", "OpenAI tokens used", ["model", "kind", "direction"])
CALLS = Counter("paguito_llm_openai_calls_total", "OpenAI calls", ["kind", "outcome"])
FALLBACKS = Counter(
    "paguito_llm_fallbacks_total", "Answers given offline instead of by OpenAI", ["stage", "reason"]
)
UNDERSTOOD = Counter("paguito_llm_understood_total", "Messages understood", ["source", "intent"])


def user_ref(wa_id: str) -> str:
    return hashlib.sha256(wa_id.encode()).hexdigest()[:12]


def record(wa_id: str, model: str, kind: str, input_tokens: int, output_tokens: int) -> None:
    TOKENS.labels(model, kind, "input").inc(input_tokens)
    TOKENS.labels(model, kind, "output").inc(output_tokens)
    logger.info(
        "openai usage",
        extra={
            "user": user_ref(wa_id),
            "model": model,
            "kind": kind,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
        },
    )
