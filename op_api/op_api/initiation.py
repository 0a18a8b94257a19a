"""POST /send-payment: from two wallet addresses and an amount to a grant awaiting approval.

Critical path, with independent steps run concurrently (the official Node example runs the
seven steps one after another):

1. sender wallet ‖ receiver wallet
2. incoming-payment grant (receiver's AS) ‖ quote grant (sender's AS)
3. incoming payment at the receiver, as soon as its grant is there (no fixed amount: the quote
   fixes what is sent); it is recorded at once, so a failure later completes it, or a retry
   with the same idempotencyKey reuses it
4. quote at the sender (fixed send: debitAmount = the amount) ‖ outgoing-payment grant limited to
   that same debitAmount — a fixed-send quote's debitAmount is the requested amount by definition,
   so the grant need not wait for the quote; if a provider ever quotes otherwise, the grant is
   cancelled and requested again with the quote's amount.

The two grants in step 2 are shared between payments (see `caches`); one a wallet refuses
(revoked: 401/403) is replaced by a new grant and the call made once more.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from op_api import one_tap
from op_api.access import incoming_access, outgoing_access, quote_access
from op_api.caches import GrantNotImmediate
from op_api.client import (
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
from op_api.deps import Deps, ServiceError
from op_api.lifecycle import Status, transition
from op_api.maximum import check_maximum
from op_api.metrics import INITIATION_SECONDS
from op_api.records import PaymentRecord, StoredToken
from op_api.request_incoming import pay_existing
from op_api.steps import complete_incoming, external_ref
from op_api.store import DuplicateKey, Where, same, utcnow
from op_api.tokens import with_shared_grant
from shared.contracts import FallbackReason, SendPaymentRequest
from shared.money import Amount, MoneyError
from shared.wallet_address import WalletAddressError, to_url

logger = logging.getLogger(__name__)
IDEMPOTENT_WAIT_SECONDS = 20.0
INCOMING_PAYMENT_EXTRA_TTL = timedelta(minutes=30)
ABANDONED_AFTER = timedelta(seconds=120)


def fingerprint(request: SendPaymentRequest) -> str:
    # A field added later is left out while unset, so earlier payments keep their fingerprint.
    unset = {name for name in ("incoming_payment_url", "link_id") if getattr(request, name) is None}
    fields = request.model_dump(by_alias=True, exclude={"idempotency_key", *unset})
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _validated_urls(deps: Deps, request: SendPaymentRequest) -> tuple[str, str]:
    """Both wallet addresses as URLs, by the rule every service applies
    (`shared.wallet_address`): `$wallet.example/alice` means `https://wallet.example/alice`."""
    allow = deps.settings.allow_insecure_http
    urls = []
    for label, url in (
        ("senderWalletUrl", request.sender_wallet_url),
        ("receiverWalletUrl", request.receiver_wallet_url),
    ):
        try:
            urls.append(to_url(url, allow_http=allow))
        except WalletAddressError as exc:
            if exc.code == "insecure":
                raise ServiceError(
                    422,
                    f"{label}: {exc.address} uses plain HTTP; Open Payments requires https "
                    "(set ALLOW_INSECURE_HTTP=true only for a local sandbox)",
                ) from exc
            raise ServiceError(
                422, f"{label} is not a wallet address URL we can use: {exc.reason}"
            ) from exc
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
    receiver_url: str | None,
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


def request_quote(
    deps: Deps,
    sender: WalletAddress,
    incoming_payment: str,
    quote_token: StoredToken,
    debit: Amount | None,
    receive: Amount | None,
) -> Awaitable[tuple[StoredToken, Quote]]:
    """The quote at the sender for paying that incoming payment (and the quote token used)."""
    return with_shared_grant(
        deps,
        sender.auth_server,
        quote_access(),
        lambda token: deps.client.quote.create(
            sender.resource_server,
            token,
            wallet_address=sender.id,
            receiver=incoming_payment,
            debit_amount=debit,
            receive_amount=receive,
        ),
        resource_server=sender.resource_server,
        token=quote_token,
    )


async def _quote_and_grant(
    deps: Deps,
    sender: WalletAddress,
    incoming_payment: str,
    quote_token: StoredToken,
    debit: Amount | None,
    receive: Amount | None,
    interact: InteractRequest,
) -> tuple[StoredToken, Quote, PendingGrant]:
    """The quote (and the quote token used), and the outgoing-payment grant limited to its
    debitAmount.

    Fixed send: the debit is known up front, so both requests go together. Fixed receive: the
    grant has to wait for the quote to learn the debit.
    """
    create_quote = request_quote(deps, sender, incoming_payment, quote_token, debit, receive)
    if debit is None:
        quote_token, quote = await create_quote
        grant = await _outgoing_grant(deps, sender, incoming_payment, quote.debit_amount, interact)
        return quote_token, quote, grant
    results = await asyncio.gather(
        create_quote,
        _outgoing_grant(deps, sender, incoming_payment, debit, interact),
        return_exceptions=True,
    )
    quoted, granted = results
    if isinstance(quoted, BaseException) or isinstance(granted, BaseException):
        await _cancel_quietly(deps, granted if isinstance(granted, PendingGrant) else None)
        raise quoted if isinstance(quoted, BaseException) else granted  # type: ignore[misc]
    quote_token, quote = quoted
    if quote.debit_amount != debit:
        # Not a fixed-send quote after all: the grant must carry the quoted debit amount.
        await _cancel_quietly(deps, granted)
        granted = await _outgoing_grant(
            deps, sender, incoming_payment, quote.debit_amount, interact
        )
    return quote_token, quote, granted


async def _incoming_payment(
    deps: Deps,
    payment_id: str,
    request: SendPaymentRequest,
    receiver: WalletAddress,
    expires_at: datetime,
    earlier: PaymentRecord | None,
) -> tuple[str, StoredToken]:
    """The incoming payment at the receiver (URL, and the token that can read and complete it):
    the one an earlier failed attempt with the same idempotencyKey created, or a new one, which
    is recorded at once so that a failure later on can complete it (or a retry reuse it)."""
    if (
        earlier is not None
        and earlier.incoming_payment_url
        and earlier.incoming_token
        and earlier.receiver is not None
        and earlier.receiver.id == receiver.id
    ):
        return earlier.incoming_payment_url, earlier.incoming_token
    if request.incoming_payment_url:  # paying a money request: its incoming payment, as it is
        url, token = await pay_existing(deps, receiver, request.incoming_payment_url)
        await deps.store.update(
            payment_id,
            expect=Status.INITIATING,
            receiver=receiver.wire(),
            incoming_payment_url=url,
            incoming_token=token.dump(),
            incoming_is_request=1,
        )
        return url, token
    metadata = {"externalRef": external_ref(payment_id)}
    if request.description:
        metadata["description"] = request.description
    token, incoming = await with_shared_grant(
        deps,
        receiver.auth_server,
        incoming_access(receiver.id),
        lambda value: deps.client.incoming_payment.create(
            receiver.resource_server,
            value,
            wallet_address=receiver.id,
            expires_at=expires_at + INCOMING_PAYMENT_EXTRA_TTL,
            metadata=metadata,
        ),
        resource_server=receiver.resource_server,
    )
    await deps.store.update(
        payment_id,
        expect=Status.INITIATING,
        receiver=receiver.wire(),
        incoming_payment_url=incoming.id,
        incoming_token=token.dump(),
    )
    return incoming.id, token


async def _run(
    deps: Deps, payment_id: str, request: SendPaymentRequest, earlier: PaymentRecord | None
) -> dict[str, Any]:
    """The Open Payments calls; returns the columns to store."""
    check_maximum(deps.settings.max_payment_amount, request)  # before any wallet is asked
    named_link = await one_tap.known_link(deps, request)
    sender_url, receiver_url = _validated_urls(deps, request)
    sender, receiver = await asyncio.gather(
        _resolve(deps, sender_url, "sender"), _resolve(deps, receiver_url, "receiver")
    )
    link, fallback = one_tap.usable_link(named_link, sender)
    debit, receive = _amount(request, sender, receiver)
    now = utcnow()
    expires_at = now + timedelta(seconds=deps.settings.payment_expiry_seconds)

    grant: PendingGrant | None = None
    left: Amount | None = None
    try:
        (incoming_url, ip_token), quote_token = await asyncio.gather(
            _incoming_payment(deps, payment_id, request, receiver, expires_at, earlier),
            deps.caches.grant(
                sender.auth_server, quote_access(), resource_server=sender.resource_server
            ),
        )
        nonce = new_nonce() if deps.settings.public_url else None
        interact = _interact(deps, payment_id, nonce)
        if link is None:
            quote_token, quote, grant = await _quote_and_grant(
                deps, sender, incoming_url, quote_token, debit, receive, interact
            )
        else:
            # One tap: no grant at all when the quote fits what the allowance has left.
            quote_token, quote = await request_quote(
                deps, sender, incoming_url, quote_token, debit, receive
            )
            left = one_tap.left_after(link, quote.debit_amount)
            if left is None:
                fallback = FallbackReason.OVER_ALLOWANCE
                grant = await _outgoing_grant(
                    deps, sender, incoming_url, quote.debit_amount, interact
                )
    except GrantNotImmediate as exc:
        raise ServiceError(502, f"unexpected interactive grant: {exc}") from exc

    values: dict[str, Any] = {
        **quote_columns(sender, receiver, incoming_url, ip_token, quote, quote_token),
        "expires_at": expires_at,
        "initiation_failed_at": None,
        # Kept when it falls back too, so the chat's Confirm (authorize) answers with the view.
        "link_id": named_link.id if named_link else None,
        "fallback_reason": fallback.value if fallback else None,
    }
    if grant is None:
        assert left is not None
        values["allowance_remaining"] = left.to_wire()
    else:
        values.update(grant_columns(grant, nonce))
    return values


def quote_columns(
    sender: WalletAddress,
    receiver: WalletAddress,
    incoming_url: str,
    incoming_token: StoredToken,
    quote: Quote,
    quote_token: StoredToken,
) -> dict[str, Any]:
    """What a payment stores of its incoming payment and quote."""
    return {
        "sender": sender.wire(),
        "receiver": receiver.wire(),
        "debit_amount": quote.debit_amount.to_wire(),
        "receive_amount": quote.receive_amount.to_wire(),
        "incoming_payment_url": incoming_url,
        "incoming_token": incoming_token.dump(),
        "quote_url": quote.id,
        "quote_expires_at": quote.expires_at,
        "quote_token": quote_token.dump(),
    }


def grant_columns(grant: PendingGrant, nonce: str | None) -> dict[str, Any]:
    """What a payment (or a link) stores of the interactive grant it waits on."""
    wait = grant.continue_.wait or 0
    return {
        "confirmation_url": grant.interact.redirect,
        "continue_uri": grant.continue_.uri,
        "continue_token": grant.continue_.access_token.value,
        "continue_wait": wait,
        "next_poll_at": utcnow() + timedelta(seconds=wait),
        "finish_nonce": nonce,
        "as_finish_nonce": grant.interact.finish,
    }


async def forget(deps: Deps, record: PaymentRecord) -> None:
    """Drop an initiation nobody will finish: complete the incoming payment it created (if
    any), then delete the placeholder (only if it is still the same failed attempt)."""
    same_attempt = same("initiation_failed_at", record.initiation_failed_at)
    if await deps.store.delete_if(record.id, Status.INITIATING, where=same_attempt):
        await _forgotten(deps, record)


async def forget_abandoned(deps: Deps, failed_before: datetime, started_before: datetime) -> None:
    """Drop the initiations nobody will finish (failed before `failed_before`, or started
    before `started_before`), as `forget` drops one (the sweep's part)."""
    for record in await deps.store.delete_abandoned_initiations(failed_before, started_before):
        await _forgotten(deps, record)


async def _forgotten(deps: Deps, record: PaymentRecord) -> None:
    await complete_incoming(deps, record)
    logger.info("abandoned initiation forgotten", extra={"payment_id": record.id})


async def _take_over(deps: Deps, record: PaymentRecord) -> bool:
    """Win the right to retry a failed attempt (one retry at a time)."""
    assert record.initiation_failed_at is not None
    return await deps.store.update(
        record.id,
        expect=Status.INITIATING,
        where=Where("initiation_failed_at = $1", record.initiation_failed_at),
        initiation_failed_at=None,
        created_at=utcnow(),
    )


async def _existing(deps: Deps, key: str, print_: str) -> PaymentRecord | None:
    """The payment already holding `key`: initiated (waits for a concurrent twin), or a failed
    attempt this call takes over (still `initiating`), or None."""
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
        if record.initiation_failed_at is not None:
            if await _take_over(deps, record):
                return record
        elif utcnow() - record.created_at > ABANDONED_AFTER:
            # Its initiator died mid-way: start afresh.
            await forget(deps, record)
            return None
        if loop.time() > deadline:
            raise ServiceError(503, "a payment with this idempotencyKey is still being initiated")
        await asyncio.sleep(0.1)


def _retryable(exc: BaseException) -> bool:
    """A failure a retry may get past (the wallet failed or was unreachable)."""
    if isinstance(exc, ServiceError):
        return exc.status_code >= 500
    if isinstance(exc, OpenPaymentsHTTPError):
        return exc.status >= 500
    return isinstance(exc, OpenPaymentsError)


async def _failed(deps: Deps, payment_id: str, key: str | None, exc: BaseException) -> None:
    """After a failed attempt: keep what it created for a retry with the same key when one may
    succeed; otherwise complete its incoming payment and forget it."""
    if key and _retryable(exc):
        await deps.store.update(payment_id, expect=Status.INITIATING, initiation_failed_at=utcnow())
        return
    record = await deps.store.get(payment_id)
    if record is not None:
        await forget(deps, record)


def service_error(exc: BaseException) -> BaseException:
    """What the caller is told when an initiation failed: a ServiceError for what the wallets
    did (refused: 422; failed or unreachable: 502), else `exc` itself."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, GrantNotImmediate):
        return ServiceError(502, f"unexpected interactive grant: {exc}")
    if isinstance(exc, OpenPaymentsHTTPError):
        logger.warning("payment initiation refused", extra={"error": str(exc)})
        reason = exc.description or exc.code or f"HTTP {exc.status}"
        if 400 <= exc.status < 500:
            return ServiceError(422, f"the wallet refused the payment: {reason}")
        return ServiceError(502, f"the wallet provider failed (HTTP {exc.status})")
    if isinstance(exc, OpenPaymentsError):
        logger.warning("payment initiation failed", extra={"error": str(exc)})
        return ServiceError(502, "a wallet provider could not be reached or misbehaved")
    return exc


async def send_payment(deps: Deps, request: SendPaymentRequest) -> tuple[PaymentRecord, bool]:
    """Start a payment; returns it and whether it was created by this call."""
    print_ = fingerprint(request)
    key = request.idempotency_key
    payment_id = uuid.uuid4().hex
    earlier: PaymentRecord | None = None
    while True:
        if key:
            existing = await _existing(deps, key, print_)
            if existing is not None and existing.status != Status.INITIATING:
                return existing, False
            if existing is not None:  # a failed attempt taken over: retry it
                payment_id, earlier = existing.id, existing
                break
        try:
            now = utcnow()
            await deps.store.insert(
                id=payment_id,
                idempotency_key=key,
                fingerprint=print_,
                description=request.description,
                expires_at=now + timedelta(seconds=deps.settings.payment_expiry_seconds),
            )
            break
        except DuplicateKey:
            continue  # a concurrent twin won the key: wait for its result
    try:
        with INITIATION_SECONDS.time():
            values = await _run(deps, payment_id, request, earlier)
    except BaseException as exc:
        await _failed(deps, payment_id, key, exc)
        error = service_error(exc)
        if error is exc:
            raise
        raise error from exc
    await transition(
        deps.store,
        payment_id,
        Status.INITIATING,
        Status.AWAITING_APPROVAL,
        "grant requested" if values.get("continue_uri") else "quoted within a linked allowance",
        **values,
    )
    record = await deps.store.get(payment_id)
    assert record is not None
    logger.info(
        "payment initiated",
        extra={"payment_id": payment_id, "debit": str(record.debit_amount)},
    )
    return record, True
