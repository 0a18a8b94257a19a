"""The stored shape of a payment (its statuses live in `lifecycle`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from op_api.client.models import AccessToken, WalletAddress
from op_api.lifecycle import ACTIVE_STATUSES, Status
from shared.money import Amount


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StoredToken(BaseModel):
    """A GNAP access token as we keep it: value, management URL, absolute expiry."""

    model_config = ConfigDict(frozen=True)

    value: str
    manage: str
    expires_at: datetime | None = None

    @classmethod
    def from_access_token(cls, token: AccessToken, now: datetime) -> StoredToken:
        expires = now + timedelta(seconds=token.expires_in) if token.expires_in else None
        return cls(value=token.value, manage=token.manage, expires_at=expires)

    def expired(self, now: datetime, margin: float = 2.0) -> bool:
        expires = as_utc(self.expires_at)
        return expires is not None and expires <= now + timedelta(seconds=margin)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PaymentRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    idempotency_key: str | None = None
    fingerprint: str
    status: Status
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    failure_reason: str | None = None
    sender: WalletAddress | None = None
    receiver: WalletAddress | None = None
    debit_amount: Amount | None = None
    receive_amount: Amount | None = None
    sent_amount: Amount | None = None
    received_amount: Amount | None = None
    description: str | None = None
    incoming_payment_url: str | None = None
    incoming_token: StoredToken | None = None
    quote_url: str | None = None
    quote_expires_at: datetime | None = None
    quote_token: StoredToken | None = None
    confirmation_url: str | None = None
    continue_uri: str | None = None
    continue_token: str | None = None
    continue_wait: int | None = None
    next_poll_at: datetime | None = None
    continue_claimed_at: datetime | None = None
    finish_nonce: str | None = None
    as_finish_nonce: str | None = None
    outgoing_token: StoredToken | None = None
    op_claimed_at: datetime | None = None
    op_uncertain_since: datetime | None = None
    op_attempts: int = 0
    op_next_attempt_at: datetime | None = None
    outgoing_payment_url: str | None = None
    expires_at: datetime
    sending_since: datetime | None = None
    next_check_at: datetime | None = None
    initiation_failed_at: datetime | None = None
    interact_ref: str | None = None
    incoming_is_request: bool | None = None  # the incoming payment is a money request's
    batch_id: str | None = None  # one of several payments sent together (POST /send-batch)
    grant_lead: str | None = None  # the batch payment whose grant this one is paid with
    link_id: str | None = None  # a one-tap payment: paid with this link's grant
    link_reserved: int | None = None  # minor units it holds of the link's allowance
    link_interval: int | None = None
    allowance_remaining: Amount | None = None
    fallback_reason: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def pays_with_link(self) -> bool:
        """A one-tap payment still to be paid with its link's grant (not fallen back)."""
        return self.link_id is not None and self.fallback_reason is None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> PaymentRecord:
        data = dict(row)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = as_utc(value)
        return cls.model_validate(data)


__all__ = ["ACTIVE_STATUSES", "PaymentRecord", "Status", "StoredToken", "as_utc"]
