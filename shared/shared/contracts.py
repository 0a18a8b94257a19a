"""Pydantic models of the internal API contracts (names as in DESIGN.md; add, never rename).

- llm_back `POST /webhook/whatsapp`: `UnderstandRequest` → `UnderstandResponse`.
- op_api `POST /send-payment`: `SendPaymentRequest` → `PaymentView`;
  `POST /confirm-payment`: `ConfirmPaymentRequest` → `PaymentView`;
  `GET /payments/{id}` → `PaymentView`;
  `POST /payments/watch`: `WatchRequest` → `WatchAnswer` (a long poll over many payments);
  `POST /payment-requests`: `PaymentRequestCreate` → `PaymentRequestView`;
  `GET /payment-requests/{id}` and `DELETE /payment-requests/{id}` (decline) →
  `PaymentRequestView`;
  `POST /links`: `LinkCreate` → `LinkView` (a standing grant at the user's wallet);
  `GET /links/{id}`, `POST /links/{id}/confirm` (advance, like /confirm-payment) and
  `DELETE /links/{id}` (revoke at the wallet) → `LinkView`;
  `POST /payments/{id}/authorize` → `PaymentView` (a one-tap payment, confirmed in chat, paid with
  its link's grant);
  `POST /send-batch`: `SendBatchRequest` → `BatchView` (several payments from one sender, approved
  with one grant covering their total when the wallet allows); `GET /batches/{id}` and
  `DELETE /batches/{id}` (cancel what is not sent yet) → `BatchView`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.durations import ISO_DURATION, Duration
from shared.money import MAX_DIGITS, MoneyError, parse_decimal

MAX_MESSAGE_CHARS = 4096


class _Strict(BaseModel):
    """Unknown fields are refused (a clear 422) rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Open(BaseModel):
    """Responses ignore unknown fields so a newer peer does not break an older one."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# ---------------------------------------------------------------- llm_back


class Intent(StrEnum):
    SEND_PAYMENT = "send_payment"
    OTHER = "other"
    GREETING = "greeting"
    HELP = "help"
    HISTORY = "history"
    CANCEL = "cancel"
    CONFIRM = "confirm"
    # Added for issue 16 (the gateway treats an intent it does not know as "show `response`").
    REQUEST_PAYMENT = "request_payment"  # "cóbrale 50 a Bob": Bob is the payer, never a payment
    STATUS = "status"  # "¿ya le llegó?": how the last payment is doing
    BALANCE = "balance"  # "saldo", "what's my balance?"
    FEES = "fees"  # "¿cuánto cobran de comisión?"
    THANKS = "thanks"  # "gracias", "👍"
    LANGUAGE = "language"  # "english please": switch the chat language (`target_language`)
    # Added for issue 17 (linked wallets).
    UNLINK = "unlink"  # "desvincular mi wallet": revoke the link's grant at the wallet
    ALLOWANCE = "allowance"  # "cambiar mi límite" / "set my allowance to 50 a week" (monto,
    # currency and `recurrence` carry the new allowance when the user said one)
    SCHEDULES = "schedules"  # "mis pagos programados" / "my scheduled payments": list them


class AmountIssue(StrEnum):
    """Why an amount that was said cannot be used (then `monto` is null and `response` asks)."""

    NEGATIVE = "negative"  # "manda -5 a Bob"
    ZERO = "zero"  # "send 0 to Bob"
    TOO_PRECISE = "too_precise"  # "send 10.999 to bob" with a 2-decimal asset: never rounded
    TOO_LARGE = "too_large"  # more digits than any wallet holds (shared.money.MAX_DIGITS)


class Share(_Open):
    """One recipient of a message that names several ("20 a Bob y 10 a Alice")."""

    destinatario: str = Field(description="recipient exactly as written")
    monto: str | None = Field(default=None, description="decimal string; null when not said")
    currency: str | None = Field(default=None, description="ISO 4217 code when the user said one")

    @field_validator("monto")
    @classmethod
    def _decimal_string(cls, v: str | None) -> str | None:
        return _positive_decimal(v)


class MediaItem(_Strict):
    """A voice note or an image: inline bytes (base64) or a URL on an allowed host."""

    type: Literal["audio", "image"]
    mime_type: str = Field(alias="mimeType", max_length=100)
    data: str | None = Field(default=None, description="base64-encoded bytes")
    url: str | None = Field(default=None, max_length=2048)
    filename: str | None = Field(default=None, max_length=255)


class DraftContext(_Strict):
    """The payment the user is in the middle of (owned by ws_bot): what is known so far."""

    monto: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=8)
    destinatario: str | None = Field(default=None, max_length=512)


class TurnContext(_Strict):
    """One recent message as it was understood (oldest first in `recent`)."""

    text: str = Field(default="", max_length=500)
    intent: str = Field(max_length=32)
    monto: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=8)
    destinatario: str | None = Field(default=None, max_length=512)


class UnderstandRequest(_Strict):
    wa_id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=256)
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    media: list[MediaItem] = Field(default_factory=list, max_length=4)
    language: Literal["es", "en"] | None = None
    # The user's own wallet asset: "$" and "pesos" mean it when it is a peso, and an amount with
    # more decimals than `asset_scale` is refused with a question (default: PAYMENT_ASSET_*).
    asset_code: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,12}$")
    asset_scale: int | None = Field(default=None, ge=0, le=18)
    # The dialogue's state travels with each message: llm_back keeps none of its own.
    draft: DraftContext | None = None
    recent: list[TurnContext] = Field(default_factory=list, max_length=20)


class UnderstandResponse(_Open):
    intent: str
    monto: str | None = Field(default=None, description="decimal string, e.g. '20.50'")
    currency: str | None = Field(default=None, description="ISO 4217 code when the user said one")
    destinatario: str | None = None
    response: str
    transcript: str | None = None
    audio: str | None = Field(default=None, description="base64 ogg/opus voice reply")
    audio_mime_type: str | None = Field(default=None, alias="audioMimeType")
    language: str | None = None
    source: str | None = Field(default=None, description="'openai' or 'offline'")
    # Added for issue 16; all optional, so an older gateway keeps working on monto/destinatario.
    recipients: list[Share] | None = Field(
        default=None,
        description="every recipient when the message names several (the first one is also in "
        "monto/destinatario); for a split, the user's own share is left out",
    )
    split_total: str | None = Field(
        default=None, description="decimal string: the total the user said to split, if any"
    )
    recurrence: str | None = Field(
        default=None,
        description="ISO 8601 duration between repeats ('P1M' = every month, 'P1W', 'P1D', "
        "'P15D', 'P1Y') when the user asked for a recurring payment or request",
    )
    amount_issue: AmountIssue | None = Field(
        default=None, description="why the amount said cannot be used; monto is then null"
    )
    target_language: Literal["es", "en"] | None = Field(
        default=None, description="for intent 'language': the language asked for, when said"
    )

    @field_validator("monto")
    @classmethod
    def _decimal_string(cls, v: str | None) -> str | None:
        return _positive_decimal(v)


def _positive_decimal(v: str | None) -> str | None:
    return v if v is None else positive_amount(v, "monto")


def positive_amount(v: str, name: str = "amount") -> str:
    """`v` if it is a decimal string greater than zero; else ValueError saying why."""
    try:
        value = parse_decimal(v)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc
    if value < 0:
        raise ValueError(f"{name} cannot be negative: it must be greater than zero")
    if value == 0:
        raise ValueError(f"{name} must be greater than zero")
    return v


# ---------------------------------------------------------------- op_api


class PaymentStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    SENDING = "sending"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {PaymentStatus.COMPLETED, PaymentStatus.REJECTED, PaymentStatus.EXPIRED, PaymentStatus.FAILED}
)


class SendPaymentRequest(_Strict):
    sender_wallet_url: str = Field(alias="senderWalletUrl", min_length=1, max_length=2048)
    receiver_wallet_url: str = Field(alias="receiverWalletUrl", min_length=1, max_length=2048)
    amount: str = Field(description="decimal string in the sender's asset, e.g. '20.00'")
    amount_type: Literal["send", "receive"] = Field(
        default="send",
        alias="amountType",
        description="'send': `amount` leaves the sender's wallet (fees come out of it); "
        "'receive': the receiver gets `amount` (in the sender's asset when both wallets share "
        "it) and fees come on top",
    )
    asset_code: str | None = Field(default=None, alias="assetCode", pattern=r"^[A-Z]{3}$")
    idempotency_key: str | None = Field(default=None, alias="idempotencyKey", max_length=256)
    description: str | None = Field(default=None, max_length=256)
    # Added for issue 16: pay this incoming payment (a money request, `PaymentRequestView`)
    # instead of a new one; it must belong to `receiverWalletUrl`.
    incoming_payment_url: str | None = Field(
        default=None, alias="incomingPaymentUrl", min_length=1, max_length=2048
    )
    # Added for issue 17: pay within this link's allowance when the quote fits (no consent page;
    # the chat Confirm then calls /payments/{id}/authorize). The link must be active and belong
    # to `senderWalletUrl`; otherwise the payment falls back to its own interactive grant and
    # `PaymentView.fallbackReason` says why.
    link_id: str | None = Field(default=None, alias="linkId", min_length=1, max_length=64)

    @field_validator("amount")
    @classmethod
    def _positive_decimal(cls, v: str) -> str:
        return positive_amount(v).strip()


class ConfirmPaymentRequest(_Strict):
    payment_id: str = Field(alias="paymentId", min_length=1, max_length=64)


class FallbackReason(StrEnum):
    """Why a payment asked with a `linkId` needs its own approval at the wallet after all."""

    OVER_ALLOWANCE = "over_allowance"  # the quote's debit is more than the interval has left
    LINK_REVOKED = "link_revoked"  # the wallet answered 401/403 to the link's token
    LINK_INACTIVE = "link_inactive"  # the link is not active (pending, rejected, expired, revoked)
    NO_ALLOWANCE = "no_allowance"  # an "ask me every time" link: it allows no spending


class MoneyView(_Open):
    """An amount as the gateway shows it: decimal string plus asset."""

    value: str = Field(description="decimal string, e.g. '20.00'", max_length=MAX_DIGITS + 2)
    asset_code: str = Field(alias="assetCode")
    asset_scale: int = Field(alias="assetScale")


class PaymentView(_Open):
    payment_id: str = Field(alias="paymentId")
    status: PaymentStatus
    confirmation_url: str | None = Field(default=None, alias="confirmationUrl")
    debit_amount: MoneyView | None = Field(default=None, alias="debitAmount")
    receive_amount: MoneyView | None = Field(default=None, alias="receiveAmount")
    fee: MoneyView | None = None
    sent_amount: MoneyView | None = Field(default=None, alias="sentAmount")
    expires_at: datetime | None = Field(default=None, alias="expiresAt")
    sender_wallet_url: str | None = Field(default=None, alias="senderWalletUrl")
    receiver_wallet_url: str | None = Field(default=None, alias="receiverWalletUrl")
    receiver_name: str | None = Field(default=None, alias="receiverName")
    failure_reason: str | None = Field(default=None, alias="failureReason")
    created_at: datetime | None = Field(default=None, alias="createdAt")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")
    # Issue 17: set when the payment is paid with a link's grant (no `confirmationUrl`).
    link_id: str | None = Field(default=None, alias="linkId")
    allowance_remaining: MoneyView | None = Field(
        default=None,
        alias="allowanceRemaining",
        description="what the link's allowance leaves in this interval once this payment is paid",
    )
    fallback_reason: FallbackReason | None = Field(
        default=None,
        alias="fallbackReason",
        description="a `linkId` was given but this payment needs its own approval at the wallet",
    )


MAX_WATCHED = 5000
MAX_WATCH_SECONDS = 25.0


class WatchedPayment(_Strict):
    """A payment the gateway follows, with the status it last saw."""

    payment_id: str = Field(alias="paymentId", min_length=1, max_length=64)
    status: PaymentStatus


class WatchRequest(_Strict):
    """Tell me about any of these payments whose status is not the one I give; if none, wait
    up to `waitSeconds` for one of them to change (a long poll: requests follow events, not the
    number of payments followed)."""

    payments: list[WatchedPayment] = Field(min_length=1, max_length=MAX_WATCHED)
    wait_seconds: float = Field(default=20.0, alias="waitSeconds", ge=0, le=MAX_WATCH_SECONDS)


class WatchAnswer(_Open):
    """The payments whose status differs from the one given (empty: none changed in time), and
    the ids op_api does not know."""

    payments: list[PaymentView] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)


class ErrorBody(_Open):
    """Every 4xx/5xx body: `{"detail": "<human-readable message>"}` (FastAPI's shape)."""

    detail: str | list[dict[str, object]]


# ---------------------------------------------------------------- op_api: money requests (issue 16)


class PaymentRequestCreate(_Strict):
    """Ask to be paid: an incoming payment at the requester's wallet for exactly `amount`."""

    requester_wallet_url: str = Field(alias="requesterWalletUrl", min_length=1, max_length=2048)
    amount: str = Field(description="decimal string in the requester's asset, e.g. '50.00'")
    description: str | None = Field(default=None, max_length=256)
    expires_in_seconds: int = Field(default=86400, alias="expiresInSeconds", ge=1, le=30 * 86400)

    @field_validator("amount")
    @classmethod
    def _positive(cls, v: str) -> str:
        return SendPaymentRequest._positive_decimal(v)


class PaymentRequestStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    DECLINED = "declined"  # closed before it was paid (declined, or the payer's payment ended)
    EXPIRED = "expired"


class PaymentRequestView(_Open):
    request_id: str = Field(alias="requestId")
    incoming_payment_url: str = Field(
        alias="incomingPaymentUrl", description="any Open Payments wallet can pay it"
    )
    requester_wallet_url: str = Field(alias="requesterWalletUrl")
    amount: MoneyView
    received: MoneyView
    expires_at: datetime | None = Field(default=None, alias="expiresAt")
    status: PaymentRequestStatus
    description: str | None = None


# ---------------------------------------------------------------- op_api: linked wallets (issue 17)


class Allowance(_Strict):
    """Spending allowed without asking, per repeating interval (`limits.debitAmount` +
    `limits.interval` of an outgoing-payment grant)."""

    amount: str = Field(description="decimal string in the wallet's asset, e.g. '50.00'")
    interval: str = Field(
        description="ISO 8601 duration of one interval, e.g. 'P1W' or 'P1M'",
        pattern=ISO_DURATION,
        max_length=32,
    )

    @field_validator("amount")
    @classmethod
    def _positive(cls, v: str) -> str:
        return SendPaymentRequest._positive_decimal(v)

    @field_validator("interval")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        Duration.parse(v)  # ValueError: not a duration, or an empty one
        return v


class LinkCreate(_Strict):
    """Link a wallet: an interactive grant the owner approves at their wallet (its sign-in is the
    proof of control). Without `allowance` ("ask me every time") the grant allows no spending."""

    wallet_url: str = Field(alias="walletUrl", min_length=1, max_length=2048)
    allowance: Allowance | None = None
    idempotency_key: str | None = Field(default=None, alias="idempotencyKey", max_length=256)


class LinkStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    ACTIVE = "active"
    REJECTED = "rejected"
    EXPIRED = "expired"  # not approved in time
    REVOKED = "revoked"  # revoked here (DELETE) or found revoked at the wallet
    FAILED = "failed"


class LinkView(_Open):
    link_id: str = Field(alias="linkId")
    wallet_url: str = Field(alias="walletUrl")
    status: LinkStatus
    confirmation_url: str | None = Field(default=None, alias="confirmationUrl")
    allowance: MoneyView | None = Field(default=None, description="per interval; null: none")
    interval: str | None = Field(default=None, description="ISO 8601 duration, e.g. 'P1W'")
    spent: MoneyView | None = Field(default=None, description="spent in the current interval")
    remaining: MoneyView | None = Field(default=None, description="left in the current interval")
    interval_ends_at: datetime | None = Field(default=None, alias="intervalEndsAt")
    expires_at: datetime | None = Field(default=None, alias="expiresAt")
    failure_reason: str | None = Field(default=None, alias="failureReason")
    created_at: datetime | None = Field(default=None, alias="createdAt")


# ---------------------------------------------------------------- op_api: batches (issue 16)

MAX_BATCH_PAYMENTS = 10


class BatchItem(_Strict):
    """One payment of a batch: as in `SendPaymentRequest`, without the sender."""

    receiver_wallet_url: str = Field(alias="receiverWalletUrl", min_length=1, max_length=2048)
    amount: str = Field(description="decimal string, e.g. '20.00'")
    amount_type: Literal["send", "receive"] = Field(default="send", alias="amountType")
    description: str | None = Field(default=None, max_length=256)

    @field_validator("amount")
    @classmethod
    def _positive_decimal(cls, v: str) -> str:
        return positive_amount(v).strip()


class SendBatchRequest(_Strict):
    """Several payments from one sender, confirmed together: op_api quotes each, then asks the
    sender's wallet for ONE outgoing-payment grant limited to the total of the quotes' debits
    (one approval). A wallet that refuses such a grant gets one grant per payment instead
    (`BatchView.sharedGrant` false, a `confirmationUrl` on each payment)."""

    sender_wallet_url: str = Field(alias="senderWalletUrl", min_length=1, max_length=2048)
    payments: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH_PAYMENTS)
    idempotency_key: str | None = Field(default=None, alias="idempotencyKey", max_length=256)


class BatchStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"  # some payment still waits for its approval
    IN_PROGRESS = "in_progress"  # approved; some payment is not final yet
    COMPLETED = "completed"  # every payment completed
    PARTIAL = "partial"  # every payment final, some completed and some not
    REJECTED = "rejected"  # every payment final, none paid, the grant was rejected
    EXPIRED = "expired"  # every payment final, none paid, not approved in time
    FAILED = "failed"  # every payment final, none paid


class BatchView(_Open):
    batch_id: str = Field(alias="batchId")
    status: BatchStatus
    shared_grant: bool = Field(
        alias="sharedGrant",
        description="true: one approval (`confirmationUrl`) covers every payment; false: the "
        "wallet refused a grant for the total, each payment has its own `confirmationUrl`",
    )
    confirmation_url: str | None = Field(
        default=None, alias="confirmationUrl", description="the one approval (shared grant)"
    )
    debit_amount: MoneyView | None = Field(
        default=None, alias="debitAmount", description="the total of the payments' debits"
    )
    payments: list[PaymentView] = Field(description="in the order they were asked for")
    created_at: datetime | None = Field(default=None, alias="createdAt")
