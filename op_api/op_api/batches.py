"""POST /send-batch: several payments from one sender, approved at the wallet once.

1. Every payment is quoted as one payment is (`initiation`): an incoming payment at its receiver,
   a quote at the sender — concurrently. A payment that cannot be quoted refuses the whole batch
   (naming it) before anything is asked of the user; what was created is completed and forgotten.
2. ONE interactive outgoing-payment grant is requested at the sender, with `limits.debitAmount` =
   the sum of the quotes' debits and no receiver: one consent covers them all. The grant lives in
   the row of the batch's first payment, the lead; the others follow it (`grant_lead`, see
   `steps.follow_lead`): approved → each is approved with the same token; rejected, expired or
   cancelled → each ends the same way.
3. A wallet that refuses such a grant (4xx) gets one grant per payment instead, as
   /send-payment asks for: one approval each (`sharedGrant` false).

Each payment then lives its own lifecycle (`lifecycle`, `steps`): its own outgoing payment,
claimed exactly once and found again by its `externalRef` after a crash, its own settlement.
The grant's limit is their total, so a re-quote (of an expired quote) must keep its debit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from op_api import steps
from op_api.access import quote_access
from op_api.client import OpenPaymentsHTTPError
from op_api.client.interaction import new_nonce
from op_api.client.models import PendingGrant, WalletAddress
from op_api.deps import Deps, ServiceError
from op_api.initiation import (
    ABANDONED_AFTER,
    IDEMPOTENT_WAIT_SECONDS,
    _amount,
    _cancel_quietly,
    _incoming_payment,
    _interact,
    _outgoing_grant,
    _resolve,
    _validated_urls,
    forget,
    grant_columns,
    quote_columns,
    request_quote,
    service_error,
)
from op_api.lifecycle import Status, transition
from op_api.maximum import check_maximum
from op_api.records import PaymentRecord, StoredToken
from op_api.store import DuplicateKey, utcnow
from shared.contracts import SendBatchRequest, SendPaymentRequest
from shared.money import Amount

logger = logging.getLogger(__name__)


def fingerprint(request: SendBatchRequest) -> str:
    fields = request.model_dump(by_alias=True, exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _singles(request: SendBatchRequest) -> list[SendPaymentRequest]:
    """Each payment of the batch as /send-payment would take it."""
    return [
        SendPaymentRequest(
            sender_wallet_url=request.sender_wallet_url,
            receiver_wallet_url=item.receiver_wallet_url,
            amount=item.amount,
            amount_type=item.amount_type,
            description=item.description,
        )
        for item in request.payments
    ]


def _named(index: int, exc: BaseException) -> BaseException:
    """A payment's failure, as the batch's caller is told it (which payment, and why)."""
    error = service_error(exc)
    if isinstance(error, ServiceError):
        return ServiceError(error.status_code, f"payments[{index}]: {error.detail}")
    return error


async def _quote_one(
    deps: Deps,
    payment_id: str,
    single: SendPaymentRequest,
    sender: WalletAddress,
    quote_token: StoredToken,
    expires_at: datetime,
) -> dict[str, Any]:
    """One payment's incoming payment and quote: the columns it stores."""
    _, receiver_url = _validated_urls(deps, single)
    receiver = await _resolve(deps, receiver_url, "receiver")
    debit, receive = _amount(single, sender, receiver)
    incoming_url, incoming_token = await _incoming_payment(
        deps, payment_id, single, receiver, expires_at, None
    )
    quote_token, quote = await request_quote(
        deps, sender, incoming_url, quote_token, debit, receive
    )
    return quote_columns(sender, receiver, incoming_url, incoming_token, quote, quote_token)


async def _quote_all(
    deps: Deps, ids: list[str], request: SendBatchRequest, expires_at: datetime
) -> tuple[WalletAddress, list[dict[str, Any]]]:
    singles = _singles(request)
    for index, single in enumerate(singles):  # before any wallet is asked
        try:
            check_maximum(deps.settings.max_payment_amount, single)
            _validated_urls(deps, single)
        except ServiceError as exc:
            raise _named(index, exc) from exc
    sender_url, _ = _validated_urls(deps, singles[0])
    sender = await _resolve(deps, sender_url, "sender")
    quote_token = await deps.caches.grant(
        sender.auth_server, quote_access(), resource_server=sender.resource_server
    )
    results = await asyncio.gather(
        *(
            _quote_one(deps, payment_id, single, sender, quote_token, expires_at)
            for payment_id, single in zip(ids, singles, strict=True)
        ),
        return_exceptions=True,
    )
    for index, result in enumerate(results):
        if isinstance(result, BaseException):
            raise _named(index, result) from result
    return sender, [r for r in results if isinstance(r, dict)]


def _total(quoted: list[dict[str, Any]]) -> Amount:
    debits = [Amount.model_validate(q["debit_amount"]) for q in quoted]
    first = debits[0]  # every debit is in the sender's asset
    return Amount(
        value=str(sum(d.minor for d in debits)),
        asset_code=first.asset_code,
        asset_scale=first.asset_scale,
    )


