"""One `Understood` from a message: the offline parser's reading, and the model's checked
against it (for `understand.py`, which adds follow-ups, receipts and `amounts.settle`).
"""

from __future__ import annotations

from dataclasses import replace

from llm_back.extraction import Understood
from llm_back.parser import Parsed, parse
from shared.contracts import Intent, Share


def shares_of(result: Understood) -> list[Share] | None:
    shares = [Share(destinatario=p.destinatario, monto=p.monto, currency=p.currency)
              for p in result.parts]  # fmt: skip
    return shares or None


def offline_reading(content: str, language: str | None, home: str | None) -> Understood:
    """The offline parser's reading as an `Understood` (before follow-ups and `amounts.settle`)."""
    return _understood(parse(content, language, home))


def _understood(p: Parsed) -> Understood:
    return Understood(
        p.intent.value,
        p.monto,
        p.currency,
        p.destinatario,
        p.language,
        repeat=p.repeat,
        parts=p.parts,
        split_total=p.split_total,
        split_between=p.split_between,
        recurrence=p.recurrence,
        target_language=p.target_language,
    )


# What the offline parser reads for certain and a model must not turn into a payment.
_NOT_A_PAYMENT = frozenset(
    {Intent.REQUEST_PAYMENT, Intent.CANCEL, Intent.FEES, Intent.STATUS, Intent.BALANCE,
     Intent.HELP, Intent.HISTORY, Intent.UNLINK, Intent.ALLOWANCE, Intent.SCHEDULES}
)  # fmt: skip
# A model's reading the parser's overrules: "no la desvincules" is no unlink, and "cancel my
# weekly payment to Bob" is the schedules (a plain cancel would say nothing moves while the
# schedule runs on).
_PARSER_WINS = frozenset({(Intent.UNLINK, Intent.CANCEL), (Intent.CANCEL, Intent.SCHEDULES)})
_MONEY = frozenset({Intent.SEND_PAYMENT.value, Intent.REQUEST_PAYMENT.value})


def checked_model_reading(
    result: Understood, content: str, language: str | None, home: str
) -> Understood:
    """The model's reading, checked against the offline parser's (belt and braces).

    A payment the parser knows is not one (a money request, a question, a hypothesis, the
    past, a negation) is not made one by the model. Amounts the parser reads win: they are
    money, and its reading is deterministic ("50 mil pesos" is 50000 MXN, "$" is the user's
    peso). Recipients, splits and repeats the model left out but the parser reads are added.
    """
    offline = parse(content, language, home)
    result = replace(result, repeat=offline.repeat)
    if (result.intent in _MONEY and offline.vetoed) or (
        result.intent == Intent.SEND_PAYMENT and offline.intent in _NOT_A_PAYMENT
    ):
        return replace(_understood(offline), response=None)
    if (result.intent, offline.intent) in _PARSER_WINS:
        return replace(_understood(offline), response=None)
    if result.intent == Intent.ALLOWANCE and offline.intent == Intent.ALLOWANCE:
        return _limit_checked(result, offline)
    if result.intent not in _MONEY or offline.intent.value != result.intent:
        return result
    if offline.monto is not None:
        result = replace(result, monto=offline.monto, currency=offline.currency)
    if result.destinatario is None and offline.destinatario is not None:
        result = replace(result, destinatario=offline.destinatario)
    if len(offline.parts) > len(result.parts):
        result = replace(result, parts=offline.parts, destinatario=offline.destinatario)
    if result.split_total is None and offline.split_total is not None:
        result = replace(
            result, split_total=offline.split_total, split_between=offline.split_between
        )
    if result.recurrence is None and offline.recurrence is not None:
        result = replace(result, recurrence=offline.recurrence)
    return result


def _limit_checked(result: Understood, offline: Parsed) -> Understood:
    """A new limit is money too: the amount the parser reads wins, and its period is kept."""
    if offline.monto is not None:
        result = replace(result, monto=offline.monto, currency=offline.currency)
    if result.recurrence is None and offline.recurrence is not None:
        result = replace(result, recurrence=offline.recurrence)
    return result
