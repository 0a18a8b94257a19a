"""Follow-ups complete an intent from the context ws_bot sends: "send 20" then "to Bob";
"mándale a Bob" then "20" (the unfinished draft); "mándale otros 10" (the previous recipient,
from the recent turns); "cambiar mi límite" then "30 dólares por semana" (the new limit)."""

from __future__ import annotations

from dataclasses import replace

from llm_back.extraction import Understood
from llm_back.memory import Turn
from llm_back.parser import parse_fragment
from llm_back.recurrence import period
from shared.contracts import Intent

PAY = str(Intent.SEND_PAYMENT)
ALLOWANCE = str(Intent.ALLOWANCE)


def complete(
    result: Understood, message: str, history: list[Turn], pending: Turn | None
) -> Understood:
    after_limit = bool(history) and history[-1].intent == ALLOWANCE
    if after_limit and result.intent in {Intent.OTHER, PAY} and result.destinatario is None:
        limit = _new_limit(result, message, history[-1])
        if limit is not None:
            return limit
    if result.intent == Intent.OTHER and pending is not None:
        fragment = parse_fragment(message, result.language)
        if fragment.monto is None and fragment.destinatario is None:
            return result
        return replace(
            result,
            intent=PAY,
            monto=fragment.monto or pending.monto,
            currency=fragment.currency or (None if fragment.monto else pending.currency),
            destinatario=fragment.destinatario or pending.destinatario,
            response=None,
        )
    if result.intent != PAY:
        return result
    merged = result
    if merged.destinatario is None and pending is not None and pending.destinatario:
        merged = replace(merged, destinatario=pending.destinatario, response=None)
    elif merged.destinatario is None and merged.repeat:
        previous = next((t for t in reversed(history) if t.intent == PAY and t.destinatario), None)
        if previous is not None:
            merged = replace(merged, destinatario=previous.destinatario, response=None)
    same_person = pending is not None and (
        pending.destinatario is None or merged.destinatario in (None, pending.destinatario)
    )
    if merged.monto is None and pending is not None and pending.monto is not None and same_person:
        merged = replace(merged, monto=pending.monto, currency=pending.currency, response=None)
    return merged


def _new_limit(result: Understood, message: str, asked: Turn) -> Understood | None:
    """The answer to a talk about the limit: "30 dólares por semana", "50", "por mes" (the amount
    said before, now with its period). A name makes it something else ("20 a Bob")."""
    fragment = parse_fragment(message, result.language)
    every = period(message)
    if fragment.intent is not Intent.OTHER or fragment.vetoed:
        return None  # "mándale 30": a payment still; a model may read "30 a la semana" as one
    if fragment.destinatario is not None or (fragment.monto is None and asked.monto is None):
        return None
    if fragment.monto is None and every is None:
        return None
    return replace(
        result,
        intent=ALLOWANCE,
        monto=fragment.monto or asked.monto,
        currency=fragment.currency if fragment.monto else asked.currency,
        recurrence=every,
        response=None,
    )
