"""op_api settings (names from DESIGN.md; the ones below the first block are op_api's own)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "op_api"
    default_port: ClassVar[int] = 3000

    wallet_address_url: str = Field(
        default="", description="The platform's own wallet address (the GNAP `client`)."
    )
    key_id: str = Field(default="", description="Key id of the platform's registered Ed25519 key.")
    private_key_path: Path | None = None
    private_key_content: SecretStr | None = Field(
        default=None, description="PEM text or base64-encoded PEM (takes precedence over a path)."
    )
    allow_insecure_http: bool = Field(
        default=False,
        description="Local sandboxes only: allow http:// wallet addresses and Open Payments "
        "servers on loopback or private addresses.",
    )

    public_url: str | None = Field(
        default=None,
        description="Public base URL of op_api. When set, grants use the finish redirect to "
        "`PUBLIC_URL/payments/{id}/finish` instead of polling.",
    )
    payment_expiry_seconds: int = Field(
        default=600, ge=1, description="Unapproved payments expire (grant cancelled) after this."
    )
    settlement_timeout_seconds: int = Field(
        default=300, ge=1, description="A sent payment not settled after this is `failed`."
    )
    confirm_budget_seconds: float = Field(
        default=2.0, gt=0, description="How long /confirm-payment may work before answering."
    )
    worker_interval_seconds: float = Field(
        default=1.0, gt=0, description="Background sweep: expiry, outgoing payments, settlement."
    )
    watch_reread_seconds: float = Field(
        default=1.0,
        gt=0,
        description="A long poll (POST /payments/watch) re-reads its payments this often. Moves "
        "wake it at once (other replicas' too, on PostgreSQL, by LISTEN/NOTIFY): this only "
        "covers a notification lost with its connection.",
    )
    claim_stale_seconds: float = Field(
        default=30,
        gt=0,
        description="A step claimed longer ago than this (its process died) may be retried.",
    )
    wallet_cache_seconds: int = Field(
        default=60, ge=0, description="Keep wallet address documents this long (0: never)."
    )
    reuse_grants: bool = Field(
        default=True,
        description="Share non-interactive grants (incoming payment, quote) between payments "
        "while their tokens are valid.",
    )
    max_payment_amount: Decimal | None = Field(
        default=None,
        gt=0,
        description="Largest amount one payment may request, in the units of the asset it is "
        "written in (e.g. 500 → at most 500.00 USD or 500 MXN); unset: no limit but the wallet's.",
    )
    token_encryption_key: SecretStr | None = Field(
        default=None,
        description="Key that seals GNAP tokens in the database (default: derived from "
        "INTERNAL_API_TOKEN). Changing it makes the tokens of payments in flight unreadable.",
    )
    db_table_prefix: str = Field(
        default="op_", pattern=r"^[a-z][a-z0-9_]{0,30}$", description="Prefix of op_api's tables."
    )

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @property
    def token_sealing_secret(self) -> str:
        secret = self.token_encryption_key or self.internal_api_token
        return secret.get_secret_value()


@lru_cache
def get_settings() -> Settings:
    return Settings()  # filled from the environment and .env
