"""Follow-ups complete an intent from the recent turns: "send 20" then "to Bob";
"mándale a Bob" then "20"; "mándale otros 10" (to the previous recipient)."""

from __future__ import annotations

from dataclasses import replace

from llm_back.extraction import Understood
from llm_back.memory import Turn
from llm_back.parser import parse_fragment
from shared.contracts import Intent

PAY = str(Intent.SEND_PAYMENT)


def complete(result: Understood, message: str, history: list[Turn]) -> Understood:
    last = history[-1] if history else None
    pending = last if last is not None and last.intent == PAY and not last.complete else None
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
    if merged.destinatario is None:
        previous = next((t for t in reversed(history) if t.intent == PAY and t.destinatario), None)
        if previous is not None and (merged.repeat or previous is pending):
            merged = replace(merged, destinatario=previous.destinatario, response=None)
    same_person = pending is not None and (
        pending.destinatario is None or merged.destinatario in (None, pending.destinatario)
    )
    if merged.monto is None and pending is not None and pending.monto is not None and same_person:
        merged = replace(merged, monto=pending.monto, currency=pending.currency, response=None)
    return merged
