"""Typed Open Payments resources (OpenAPI v1.3.0), camelCase on the wire, snake_case in Python.

Unknown fields are ignored so a newer server does not break us; amounts reuse
`shared.money.Amount` (integer-string minor units, never floats).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.money import Amount

__all__ = [
    "AccessIncoming",
    "AccessItem",
    "AccessOutgoing",
    "AccessQuote",
    "AccessToken",
    "Amount",
    "Continue",
    "ContinueToken",
    "Grant",
    "GrantContinuation",
    "IncomingPayment",
    "IncomingPaymentPage",
    "IncomingPaymentWithMethods",
    "InteractFinish",
    "InteractRequest",
    "InteractResponse",
    "JsonWebKey",
    "JsonWebKeySet",
    "OutgoingLimits",
    "OutgoingPayment",
    "OutgoingPaymentPage",
    "PageInfo",
    "PaymentMethod",
    "PendingGrant",
    "PublicIncomingPayment",
    "Quote",
    "WalletAddress",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object to send (camelCase, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# ------------------------------------------------------------------ wallet addresses


class WalletAddress(_Model):
    id: str
    public_name: str | None = Field(default=None, alias="publicName")
    asset_code: str = Field(alias="assetCode")
    asset_scale: int = Field(alias="assetScale", ge=0, le=255)
    auth_server: str = Field(alias="authServer")
    resource_server: str = Field(alias="resourceServer")


class JsonWebKey(_Model):
    kid: str
    alg: Literal["EdDSA"]
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    use: Literal["sig"] | None = None


class JsonWebKeySet(_Model):
    keys: list[JsonWebKey]


# ------------------------------------------------------------------ grants (GNAP)

IncomingAction = Literal["create", "complete", "read", "read-all", "list", "list-all"]
OutgoingAction = Literal["create", "read", "read-all", "list", "list-all"]
QuoteAction = Literal["create", "read", "read-all"]


class OutgoingLimits(_Model):
    """At most one of debitAmount / receiveAmount (the server refuses both)."""

    receiver: str | None = None
    interval: str | None = None
    debit_amount: Amount | None = Field(default=None, alias="debitAmount")
    receive_amount: Amount | None = Field(default=None, alias="receiveAmount")


class AccessIncoming(_Model):
    type: Literal["incoming-payment"] = "incoming-payment"
    actions: list[IncomingAction]
    identifier: str | None = None


class AccessOutgoing(_Model):
    type: Literal["outgoing-payment"] = "outgoing-payment"
    actions: list[OutgoingAction]
    identifier: str
    limits: OutgoingLimits | None = None


class AccessQuote(_Model):
    type: Literal["quote"] = "quote"
    actions: list[QuoteAction]


AccessItem = AccessIncoming | AccessOutgoing | AccessQuote


class InteractFinish(_Model):
    method: Literal["redirect"] = "redirect"
    uri: str
    nonce: str


class InteractRequest(_Model):
    start: tuple[Literal["redirect"], ...] = ("redirect",)
    finish: InteractFinish | None = None


class InteractResponse(_Model):
    redirect: str
    finish: str | None = None


class ContinueToken(_Model):
    value: str


class Continue(_Model):
    access_token: ContinueToken
    uri: str
    wait: int | None = None


class AccessToken(_Model):
    value: str
    manage: str
    expires_in: int | None = None
    access: list[dict[str, Any]] = Field(default_factory=list)


class Grant(_Model):
    """A granted request: an access token (plus a continuation for managing the grant)."""

    access_token: AccessToken
    continue_: Continue | None = Field(default=None, alias="continue")


class PendingGrant(_Model):
    """An interactive grant waiting for the user: where to send them, how to continue."""

    interact: InteractResponse
    continue_: Continue = Field(alias="continue")


class GrantContinuation(_Model):
    """A continuation answer while the user has not decided yet (no access token)."""

    continue_: Continue = Field(alias="continue")


# ------------------------------------------------------------------ resources


class PaymentMethod(_Model):
    type: str
    ilp_address: str | None = Field(default=None, alias="ilpAddress")
    shared_secret: str | None = Field(default=None, alias="sharedSecret")


class IncomingPayment(_Model):
    id: str
    wallet_address: str = Field(alias="walletAddress")
    completed: bool = False
    incoming_amount: Amount | None = Field(default=None, alias="incomingAmount")
    received_amount: Amount = Field(alias="receivedAmount")
    expires_at: datetime | None = Field(default=None, alias="expiresAt")
    metadata: dict[str, Any] | None = None
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")


class IncomingPaymentWithMethods(IncomingPayment):
    methods: list[PaymentMethod] = Field(default_factory=list)


class PublicIncomingPayment(_Model):
    received_amount: Amount | None = Field(default=None, alias="receivedAmount")
    auth_server: str = Field(alias="authServer")


class Quote(_Model):
    id: str
    wallet_address: str = Field(alias="walletAddress")
    receiver: str
    receive_amount: Amount = Field(alias="receiveAmount")
    debit_amount: Amount = Field(alias="debitAmount")
    method: str = "ilp"
    expires_at: datetime | None = Field(default=None, alias="expiresAt")
    created_at: datetime = Field(alias="createdAt")


class OutgoingPayment(_Model):
    id: str
    wallet_address: str = Field(alias="walletAddress")
    quote_id: str | None = Field(default=None, alias="quoteId")
    failed: bool = False
    receiver: str
    receive_amount: Amount = Field(alias="receiveAmount")
    debit_amount: Amount = Field(alias="debitAmount")
    sent_amount: Amount = Field(alias="sentAmount")
    grant_spent_debit_amount: Amount | None = Field(default=None, alias="grantSpentDebitAmount")
    grant_spent_receive_amount: Amount | None = Field(default=None, alias="grantSpentReceiveAmount")
    metadata: dict[str, Any] | None = None
    created_at: datetime = Field(alias="createdAt")


class PageInfo(_Model):
    start_cursor: str | None = Field(default=None, alias="startCursor")
    end_cursor: str | None = Field(default=None, alias="endCursor")
    has_next_page: bool = Field(alias="hasNextPage")
    has_previous_page: bool = Field(alias="hasPreviousPage")


class IncomingPaymentPage(_Model):
    pagination: PageInfo
    result: list[IncomingPayment]


class OutgoingPaymentPage(_Model):
    pagination: PageInfo
    result: list[OutgoingPayment]
