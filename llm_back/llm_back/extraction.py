"""What a message means: the schemas OpenAI fills (structured outputs) and their clean-up.

Model output is untrusted: the amount is re-parsed into a plain decimal string, the currency
must be an ISO code, and the recipient must appear in what the user actually wrote — it is
then returned exactly as written there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from llm_back.numbers import digits_value, fold, to_text
from shared.contracts import Intent

IntentName = Literal["send_payment", "other", "greeting", "help", "history", "cancel", "confirm"]


class Extraction(BaseModel):
    """The structured-output schema for a text message (every field required: strict mode)."""

    intent: IntentName = Field(description="send_payment for any request to send/pay money")
    monto: str | None = Field(description="amount as a plain decimal string like 1500.50")
    currency: str | None = Field(description="ISO 4217 code, only when the user named one")
    destinatario: str | None = Field(description="recipient exactly as the user wrote it")
    language: Literal["es", "en"] = Field(description="language of the user's message")
    response: str = Field(description="short reply in the user's language")


class ReceiptReading(BaseModel):
    """The structured-output schema for a photo of a receipt or ticket."""

    is_receipt: bool = Field(description="true when the image is a receipt, bill or ticket")
    total: str | None = Field(description="total to pay as a plain decimal string")
    currency: str | None = Field(description="ISO 4217 code printed on it, if any")
    payee: str | None = Field(description="business or person to pay, as printed")


@dataclass(frozen=True)
class Understood:
    intent: str
    monto: str | None
    currency: str | None
    destinatario: str | None
    language: str
    response: str | None = None  # a model-written reply, used only if it is safe
    repeat: bool = False


_CODE = re.compile(r"^[A-Z]{3}$")
_AMOUNT_CHARS = re.compile(r"[^\d.,]")


def clean_amount(raw: str | None) -> str | None:
    """ "$1,500.50" / "1.500,50" / "20" → "1500.50" / "1500.50" / "20"; junk → None."""
    if raw is None:
        return None
    value = digits_value(_AMOUNT_CHARS.sub("", raw.strip()))
    return to_text(value) if value is not None and value > 0 else None


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


def from_extraction(e: Extraction, source: str) -> Understood:
    paying = e.intent == Intent.SEND_PAYMENT.value
    return Understood(
        intent=e.intent,
        monto=clean_amount(e.monto) if paying else None,
        currency=clean_currency(e.currency) if paying else None,
        destinatario=as_written(e.destinatario, source) if paying else None,
        language=e.language,
        response=e.response,
    )
