"""llm_back settings (names from DESIGN.md)."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic import SecretStr

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "llm_back"
    default_port: ClassVar[int] = 8000

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    payment_asset_code: str = "USD"
    payment_asset_scale: int = 2


@lru_cache
def get_settings() -> Settings:
    return Settings()  # filled from the environment and .env
