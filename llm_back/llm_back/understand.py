"""One message in, one understanding out: media → text → intent → follow-up → reply (→ voice).

Each OpenAI stage is optional: with no key, an open breaker, or a failure, the stage falls back
(offline parser for text; a "please type it" reply for media nobody can read offline).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from llm_back import amounts, followup, memory, replies
from llm_back.breaker import CircuitBreaker
from llm_back.extraction import (
    ReceiptReading,
    Understood,
    clean_amount,
    clean_currency,
    from_extraction,
)
from llm_back.media import InputError, Media, MediaLoader
from llm_back.memory import Turn
from llm_back.openai_path import OpenAIBackend
from llm_back.parser import detect_language, number_language
from llm_back.readings import checked_model_reading, offline_reading, shares_of
from llm_back.settings import Settings
from llm_back.usage import CALLS, FALLBACKS, UNDERSTOOD
from shared.contracts import Intent, UnderstandRequest, UnderstandResponse

logger = logging.getLogger(__name__)
T = TypeVar("T")
OGG_OPUS = "audio/ogg; codecs=opus"


@dataclass
class _Heard:
    """What the media said: a transcript (and its language) and a receipt reading."""

    language: str | None
    transcript: str | None = None
    receipt: ReceiptReading | None = None


class Understander:
    def __init__(
        self,
        settings: Settings,
        loader: MediaLoader,
        openai: OpenAIBackend | None,
    ) -> None:
        self.settings = settings
        self.loader = loader
        self.openai = openai
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds)

    async def handle(self, req: UnderstandRequest) -> UnderstandResponse:
        text = self._checked_text(req)
        media = [await self.loader.load(item) for item in req.media]
        history = memory.recent(req)
        deadline = time.monotonic() + self.settings.openai_budget_seconds

        asset_code, asset_scale = amounts.user_asset(
            req.asset_code, req.asset_scale,
            self.settings.payment_asset_code, self.settings.payment_asset_scale,
        )  # fmt: skip
        heard = await self._read_media(media, text, req, deadline)
        if isinstance(heard, UnderstandResponse):
            return heard  # a voice note or image nobody can read right now, and no text
        content = "\n".join(part for part in (text, heard.transcript) if part)
        result, source = await self._interpret(
            content, heard, history, req.wa_id, deadline, asset_code
        )
        result = followup.complete(result, content, history, memory.pending(req))
        result = amounts.settle(result, asset_code, asset_scale)

        reply = replies.reply(result, req.name, asset_code, asset_scale)
        if result.intent in {Intent.OTHER, Intent.GREETING}:
            reply = replies.safe_model_reply(result.response, reply)
        voice: bytes | None = None
        if heard.transcript is not None and self.settings.voice_replies:
            voice = await self._call("speech", deadline, lambda b: b.speak(reply, req.wa_id))

        UNDERSTOOD.labels(source, result.intent).inc()
        return UnderstandResponse(
            intent=result.intent,
            monto=result.monto,
            currency=result.currency,
            destinatario=result.destinatario,
            response=reply,
            transcript=heard.transcript,
            audio=base64.b64encode(voice).decode() if voice else None,
            audioMimeType=OGG_OPUS if voice else None,
            language=result.language,
            source=source,
            recipients=shares_of(result),
            split_total=result.split_total if result.amount_issue is None else None,
            recurrence=result.recurrence,
            amount_issue=result.amount_issue,
            target_language=result.target_language,
        )

    def _checked_text(self, req: UnderstandRequest) -> str:
        text = req.message.strip()
        if len(text) > self.settings.max_text_chars:
            raise InputError(
                422, f"The message is too long: the limit is {self.settings.max_text_chars} chars."
            )
        if not text and not req.media:
            raise InputError(422, "The message is empty: send text or media.")
        return text

    async def _read_media(
        self, media: list[Media], text: str, req: UnderstandRequest, deadline: float
    ) -> _Heard | UnderstandResponse:
        """Transcribe the voice note and read the receipt (first of each kind)."""
        audio = next((m for m in media if m.kind == "audio"), None)
        image = next((m for m in media if m.kind == "image"), None)
        heard = _Heard(language=req.language or number_language(req.wa_id))
        if audio is not None:
            transcript = await self._call(
                "transcription", deadline, lambda b: b.transcribe(audio, req.wa_id)
            )
            if transcript is not None:
                heard.transcript = transcript.text
                heard.language = transcript.language or detect_language(
                    transcript.text, heard.language
                )
            elif not text:
                return self._unreadable("audio", heard.language or "es")
        if image is not None:
            heard.receipt = await self._call(
                "vision", deadline, lambda b: b.read_receipt(image, text, req.wa_id)
            )
            if heard.receipt is None and not text and heard.transcript is None:
                return self._unreadable("image", heard.language or "es")
        return heard

    async def _interpret(
        self,
        content: str,
        heard: _Heard,
        history: list[Turn],
        wa_id: str,
        deadline: float,
        home: str,
    ) -> tuple[Understood, str]:
        """The text through OpenAI (else offline), then the receipt on top: (result, source)."""
        source = "offline"
        result: Understood | None = None
        if content:
            # Typed text has a good offline reading, so a slow model is not worth the wait.
            typed_only = heard.transcript is None and heard.receipt is None
            extracted = await self._call(
                "chat",
                deadline,
                lambda b: b.extract(content, history, heard.language, wa_id, home),
                limit=self.settings.openai_text_fallback_seconds if typed_only else None,
            )
            if extracted is not None:
                source = "openai"
                model = from_extraction(extracted, content)
                result = checked_model_reading(model, content, heard.language, home)
            else:
                result = offline_reading(content, heard.language, home)
        if heard.receipt is not None:
            source = "openai"
            result = _with_receipt(result, heard.receipt, heard.language or "es")
        assert result is not None  # _read_media returned early when there was nothing to read
        return result, source

    async def _call(
        self,
        stage: str,
        deadline: float,
        call: Callable[[OpenAIBackend], Awaitable[T]],
        limit: float | None = None,
    ) -> T | None:
        """One OpenAI stage, behind the breaker and within the budget (and `limit` seconds, when
        given); None means fall back."""
        if self.openai is None:
            return None
        remaining = deadline - time.monotonic()
        if limit is not None:
            remaining = min(remaining, limit)
        if remaining < min(0.5, limit or 0.5):
            FALLBACKS.labels(stage, "budget_spent").inc()
            return None
        if not self.breaker.allow():
            FALLBACKS.labels(stage, "breaker_open").inc()
            return None
        try:
            async with asyncio.timeout(remaining):
                value = await call(self.openai)
        except asyncio.CancelledError:
            self.breaker.abandon()  # else a cancelled half-open trial would keep it open
            raise
        except Exception as exc:  # any failure of the model means: answer offline
            self.breaker.failure()
            reason = type(exc).__name__
            CALLS.labels(stage, "error").inc()
            FALLBACKS.labels(stage, reason).inc()
            logger.warning(
                "openai failed, falling back",
                extra={"stage": stage, "error": reason, "breaker": self.breaker.state},
            )
            return None
        self.breaker.success()
        CALLS.labels(stage, "ok").inc()
        return value

    def _unreadable(self, kind: str, language: str) -> UnderstandResponse:
        return UnderstandResponse(
            intent=Intent.OTHER,
            response=replies.media_unavailable(kind, language),
            language=language,
            source="offline",
        )


def _with_receipt(result: Understood | None, receipt: ReceiptReading, language: str) -> Understood:
    """A photo of a receipt means "pay this": its total and payee fill what the caption lacks.

    With a request for a caption ("cóbrale esto a Bob") the total is what Bob is asked for; the
    business on the receipt is not the payer, so it never becomes the recipient then.
    """
    if not receipt.is_receipt:
        return result or Understood(Intent.OTHER.value, None, None, None, language)
    base = result or Understood(Intent.SEND_PAYMENT.value, None, None, None, language)
    if base.intent not in {Intent.SEND_PAYMENT, Intent.REQUEST_PAYMENT, Intent.OTHER}:
        return base  # a caption such as "cancel" wins over the picture
    request = base.intent == Intent.REQUEST_PAYMENT
    total = clean_amount(receipt.total)
    payee = None if request else (receipt.payee or "").strip()[:200] or None
    return replace(
        base,
        intent=base.intent if request else Intent.SEND_PAYMENT.value,
        monto=base.monto or total,
        currency=base.currency if base.monto else clean_currency(receipt.currency),
        destinatario=base.destinatario or payee,
        response=None,
    )
