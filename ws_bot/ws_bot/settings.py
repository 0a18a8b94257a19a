"""ws_bot settings (names from DESIGN.md, plus the gateway's own knobs)."""

from __future__ import annotations

import re
import uuid
from functools import lru_cache
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from shared.durations import ISO_DURATION
from shared.settings import ServiceSettings
from ws_bot import cadence
from ws_bot.identity import canonical

_E164 = re.compile(r"^\+?[1-9]\d{6,14}$")


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
    graph_api_version: str = Field(
        default="24.0",
        pattern=r"^\d{2}\.0$",
        description="The Graph API version ws_bot speaks (pinned: it must not move with pywa)",
    )
    llm_backend: str = "http://127.0.0.1:8000"
    op_backend: str = "http://127.0.0.1:3000"

    # --- the gateway's own settings (all optional) ---
    staff_numbers: str = Field(
        default="", description="Comma-separated E.164 numbers told of payments"
    )
    allow_insecure_http: bool = Field(
        default=False,
        description="Sandbox only: accept http:// wallet addresses ($host/x → http://host/x) "
        "and wallets on loopback or private addresses.",
    )
    poll_deadline_seconds: float = Field(default=600.0, gt=0, description="Stop polling after this")
    poll_initial_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=30.0, gt=0)
    poll_lease_seconds: float = Field(default=60.0, gt=0, description="A poller's claim on a row")
    poller_tick_seconds: float = Field(default=1.0, gt=0)
    op_watch: bool = Field(
        default=True,
        description="Follow payments with one long poll (op_api POST /payments/watch); false: "
        "poll /confirm-payment per payment (also the fallback when op_api lacks the endpoint)",
    )
    watch_wait_seconds: float = Field(
        default=20.0,
        gt=0,
        le=25,
        description="Longest wait of one long poll at op_api (POST /payments/watch)",
    )
    payment_request_ttl_seconds: int = Field(
        default=86400, ge=1, le=30 * 86400, description="How long a money request can be paid"
    )
    rate_limit_messages: int = Field(default=20, ge=1, description="Messages per user per window")
    rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    role: Literal["all", "webhook", "worker"] = Field(
        default="all",
        description="What this process does: `all` acknowledges webhooks and answers them; "
        "`webhook` only acknowledges them (stores each signed body, answers 200); `worker` "
        "only answers them (splits, dedupes, converses, follows payments) and serves no "
        "webhook. Run one `webhook` and one or more `worker` processes on the same database "
        "so that the work never delays an ack.",
    )
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    inbox_max_attempts: int = Field(default=3, ge=1)
    inbox_lease_seconds: float = Field(default=120.0, gt=0)
    inbox_retention_seconds: float = Field(
        default=7 * 24 * 3600, gt=0, description="Handled messages' content is erased after this"
    )
    wallet_fetch_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Whole wallet-document fetch, body and retries included"
    )
    wallet_document_max_bytes: int = Field(
        default=64 * 1024, ge=1024, le=1024 * 1024, description="Larger wallet documents refused"
    )
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    op_timeout_seconds: float = Field(default=30.0, gt=0)
    late_after_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A payment message or Confirm tap older than this is not acted on",
    )
    max_media_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    replica_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    interval_override: str | None = Field(
        default=None,
        pattern=ISO_DURATION,
        max_length=32,
        description="Development only (needs ALLOW_INSECURE_HTTP): every scheduled payment "
        "repeats, and every allowance asked of op_api renews, after this ISO 8601 duration "
        "(e.g. PT5S) instead of the one the user chose, so a weekly schedule or allowance can "
        "be watched in seconds. Refused at start-up otherwise.",
    )

    @field_validator("meta_app_secret")
    @classmethod
    def _secret_required(cls, value: SecretStr) -> SecretStr:
        # Without it pywa accepts unsigned webhooks: anyone could speak for any user.
        if len(value.get_secret_value()) < 8:
            raise ValueError("META_APP_SECRET is required (webhook signatures are always checked)")
        return value

    @field_validator("meta_access_token")
    @classmethod
    def _token_required(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("META_ACCESS_TOKEN is required to answer users")
        return value

    @field_validator("meta_phone_id")
    @classmethod
    def _phone_required(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("META_PHONE_ID is required")
        return value.strip()

    @field_validator("staff_numbers")
    @classmethod
    def _staff_e164(cls, value: str) -> str:
        for number in (n.strip() for n in value.split(",")):
            if number and not _E164.match(number):
                raise ValueError(f"STAFF_NUMBERS: {number!r} is not an E.164 number")
        return value

    @model_validator(mode="after")
    def _override_only_in_sandbox(self) -> Settings:
        # Shortened schedules would pay real people every few seconds, shortened allowances
        # would let one-tap payments spend the limit again and again: never in production.
        if self.interval_override and not self.allow_insecure_http:
            raise ValueError(
                "INTERVAL_OVERRIDE is for development only: it needs "
                "ALLOW_INSECURE_HTTP=true (the sandbox)"
            )
        if self.interval_override:
            cadence.parse(self.interval_override)  # a zero length is refused too
        return self

    @property
    def staff(self) -> list[str]:
        """Staff numbers as canonical WhatsApp ids (see identity.py)."""
        return [canonical(n) for n in self.staff_numbers.split(",") if n.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()  # filled from the environment and .env
