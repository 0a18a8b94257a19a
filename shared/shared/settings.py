"""The settings base every service extends (pydantic-settings: environment, then `.env`).

Variable names are the ones in DESIGN.md; secrets are `SecretStr` so they never print.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.logging import register_secret


class ServiceSettings(BaseSettings):
    """Settings every service has: `INTERNAL_API_TOKEN`, `DATABASE_URL`, `PORT`, and friends."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    service_name: ClassVar[str] = "paguito"
    default_port: ClassVar[int] = 8000

    internal_api_token: SecretStr = Field(
        description="Shared bearer token for calls between the services (at least 16 chars).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL (postgresql://…); default: a SQLite file in DATA_DIR.",
    )
    data_dir: Path = Field(default=Path(".data"), description="Where the SQLite file lives.")
    port: int = Field(default=0, ge=0, le=65535)
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=1_048_576, description="Larger request bodies get 413.")

    @field_validator("internal_api_token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("INTERNAL_API_TOKEN must be at least 16 characters")
        return value

    def model_post_init(self, __context: object) -> None:
        if self.port == 0:
            self.port = self.default_port
        for value in self.__dict__.values():
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / f"{self.service_name}.sqlite3"
