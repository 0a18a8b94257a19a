"""Follow-ups complete an intent from the context ws_bot sends: "send 20" then "to Bob";
"mándale a Bob" then "20" (the unfinished draft); "mándale otros 10" (the previous recipient,
from the recent turns)."""

from __future__ import annotations

from dataclasses import replace

from llm_back.extraction import Understood
from llm_back.memory import Turn
from llm_back.parser import parse_fragment
from shared.contracts import Intent

PAY = str(Intent.SEND_PAYMENT)


def complete(
    result: Understood, message: str, history: list[Turn], pending: Turn | None
) -> Understood:
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
