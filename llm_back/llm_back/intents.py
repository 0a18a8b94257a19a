"""Intents said in words rather than by a money verb: help, status, balance, fees, thanks, …

Pure functions over the folded words of a message (see `parser.py`, which tokenizes). Each
answers only whether its phrases are there; `parser.parse` decides the order they win in.
"""

from __future__ import annotations

from llm_back import lexicon as lx
from shared.contracts import Intent


def _has_phrase(phrase: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {phrase} "
    return any(f" {p} " in padded for p in phrases)


def command_intent(words: list[str], phrase: str) -> Intent | None:
    """Help, cancel and history win over a payment verb: "how do I send money?" is help."""
    padded = f" {phrase} "
    if any(w in lx.HELP_WORDS for w in words) or any(
        f" {p} " in padded or padded.startswith(f" {p}") for p in lx.HELP_PHRASES
    ):
        return Intent.HELP
    if phrase == "no" or any(w in lx.CANCEL_WORDS for w in words):
        return Intent.CANCEL
    if _has_phrase(phrase, lx.CANCEL_PHRASES):
        return Intent.CANCEL
    if any(w in lx.HISTORY_WORDS for w in words) or _has_phrase(phrase, lx.HISTORY_PHRASES):
        return Intent.HISTORY
    if _has_phrase(phrase, lx.FEE_PHRASES):
        return Intent.FEES
    return None


def question_intent(words: list[str], phrase: str, *, question: bool) -> Intent | None:
    """Status, balance and fees: asked without a money verb ("¿ya le llegó?", "saldo")."""
    if any(w in lx.STATUS_WORDS for w in words) or _has_phrase(phrase, lx.STATUS_PHRASES):
        return Intent.STATUS
    if words[:1] == ["did"] and any(w in lx.STATUS_VERBS_EN for w in words):
        return Intent.STATUS  # "did Alice get it?"
    if any(w in lx.BALANCE_WORDS for w in words) or _has_phrase(phrase, lx.BALANCE_PHRASES):
        return Intent.BALANCE
    if any(w in lx.FEE_WORDS for w in words) and (question or len(words) <= 4):
        return Intent.FEES
    return None


def language_change(words: list[str]) -> tuple[bool, str | None]:
    """("english please" → (True, "en")); "cambiar idioma" → (True, None); else (False, None).

    "no hablo inglés" asks for the other language: a negation flips the one named.
    """
    named = [lx.LANGUAGE_NAMES[w] for w in words if w in lx.LANGUAGE_NAMES]
    if not named and not any(w in lx.LANGUAGE_WORDS for w in words):
        return False, None
    if not named:
        return True, None
    target = named[-1]
    if len(set(named)) == 1 and any(w in lx.NEGATIONS for w in words):
        target = "es" if target == "en" else "en"
    return True, target


def thanks(words: list[str], text: str) -> bool:
    """ "gracias", "thanks!", "muchas gracias", "👍": thanks and nothing else."""
    if not words:
        return any(ch in lx.THANKS_EMOJI for ch in text)
    has_core = any(w in lx.THANKS_CORE for w in words)
    return has_core and all(
        w in lx.THANKS_CORE or w in lx.THANKS_FILLERS or w in lx.GREETINGS for w in words
    )


def confirmation(words: list[str], phrase: str) -> bool:
    """ "sí", "dale", "sí, dale", "yes please", "go ahead": a bare approval."""
    if phrase in lx.CONFIRM_PHRASES:
        return True
    polite = {"please", "porfa", "por", "favor", "pls"}
    return any(w in lx.CONFIRMATIONS for w in words) and all(
        w in lx.CONFIRMATIONS or w in polite for w in words
    )


def account_intent(
    words: list[str], phrase: str, *, has_amount: bool, repeats: bool
) -> Intent | None:
    """The linked wallet's settings: unlink it, its allowance, the payments scheduled on it.

    These win over cancel and history ("cancela mis pagos automáticos" is about the schedules,
    "mis pagos programados" is not the history). So does stopping a repeat ("stop paying Bob
    every month"): a plain cancel would say nothing moves while the schedule runs on. An amount
    makes "mi pago automático de 10" a payment and "saca 20 de mi cuenta" not an unlink; a
    negated unlink ("no la desvincules") is a cancel.
    """
    if any(w in lx.LIMIT_WORDS for w in words) or _has_phrase(phrase, lx.ALLOWANCE_PHRASES):
        return Intent.ALLOWANCE
    if has_amount:
        return None
    if any(w in lx.SCHEDULE_WORDS for w in words):
        return Intent.SCHEDULES
    if repeats and any(w in lx.CANCEL_WORDS for w in words):
        return Intent.SCHEDULES
    for i, w in enumerate(words):
        detach = w in lx.DETACH_VERBS and any(x in lx.LINKED_THINGS for x in words[i + 1 : i + 4])
        if w in lx.UNLINK_VERBS or detach:
            negated = any(x in lx.NEGATIONS for x in words[max(0, i - 3) : i])
            return Intent.CANCEL if negated else Intent.UNLINK
    return None


def at_most(phrase: str) -> bool:
    """ "hasta 30 dólares por semana", "up to 50 a week": a ceiling, said about the limit."""
    return _has_phrase(phrase, lx.UP_TO_PHRASES)