async def _grants(
    deps: Deps, ids: list[str], sender: WalletAddress, quoted: list[dict[str, Any]]
) -> tuple[bool, list[dict[str, Any]]]:
    """(shared?, the grant columns of each payment): one grant for the total, held by the
    first payment; or, when the wallet refuses that, one grant each."""
    nonce = new_nonce() if deps.settings.public_url else None
    try:
        grant = await _outgoing_grant(
            deps, sender, None, _total(quoted), _interact(deps, ids[0], nonce)
        )
    except OpenPaymentsHTTPError as exc:
        if not 400 <= exc.status < 500:
            raise
        logger.info("one grant for the batch refused: one grant each", extra={"error": str(exc)})
    else:
        lead = grant_columns(grant, nonce)
        follower = {"confirmation_url": grant.interact.redirect, "grant_lead": ids[0]}
        return True, [lead] + [follower] * (len(ids) - 1)
    nonces = [new_nonce() if deps.settings.public_url else None for _ in ids]
    results = await asyncio.gather(
        *(
            _outgoing_grant(
                deps,
                sender,
                q["incoming_payment_url"],
                Amount.model_validate(q["debit_amount"]),
                _interact(deps, payment_id, n),
            )
            for payment_id, q, n in zip(ids, quoted, nonces, strict=True)
        ),
        return_exceptions=True,
    )
    failed = next((r for r in results if isinstance(r, BaseException)), None)
    if failed is not None:
        for result in results:
            await _cancel_quietly(deps, result if isinstance(result, PendingGrant) else None)
        raise failed
    grants = [r for r in results if isinstance(r, PendingGrant)]
    return False, [grant_columns(g, n) for g, n in zip(grants, nonces, strict=True)]


async def _forget(deps: Deps, batch_id: str, ids: list[str]) -> None:
    """Drop a batch whose initiation failed: its payments (completing their incoming payments)
    and the batch."""
    for record in await deps.store.get_many(ids):
        await forget(deps, record)
    await deps.store.delete_batch(batch_id)


async def _existing(deps: Deps, key: str, print_: str) -> dict[str, Any] | None:
    """The batch already holding `key` (waiting for a concurrent twin to finish), or None (an
    initiation that died long ago is forgotten)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IDEMPOTENT_WAIT_SECONDS
    while True:
        batch = await deps.store.get_batch_by_key(key)
        if batch is None:
            return None
        if batch["fingerprint"] != print_:
            raise ServiceError(409, "idempotencyKey was already used for a different batch")
        if batch["shared_grant"] is not None:
            return batch
        if utcnow() - batch["created_at"] > ABANDONED_AFTER:
            await _forget(deps, batch["id"], list(batch["payment_ids"]))
            return None
        if loop.time() > deadline:
            raise ServiceError(503, "a batch with this idempotencyKey is still being initiated")
        await asyncio.sleep(0.1)


async def send_batch(deps: Deps, request: SendBatchRequest) -> tuple[dict[str, Any], bool]:
    """Start a batch; returns its row and whether this call created it."""
    print_, key = fingerprint(request), request.idempotency_key
    batch_id = uuid.uuid4().hex
    ids = [uuid.uuid4().hex for _ in request.payments]
    while True:
        if key and (existing := await _existing(deps, key, print_)) is not None:
            return existing, False
        try:
            await deps.store.insert_batch(
                id=batch_id, idempotency_key=key, fingerprint=print_, payment_ids=ids
            )
            break
        except DuplicateKey:
            continue  # a concurrent twin won the key: wait for its result
    expires_at = utcnow() + timedelta(seconds=deps.settings.payment_expiry_seconds)
    for payment_id, item in zip(ids, request.payments, strict=True):
        await deps.store.insert(
            id=payment_id,
            fingerprint=print_,
            description=item.description,
            expires_at=expires_at,
            batch_id=batch_id,
        )
    try:
        sender, quoted = await _quote_all(deps, ids, request, expires_at)
        shared, grants = await _grants(deps, ids, sender, quoted)
    except BaseException as exc:
        await _forget(deps, batch_id, ids)
        error = service_error(exc)
        if error is exc:
            raise
        raise error from exc
    # Followers first: a lead awaiting approval never has a follower still initiating.
    for index in [*range(1, len(ids)), 0]:
        await transition(
            deps.store,
            ids[index],
            Status.INITIATING,
            Status.AWAITING_APPROVAL,
            "grant requested (one for the batch)" if shared else "grant requested",
            **quoted[index],
            **grants[index],
        )
    await deps.store.update_batch(
        batch_id, shared_grant=int(shared), debit_amount=_total(quoted).to_wire()
    )
    batch = await deps.store.get_batch(batch_id)
    assert batch is not None
    logger.info(
        "batch initiated",
        extra={"batch_id": batch_id, "payments": len(ids), "shared_grant": shared},
    )
    return batch, True


async def members(deps: Deps, batch: dict[str, Any]) -> list[PaymentRecord]:
    """The batch's payments, in the order they were asked for."""
    found = {r.id: r for r in await deps.store.get_many(list(batch["payment_ids"]))}
    return [found[i] for i in batch["payment_ids"] if i in found]


async def cancel(deps: Deps, batch: dict[str, Any]) -> None:
    """Cancel what is not sent yet: the lead first (cancelling the shared grant ends the payments
    waiting on it), then each payment still cancellable."""
    for record in await members(deps, batch):
        current = await deps.store.get(record.id)
        if current is not None:
            await steps.cancel(deps, current)
