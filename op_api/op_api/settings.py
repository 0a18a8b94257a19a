"""op_api settings (names from DESIGN.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from pydantic import SecretStr

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "op_api"
    default_port: ClassVar[int] = 3000

    wallet_address_url: str = ""
    key_id: str = ""
    private_key_path: Path | None = None
    private_key_content: SecretStr | None = None
    allow_insecure_http: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()  # filled from the environment and .env
