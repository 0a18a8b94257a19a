"""POST /send-payment: from two wallet addresses and an amount to a grant awaiting approval.

Critical path, with independent steps run concurrently (the official Node example runs the
seven steps one after another):

1. sender wallet ‖ receiver wallet
2. incoming-payment grant (receiver's AS) ‖ quote grant (sender's AS)
3. incoming payment at the receiver (no fixed amount: the quote fixes what is sent)
4. quote at the sender (fixed send: debitAmount = the amount) ‖ outgoing-payment grant limited to
   that same debitAmount — a fixed-send quote's debitAmount is the requested amount by definition,
   so the grant need not wait for the quote; if a provider ever quotes otherwise, the grant is
   cancelled and requested again with the quote's amount.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from op_api.access import incoming_access, outgoing_access, quote_access
from op_api.caches import GrantNotImmediate
from op_api.client import (
    InsecureUrlError,
    OpenPaymentsError,
    OpenPaymentsHTTPError,
    OpenPaymentsTransportError,
)
from op_api.client.interaction import new_nonce
from op_api.client.models import (
    InteractFinish,
    InteractRequest,
    PendingGrant,
    Quote,
    WalletAddress,
)
from op_api.client.urls import ensure_allowed
from op_api.deps import Deps, ServiceError
from op_api.metrics import INITIATION_SECONDS
from op_api.records import PaymentRecord, Status
from op_api.store import DuplicateKey, utcnow
from shared.contracts import SendPaymentRequest
from shared.money import Amount, MoneyError

logger = logging.getLogger(__name__)
IDEMPOTENT_WAIT_SECONDS = 20.0
INCOMING_PAYMENT_EXTRA_TTL = timedelta(minutes=30)
ABANDONED_AFTER = timedelta(seconds=120)


def fingerprint(request: SendPaymentRequest) -> str:
    fields = request.model_dump(by_alias=True, exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _validated_urls(deps: Deps, request: SendPaymentRequest) -> tuple[str, str]:
    allow = deps.settings.allow_insecure_http
    urls = []
    for label, url in (
        ("senderWalletUrl", request.sender_wallet_url),
        ("receiverWalletUrl", request.receiver_wallet_url),
    ):
        candidate = url.strip()
        if candidate.startswith("$"):  # payment pointer: $wallet.example/alice
            candidate = "https://" + candidate[1:]
        try:
            urls.append(ensure_allowed(candidate, allow_insecure_http=allow).rstrip("/"))
        except InsecureUrlError as exc:
            raise ServiceError(422, f"{label}: {exc}") from exc
        except ValueError as exc:
            raise ServiceError(422, f"{label} is not a wallet address URL: {exc}") from exc
    if urls[0] == urls[1]:
        raise ServiceError(422, "sender and receiver are the same wallet address")
    return urls[0], urls[1]


async def _resolve(deps: Deps, url: str, role: str) -> WalletAddress:
    try:
        return await deps.caches.wallet(url)
    except OpenPaymentsHTTPError as exc:
        raise ServiceError(
            422, f"{role} wallet address {url} could not be resolved (HTTP {exc.status})"
        ) from exc
    except OpenPaymentsTransportError as exc:
        raise ServiceError(502, f"{role} wallet address {url} is unreachable") from exc
    except OpenPaymentsError as exc:
        raise ServiceError(422, f"{url} is not an Open Payments wallet address") from exc


def _amount(
    request: SendPaymentRequest, sender: WalletAddress, receiver: WalletAddress
) -> tuple[Amount | None, Amount | None]:
    """(debit, receive): the amount is what the sender pays, unless `assetCode` names the
    receiver's (different) asset — then it is what the receiver gets ("send 200 pesos") — or
    `amountType` is "receive" and both wallets hold that asset ("send Bob 20": Bob gets 20, the
    fee comes on top). Across currencies the amount stays fixed in the currency it was named in."""
    code = request.asset_code or sender.asset_code
    wants_receive = code != sender.asset_code or request.amount_type == "receive"
    if code == receiver.asset_code and wants_receive:
        wallet, fixed_receive = receiver, True
    elif code == sender.asset_code:
        wallet, fixed_receive = sender, False
    else:
        raise ServiceError(
            422,
            f"assetCode {code} is neither the sender's ({sender.asset_code}) "
            f"nor the receiver's ({receiver.asset_code}) asset",
        )
    try:
        amount = Amount.from_decimal(request.amount, wallet.asset_code, wallet.asset_scale)
    except MoneyError as exc:
        raise ServiceError(422, f"amount: {exc}") from exc
    if amount.minor <= 0:
        raise ServiceError(422, "amount must be greater than zero")
    return (None, amount) if fixed_receive else (amount, None)


def _interact(deps: Deps, payment_id: str, nonce: str | None) -> InteractRequest:
    if deps.settings.public_url and nonce:
        uri = f"{deps.settings.public_url}/payments/{payment_id}/finish"
        return InteractRequest(finish=InteractFinish(uri=uri, nonce=nonce))
    return InteractRequest()


async def _outgoing_grant(
    deps: Deps,
    sender: WalletAddress,
    receiver_url: str,
    debit: Amount,
    interact: InteractRequest,
) -> PendingGrant:
    access = outgoing_access(sender.id, receiver_url, debit)
    grant = await deps.client.grant.request(sender.auth_server, access, interact)
    if not isinstance(grant, PendingGrant):
        # A provider may grant without interaction (pre-authorized); we still need consent UX.
        raise ServiceError(502, "the sender's wallet granted an outgoing payment without consent")
    return grant


async def _cancel_quietly(deps: Deps, grant: PendingGrant | None) -> None:
    if grant is None:
        return
    try:
        await deps.client.grant.cancel(grant.continue_.uri, grant.continue_.access_token.value)
    except OpenPaymentsError:
        logger.warning("could not cancel an abandoned grant")


async def _quote_and_grant(
    deps: Deps,
    sender: WalletAddress,
    incoming_payment: str,
    quote_token: str,
    debit: Amount | None,
    receive: Amount | None,
    interact: InteractRequest,
) -> tuple[Quote, PendingGrant]:
    """The quote, and the outgoing-payment grant limited to its debitAmount.

    Fixed send: the debit is known up front, so both requests go together. Fixed receive: the
    grant has to wait for the quote to learn the debit.
    """
    create_quote = deps.client.quote.create(
        sender.resource_server,
        quote_token,
        wallet_address=sender.id,
        receiver=incoming_payment,
        debit_amount=debit,
        receive_amount=receive,
    )
    if debit is None:
        quote = await create_quote
        grant = await _outgoing_grant(deps, sender, incoming_payment, quote.debit_amount, interact)
        return quote, grant
    results = await asyncio.gather(
        create_quote,
        _outgoing_grant(deps, sender, incoming_payment, debit, interact),
        return_exceptions=True,
    )
    quoted, granted = results
    if isinstance(quoted, BaseException) or isinstance(granted, BaseException):
        await _cancel_quietly(deps, granted if isinstance(granted, PendingGrant) else None)
        raise quoted if isinstance(quoted, BaseException) else granted  # type: ignore[misc]
    if quoted.debit_amount != debit:
        # Not a fixed-send quote after all: the grant must carry the quoted debit amount.
        await _cancel_quietly(deps, granted)
        granted = await _outgoing_grant(
            deps, sender, incoming_payment, quoted.debit_amount, interact
        )
    return quoted, granted


async def _run(deps: Deps, payment_id: str, request: SendPaymentRequest) -> dict[str, Any]:
    """The Open Payments calls; returns the columns to store."""
    client = deps.client
    sender_url, receiver_url = _validated_urls(deps, request)
    sender, receiver = await asyncio.gather(
        _resolve(deps, sender_url, "sender"), _resolve(deps, receiver_url, "receiver")
    )
    debit, receive = _amount(request, sender, receiver)
    now = utcnow()
    expires_at = now + timedelta(seconds=deps.settings.payment_expiry_seconds)

    try:
        ip_token, quote_token = await asyncio.gather(
            deps.caches.grant(receiver.auth_server, incoming_access(receiver.id)),
            deps.caches.grant(sender.auth_server, quote_access()),
        )
    except GrantNotImmediate as exc:
        raise ServiceError(502, f"unexpected interactive grant: {exc}") from exc
    metadata = {"externalRef": f"paguito:{payment_id}"}
    if request.description:
        metadata["description"] = request.description
    incoming = await client.incoming_payment.create(
        receiver.resource_server,
        ip_token.value,
        wallet_address=receiver.id,
        expires_at=expires_at + INCOMING_PAYMENT_EXTRA_TTL,
        metadata=metadata,
    )

    nonce = new_nonce() if deps.settings.public_url else None
    interact = _interact(deps, payment_id, nonce)
    quote, grant = await _quote_and_grant(
        deps, sender, incoming.id, quote_token.value, debit, receive, interact
    )

    wait = grant.continue_.wait or 0
    return {
        "status": Status.AWAITING_APPROVAL.value,
        "sender": sender.wire(),
        "receiver": receiver.wire(),
        "debit_amount": quote.debit_amount.to_wire(),
        "receive_amount": quote.receive_amount.to_wire(),
        "incoming_payment_url": incoming.id,
        "incoming_token": ip_token.dump(),
        "quote_url": quote.id,
        "quote_expires_at": quote.expires_at,
        "quote_token": quote_token.dump(),
        "confirmation_url": grant.interact.redirect,
        "continue_uri": grant.continue_.uri,
        "continue_token": grant.continue_.access_token.value,
        "continue_wait": wait,
        "next_poll_at": utcnow() + timedelta(seconds=wait),
        "finish_nonce": nonce,
        "as_finish_nonce": grant.interact.finish,
        "expires_at": expires_at,
    }


async def _existing(deps: Deps, key: str, print_: str) -> PaymentRecord | None:
    """The payment already holding `key` once it is initiated (waits for a concurrent twin)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IDEMPOTENT_WAIT_SECONDS
    while True:
        record = await deps.store.get_by_key(key)
        if record is None:
            return None
        if record.fingerprint != print_:
            raise ServiceError(409, "idempotencyKey was already used for a different payment")
        if record.status != Status.INITIATING:
            return record
        if utcnow() - record.created_at > ABANDONED_AFTER:
            # Its initiator died mid-way (nothing was stored but the placeholder): start afresh.
            await deps.store.delete_if(record.id, Status.INITIATING)
            return None
        if loop.time() > deadline:
            raise ServiceError(503, "a payment with this idempotencyKey is still being initiated")
        await asyncio.sleep(0.1)


