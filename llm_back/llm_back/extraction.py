"""What a message means: the schemas OpenAI fills (structured outputs) and their clean-up.

Model output is untrusted: the amount is re-parsed into a plain decimal string, the currency
must be an ISO code, and the recipient must appear in what the user actually wrote — it is
then returned exactly as written there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from llm_back.numbers import digits_value, fold, to_text
from llm_back.recurrence import without_cadence
from shared.contracts import Intent

IntentName = Literal[
    "send_payment", "request_payment", "other", "greeting", "help", "history", "cancel",
    "confirm", "status", "balance", "fees", "thanks", "language", "unlink", "allowance",
    "schedules",
]  # fmt: skip


class ExtractedShare(BaseModel):
    """One of several recipients named in one message."""

    destinatario: str = Field(description="this recipient exactly as the user wrote it")
    monto: str | None = Field(description="this recipient's amount, plain decimal; null if unsaid")
    currency: str | None = Field(description="ISO 4217 code, only when the user named one")


class Extraction(BaseModel):
    """The structured-output schema for a text message (every field required: strict mode)."""

    intent: IntentName = Field(
        description="send_payment to pay someone; request_payment to ask someone to pay the user"
    )
    monto: str | None = Field(
        description="amount as a plain decimal string like 1500.50, minus sign and every "
        "decimal kept as written"
    )
    currency: str | None = Field(description="ISO 4217 code, only when the user named one")
    destinatario: str | None = Field(
        description="recipient (for request_payment: who pays) exactly as the user wrote it"
    )
    recipients: list[ExtractedShare] = Field(
        description="every recipient in order when the message names two or more; else empty"
    )
    split_total: str | None = Field(description="the total when asked to split it between people")
    split_between: int | None = Field(
        description="how many people share the split, the user included when they said so"
    )
    recurrence: str | None = Field(
        description="ISO 8601 duration between repeats (P1M every month, P1W, P1D, P2W, P1Y); "
        "for allowance, the period of the limit"
    )
    target_language: Literal["es", "en"] | None = Field(
        description="for intent language: the language the user asked for, if said"
    )
    language: Literal["es", "en"] = Field(description="language of the user's message")
    response: str = Field(description="short reply in the user's language")


class ReceiptReading(BaseModel):
    """The structured-output schema for a photo of a receipt or ticket."""

    is_receipt: bool = Field(description="true when the image is a receipt, bill or ticket")
    total: str | None = Field(description="total to pay as a plain decimal string")
    currency: str | None = Field(description="ISO 4217 code printed on it, if any")
    payee: str | None = Field(description="business or person to pay, as printed")


@dataclass(frozen=True)
class Part:
    """One recipient of a message that names several, with the amount meant for them."""

    destinatario: str
    monto: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Understood:
    intent: str
    monto: str | None
    currency: str | None
    destinatario: str | None
    language: str
    response: str | None = None  # a model-written reply, used only if it is safe
    repeat: bool = False
    parts: tuple[Part, ...] = ()  # two or more recipients; parts[0] is monto/destinatario
    split_total: str | None = None  # "split 60 between…": the total, before `amounts.settle`
    split_between: int | None = None  # people sharing it, the user included when they said so
    recurrence: str | None = None  # ISO 8601 duration ("P1M")
    target_language: str | None = None  # intent "language": the language asked for
    amount_issue: str | None = None  # AmountIssue value, set by `amounts.settle`
    rejected_amount: str | None = None  # the amount said that `amounts.settle` refused


_CODE = re.compile(r"^[A-Z]{3}$")
_AMOUNT_CHARS = re.compile(r"[^\d.,]")
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_MINUS = re.compile(r"^\s*(?:[$€£]\s*)?[-\u2212]")


def clean_amount(raw: str | None) -> str | None:
    """ "$1,500.50" / "1.500,50" / "10.999" / "-5" → "1500.50" / "1500.50" / "10.999" / "-5".

    The sign and every decimal are kept: `amounts.settle` refuses them with a reason rather
    than this quietly dropping a minus or reading "10.999" as ten thousand. Junk → None.
    """
    if raw is None:
        return None
    digits = _AMOUNT_CHARS.sub("", raw.strip())
    value = Decimal(digits) if _PLAIN.match(digits) else digits_value(digits)
    if value is None:
        return None
    return to_text(-value if _MINUS.match(raw) and value else value)


def clean_currency(raw: str | None) -> str | None:
    code = (raw or "").strip().upper()
    return code if _CODE.match(code) else None


def as_written(candidate: str | None, source: str) -> str | None:
    """The recipient as it appears in `source` (case- and accent-insensitively), else None."""
    if not candidate or not candidate.strip():
        return None
    needle = fold(candidate.strip())
    at = fold(source).find(needle)
    return source[at : at + len(needle)] if at >= 0 else None


_DURATION = re.compile(r"^P(?:\d{1,3}[DWMY])$")


def from_extraction(e: Extraction, source: str) -> Understood:
    money = e.intent in {Intent.SEND_PAYMENT.value, Intent.REQUEST_PAYMENT.value}
    if e.intent == Intent.ALLOWANCE.value:  # the new limit and its period, when said
        return Understood(e.intent, clean_amount(e.monto), clean_currency(e.currency), None,
                          e.language, e.response, recurrence=_duration(e.recurrence))  # fmt: skip
    if not money:
        target = e.target_language if e.intent == Intent.LANGUAGE.value else None
        return Understood(e.intent, None, None, None, e.language, e.response,
                          target_language=target)  # fmt: skip
    parts = []
    for share in e.recipients:
        name = _recipient(share.destinatario, source)
        if name is not None:
            parts.append(Part(name, clean_amount(share.monto), clean_currency(share.currency)))
    split_total = clean_amount(e.split_total)
    between = e.split_between if e.split_between and 0 < e.split_between <= 50 else None
    return Understood(
        intent=e.intent,
        monto=clean_amount(e.monto),
        currency=clean_currency(e.currency),
        destinatario=_recipient(e.destinatario, source),
        language=e.language,
        response=e.response,
        parts=tuple(parts) if len(parts) > 1 else (),
        split_total=split_total,
        split_between=between if split_total else None,
        recurrence=_duration(e.recurrence),
    )


def _recipient(raw: str | None, source: str) -> str | None:
    """The recipient as written, without a cadence the model left on it ("bob every week")."""
    name = as_written(raw, source)
    return without_cadence(name) if name else name


def _duration(raw: str | None) -> str | None:
    duration = (raw or "").strip().upper()
    return duration if _DURATION.match(duration) else None
