"""A money request is an incoming payment at the requester's wallet for a fixed amount (Open
Payments was made for this): whoever pays it, with any Open Payments wallet, pays the requester.

op_api keeps no row for a request: its id carries the requester's wallet address and the
incoming payment's URL, and its state is read from the incoming payment itself (the wallet is
the source of truth): paid when the amount has arrived, declined when it was closed before
that, expired past its expiry. op_api holds the incoming-payment access (create, read,
complete) of every wallet it serves, through the shared grant.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from op_api.access import incoming_access
from op_api.client import OpenPaymentsError, OpenPaymentsHTTPError
from op_api.client.models import IncomingPayment, WalletAddress
from op_api.deps import Deps, ServiceError
from op_api.records import StoredToken
from op_api.store import utcnow
from op_api.tokens import with_shared_grant
from op_api.views import money
from shared.contracts import PaymentRequestStatus, PaymentRequestView
from shared.money import Amount

_SEP = "\n"


def request_id(wallet_url: str, incoming_payment_url: str) -> str:
    raw = f"{wallet_url}{_SEP}{incoming_payment_url}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_id(value: str) -> tuple[str, str]:
    """(requester wallet URL, incoming payment URL); ServiceError 404 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ServiceError(404, "unknown payment request") from None
    wallet, _, url = raw.partition(_SEP)
    if not wallet or not url:
        raise ServiceError(404, "unknown payment request")
    return wallet, url


def _check_owner(receiver: WalletAddress, url: str) -> None:
    # The shared token of this wallet's auth server is only ever shown to its resource server.
    if not url.startswith(receiver.resource_server.rstrip("/") + "/"):
        raise ServiceError(422, f"incomingPaymentUrl is not at {receiver.id}'s resource server")


async def read(
    deps: Deps, receiver: WalletAddress, url: str
) -> tuple[StoredToken, IncomingPayment]:
    """The incoming payment at `url`, which must belong to `receiver` (422 otherwise)."""
    _check_owner(receiver, url)
    try:
        token, incoming = await with_shared_grant(
            deps,
            receiver.auth_server,
            incoming_access(receiver.id),
            lambda value: deps.client.incoming_payment.get(url, value),
            resource_server=receiver.resource_server,
        )
    except OpenPaymentsHTTPError as exc:
        if exc.status in (403, 404):
            raise ServiceError(404, "unknown payment request") from exc
        raise ServiceError(502, f"the requester's wallet failed (HTTP {exc.status})") from exc
    except OpenPaymentsError as exc:
        raise ServiceError(502, "the requester's wallet could not be reached") from exc
    if incoming.wallet_address.rstrip("/") != receiver.id.rstrip("/"):
        raise ServiceError(422, f"incomingPaymentUrl is not an incoming payment of {receiver.id}")
    return token, incoming


def status_of(incoming: IncomingPayment, now: datetime) -> PaymentRequestStatus:
    wanted = incoming.incoming_amount
    if wanted is not None and incoming.received_amount.minor >= wanted.minor:
        return PaymentRequestStatus.PAID
    if incoming.completed:
        return PaymentRequestStatus.DECLINED
    if incoming.expires_at is not None and incoming.expires_at <= now:
        return PaymentRequestStatus.EXPIRED
    return PaymentRequestStatus.PENDING


def view(wallet_url: str, incoming: IncomingPayment) -> PaymentRequestView:
    received = incoming.received_amount
    wanted = incoming.incoming_amount or Amount(
        value="0", asset_code=received.asset_code, asset_scale=received.asset_scale
    )
    description = (incoming.metadata or {}).get("description")
    shown_received = money(received)
    shown_amount = money(wanted)
    assert shown_received is not None
    assert shown_amount is not None
    return PaymentRequestView(
        request_id=request_id(wallet_url, incoming.id),
        incoming_payment_url=incoming.id,
        requester_wallet_url=wallet_url,
        amount=shown_amount,
        received=shown_received,
        expires_at=incoming.expires_at,
        status=status_of(incoming, utcnow()),
        description=str(description)[:256] if description else None,
    )


async def pay_existing(deps: Deps, receiver: WalletAddress, url: str) -> tuple[str, StoredToken]:
    """For /send-payment with `incomingPaymentUrl`: that incoming payment (URL and the token
    that reads it, for settlement), if it is still open for payment."""
    try:
        token, incoming = await read(deps, receiver, url)
    except ServiceError as exc:
        if exc.status_code != 404:
            raise
        raise ServiceError(
            422, f"incomingPaymentUrl is not an incoming payment of {receiver.id}"
        ) from exc
    state = status_of(incoming, utcnow())
    if state != PaymentRequestStatus.PENDING:
        raise ServiceError(422, f"that payment request is {state.value}; it cannot be paid")
    return incoming.id, token