async def send_payment(deps: Deps, request: SendPaymentRequest) -> tuple[PaymentRecord, bool]:
    """Start a payment; returns it and whether it was created by this call."""
    print_ = fingerprint(request)
    key = request.idempotency_key
    payment_id = uuid.uuid4().hex
    while True:
        if key:
            existing = await _existing(deps, key, print_)
            if existing is not None:
                return existing, False
        try:
            now = utcnow()
            await deps.store.insert(
                id=payment_id,
                idempotency_key=key,
                fingerprint=print_,
                status=Status.INITIATING.value,
                description=request.description,
                expires_at=now + timedelta(seconds=deps.settings.payment_expiry_seconds),
            )
            break
        except DuplicateKey:
            continue  # a concurrent twin won the key: wait for its result
    try:
        with INITIATION_SECONDS.time():
            values = await _run(deps, payment_id, request)
    except BaseException as exc:
        await deps.store.delete(payment_id)  # a retry with the same key starts afresh
        if isinstance(exc, ServiceError):
            raise
        if isinstance(exc, OpenPaymentsHTTPError):
            logger.warning("payment initiation refused", extra={"error": str(exc)})
            reason = exc.description or exc.code or f"HTTP {exc.status}"
            if 400 <= exc.status < 500:
                raise ServiceError(422, f"the wallet refused the payment: {reason}") from exc
            raise ServiceError(502, f"the wallet provider failed (HTTP {exc.status})") from exc
        if isinstance(exc, OpenPaymentsError):
            logger.warning("payment initiation failed", extra={"error": str(exc)})
            raise ServiceError(502, "a wallet provider could not be reached or misbehaved") from exc
        raise
    await deps.store.update(payment_id, expect=Status.INITIATING, **values)
    record = await deps.store.get(payment_id)
    assert record is not None
    logger.info(
        "payment initiated",
        extra={"payment_id": payment_id, "debit": str(record.debit_amount)},
    )
    return record, True
