"""ws_bot settings (names from DESIGN.md)."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "ws_bot"
    default_port: ClassVar[int] = 8080

    meta_phone_id: str = Field(default="", description="WhatsApp phone number id")
    meta_access_token: SecretStr = SecretStr("")
    meta_verify_token: SecretStr = SecretStr("")
    meta_app_id: str = ""
    meta_app_secret: SecretStr = SecretStr("")
    callback_url: str = Field(default="", description="Public URL Meta calls (webhook)")
    graph_api_url: str = "https://graph.facebook.com"
    llm_backend: str = "http://127.0.0.1:8000"
    op_backend: str = "http://127.0.0.1:3000"


@lru_cache
def get_settings() -> Settings:
    return Settings()  # filled from the environment and .env
