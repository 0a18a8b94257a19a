"""llm_back settings (names from DESIGN.md; the rest are additive and all have defaults)."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic import Field, SecretStr

from shared.pseudonyms import derive_key
from shared.settings import ServiceSettings

MIB = 1024 * 1024


def _csv(value: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in value.split(",") if part.strip())


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "llm_back"
    default_port: ClassVar[int] = 8000

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    payment_asset_code: str = "USD"
    payment_asset_scale: int = 2

    # Models (the OpenAI path). Any of them can be pointed at a compatible model.
    openai_chat_model: str = "gpt-4o-mini"
    openai_vision_model: str = "gpt-4o-mini"
    openai_transcribe_model: str = "gpt-4o-transcribe"
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_tts_voice: str = "alloy"
    openai_timeout_seconds: float = Field(
        default=8.0, gt=0, description="Per OpenAI call; past it the offline parser answers."
    )
    openai_text_fallback_seconds: float = Field(
        # 1.5 s leaves room for the offline answer inside the 2 s a person should wait at most.
        default=1.5,
        gt=0,
        description="How long a typed message waits for the model before the offline parser "
        "answers it instead (it reads text on its own; voice and images have no such fallback).",
    )
    openai_budget_seconds: float = Field(
        default=20.0,
        gt=0,
        description="All OpenAI stages of one message together (ws_bot waits 30 s for us).",
    )
    openai_max_retries: int = Field(
        default=0, ge=0, description="SDK retries; 0 because the offline fallback is instant."
    )
    breaker_failures: int = Field(default=3, ge=1, description="Failures in a row that open it.")
    breaker_reset_seconds: float = Field(default=30.0, gt=0, description="Open → one trial call.")
    voice_replies: bool = Field(default=True, description="Answer voice notes with a voice note.")

    # Input limits.
    max_text_chars: int = Field(default=2000, ge=1, le=4096)
    max_media_bytes: int = Field(default=5 * MIB, ge=1, description="Per decoded media item.")
    # Up to 4 media items of max_media_bytes, base64-encoded (4/3), plus the text.
    max_body_bytes: int = 28 * MIB
    allowed_audio_types: str = (
        "audio/ogg,audio/opus,audio/mpeg,audio/mp4,audio/aac,audio/wav,audio/webm"
    )
    allowed_image_types: str = "image/jpeg,image/png,image/webp"
    media_allowed_hosts: str = Field(
        default="", description="Comma-separated hosts media URLs may point to; empty = none."
    )
    media_allow_http: bool = Field(default=False, description="Plain-http media URLs (dev only).")

    user_id_key: SecretStr | None = Field(
        default=None,
        description="Key of the pseudonyms that stand for users in logs and at OpenAI "
        "(default: derived from INTERNAL_API_TOKEN).",
    )

    @property
    def user_pseudonym_key(self) -> bytes:
        secret = self.user_id_key or self.internal_api_token
        return derive_key(secret.get_secret_value())

    @property
    def audio_types(self) -> frozenset[str]:
        return _csv(self.allowed_audio_types)

    @property
    def image_types(self) -> frozenset[str]:
        return _csv(self.allowed_image_types)

    @property
    def media_hosts(self) -> frozenset[str]:
        return _csv(self.media_allowed_hosts)

    @property
    def openai_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())


@lru_cache
def get_settings() -> Settings:
    return Settings()  # filled from the environment and .env
