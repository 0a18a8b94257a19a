"""Moving a payment forward, one step per call, safely under concurrency and restarts.

awaiting_approval ─continue─► approved ─create outgoing payment─► sending ─► completed
        │ └─► rejected / expired / failed(cancelled)        └─► failed     └─► failed

- Continuation: claimed in the store (one poller at a time, never before `wait`); the access
  token is stored the moment it arrives, because the server hands it out only once.
- Outgoing payment: claimed with a conditional UPDATE, so exactly one caller creates it.
- Settlement: judged by the incoming payment at the receiver reaching the quoted receive amount
  (Rafiki's `sentAmount` excludes fees, so `sentAmount == debitAmount` never happens), or by
  the outgoing payment reporting `failed`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from op_api.client import (
    OpenPaymentsError,
    OpenPaymentsHTTPError,
    OpenPaymentsTransportError,
    RequestDenied,
    TooFast,
)
from op_api.client.models import Grant, OutgoingPayment
from op_api.deps import Deps
from op_api.records import PaymentRecord, Status, StoredToken
from op_api.store import utcnow
from op_api.tokens import with_token
from shared.money import Amount

logger = logging.getLogger(__name__)
UNCERTAIN_RETRY_WINDOW = timedelta(seconds=60)
RETRY_FIRST_PAUSE_SECONDS = 1.0
RETRY_MAX_PAUSE_SECONDS = 30.0


def _backoff(record: PaymentRecord) -> dict[str, Any]:
    """The next outgoing-payment attempt, after a pause that doubles each time: a wallet that
    keeps failing is not hammered at the pace of /confirm-payment calls and worker sweeps.
    (The schedule lives in the row, not in a retry loop, so it survives restarts and replicas.)"""
    attempts = record.op_attempts + 1
    pause = min(RETRY_MAX_PAUSE_SECONDS, RETRY_FIRST_PAUSE_SECONDS * 2 ** (attempts - 1))
    return {"op_attempts": attempts, "op_next_attempt_at": utcnow() + timedelta(seconds=pause)}


def _attempt_due(record: PaymentRecord) -> bool:
    return record.op_next_attempt_at is None or utcnow() >= record.op_next_attempt_at


def stale_after(deps: Deps) -> timedelta:
    """A claim older than this belongs to a caller that died (or hangs): others may proceed."""
    return timedelta(seconds=deps.settings.claim_stale_seconds)


def _log(record: PaymentRecord, message: str, **extra: object) -> None:
    logger.info(message, extra={"payment_id": record.id, **extra})


async def _cancel_grant(deps: Deps, record: PaymentRecord) -> None:
    if not record.continue_uri or not record.continue_token:
        return
    try:
        await deps.client.grant.cancel(record.continue_uri, record.continue_token)
    except OpenPaymentsError as exc:
        logger.warning(
            "grant cancellation failed", extra={"payment_id": record.id, "error": str(exc)}
        )


async def expire_if_due(deps: Deps, record: PaymentRecord) -> bool:
    """Expire an unapproved payment past its time (after one last look at the grant)."""
    if record.status != Status.AWAITING_APPROVAL or utcnow() < record.expires_at:
        return False
    # The user may have approved just before the deadline without anyone polling since.
    await continue_grant(deps, record)
    if await deps.store.update(
        record.id,
        expect=Status.AWAITING_APPROVAL,
        status=Status.EXPIRED.value,
        failure_reason="not approved in time",
    ):
        _log(record, "payment expired; cancelling its grant")
        await _cancel_grant(deps, record)
    return True


async def store_grant(deps: Deps, record: PaymentRecord, grant: Grant) -> bool:
    """Persist an approved grant's access token at once (it is handed out only once)."""
    token = StoredToken.from_access_token(grant.access_token, utcnow())
    values: dict[str, Any] = {
        "status": Status.APPROVED.value,
        "outgoing_token": token.dump(),
        "continue_claimed_at": None,
    }
    if grant.continue_ is not None:
        values["continue_uri"] = grant.continue_.uri
        values["continue_token"] = grant.continue_.access_token.value
    stored = await deps.store.update(record.id, expect=Status.AWAITING_APPROVAL, **values)
    if stored:
        _log(record, "grant approved")
    return stored


async def continue_grant(deps: Deps, record: PaymentRecord) -> None:
    """One continuation poll, if `wait` allows and nobody else is polling."""
    if deps.settings.public_url or not record.continue_uri or not record.continue_token:
        return  # finish-redirect grants cannot be polled; the redirect continues them
    if not await deps.store.claim_continuation(record.id, utcnow() - stale_after(deps)):
        return
    wait = record.continue_wait or 0
    release: dict[str, Any] = {"continue_claimed_at": None}
    try:
        answer = await deps.client.grant.continue_(record.continue_uri, record.continue_token)
    except TooFast:
        release["next_poll_at"] = utcnow() + timedelta(seconds=max(wait, 1))
    except RequestDenied:
        if record.continue_claimed_at is not None:
            # The previous poller died mid-request: the token it may have received is lost, so
            # this denial may follow an approval. Say so, and make sure nothing can be paid.
            status, reason = Status.FAILED, "approval could not be confirmed; please try again"
            await _cancel_grant(deps, record)
        else:
            status, reason = Status.REJECTED, "rejected at the wallet"
        if await deps.store.update(
            record.id,
            expect=Status.AWAITING_APPROVAL,
            status=status.value,
            failure_reason=reason,
            continue_claimed_at=None,
        ):
            _log(record, "grant denied", status=status.value)
        return
    except OpenPaymentsError as exc:
        logger.warning("continuation failed", extra={"payment_id": record.id, "error": str(exc)})
        release["next_poll_at"] = utcnow() + timedelta(seconds=max(wait, 1))
    else:
        if isinstance(answer, Grant):
            await store_grant(deps, record, answer)
            return
        wait = answer.continue_.wait or wait
        release.update(
            next_poll_at=utcnow() + timedelta(seconds=wait),
            continue_wait=wait,
            continue_uri=answer.continue_.uri,
            continue_token=answer.continue_.access_token.value,
        )
    await deps.store.update(record.id, expect=Status.AWAITING_APPROVAL, **release)


async def _requote_if_expired(deps: Deps, record: PaymentRecord) -> str:
    """The quote to pay; a fixed-send quote that expired is renewed with the same debit amount."""
    assert record.quote_url is not None
    assert record.quote_token is not None
    expires = record.quote_expires_at
    if expires is None or expires > utcnow() + timedelta(seconds=5):
        return record.quote_url
    assert record.sender
    assert record.debit_amount
    assert record.incoming_payment_url
    sender, debit, receiver = record.sender, record.debit_amount, record.incoming_payment_url
    quote = await with_token(
        deps,
        record.id,
        "quote_token",
        lambda token: deps.client.quote.create(
            sender.resource_server,
            token,
            wallet_address=sender.id,
            receiver=receiver,
            debit_amount=debit,
        ),
    )
    if quote.debit_amount != debit:
        raise ValueError("the renewed quote no longer matches the approved debit amount")
    await deps.store.update(
        record.id,
        quote_url=quote.id,
        quote_expires_at=quote.expires_at,
        receive_amount=quote.receive_amount.to_wire(),
    )
    _log(record, "expired quote renewed")
    return quote.id


async def create_outgoing_payment(deps: Deps, record: PaymentRecord) -> None:
    """Exactly once per payment: only the caller that wins the claim sends the POST."""
    if not await deps.store.claim_outgoing_payment(record.id):
        return
    assert record.sender is not None
    assert record.outgoing_token is not None
    sender = record.sender
    try:
        quote_id = await _requote_if_expired(deps, record)
    except (OpenPaymentsError, ValueError) as exc:
        # Nothing was paid: a refusal ends the payment; anything else is retried later.
        if isinstance(exc, OpenPaymentsHTTPError | ValueError):
            await deps.store.update(
                record.id,
                expect=Status.APPROVED,
                status=Status.FAILED.value,
                failure_reason=f"the expired quote could not be renewed: {exc}",
            )
        else:
            await deps.store.update(record.id, expect=Status.APPROVED, op_claimed_at=None)
        _log(record, "quote renewal failed", error=str(exc))
        return
    try:
        outgoing: OutgoingPayment = await with_token(
            deps,
            record.id,
            "outgoing_token",
            lambda token: deps.client.outgoing_payment.create(
                sender.resource_server,
                token,
                wallet_address=sender.id,
                quote_id=quote_id,
                metadata={"externalRef": f"paguito:{record.id}"},
            ),
        )
    except OpenPaymentsHTTPError as exc:
        if exc.status >= 500:
            await _retry_later(deps, record, exc)
        elif record.op_uncertain_since is not None:
            # An earlier attempt may have created it: the wallet refuses a second one.
            await _watch_receiver(deps, record, exc)
        else:
            # Refused (e.g. insufficient funds, limit): nothing was created.
            reason = exc.description or exc.code or f"HTTP {exc.status}"
            await deps.store.update(
                record.id,
                expect=Status.APPROVED,
                status=Status.FAILED.value,
                failure_reason=f"outgoing payment refused: {reason}",
            )
            _log(record, "outgoing payment refused", error=str(exc))
    except OpenPaymentsTransportError as exc:
        if exc.maybe_delivered:
            await _retry_later(deps, record, exc)
        else:
            # Never sent (no connection): simply try again later.
            await deps.store.update(
                record.id, expect=Status.APPROVED, op_claimed_at=None, **_backoff(record)
            )
            _log(record, "wallet unreachable; outgoing payment will be retried", error=str(exc))
    except OpenPaymentsError as exc:  # e.g. an unreadable answer: it may have been created
        await _retry_later(deps, record, exc)
    else:
        await deps.store.update(
            record.id,
            expect=Status.APPROVED,
            status=Status.SENDING.value,
            outgoing_payment_url=outgoing.id,
            sent_amount=outgoing.sent_amount.to_wire(),
            sending_since=utcnow(),
        )
        _log(record, "outgoing payment created")


async def _retry_later(deps: Deps, record: PaymentRecord, exc: Exception) -> None:
    """Outcome unknown (5xx, timeout after sending). Retrying is safe: the wallet refuses a
    second outgoing payment for the same quote and grant limit — and after this, such a refusal
    is not read as a failure. After a while, stop and judge by the receiver."""
    since = record.op_uncertain_since
    if since is not None and utcnow() - since > UNCERTAIN_RETRY_WINDOW:
        await _watch_receiver(deps, record, exc)
        return
    await deps.store.update(
        record.id,
        expect=Status.APPROVED,
        op_claimed_at=None,
        op_uncertain_since=since or utcnow(),
        **_backoff(record),
    )
    _log(record, "outgoing payment outcome unknown; will retry", error=str(exc))


async def _watch_receiver(deps: Deps, record: PaymentRecord, exc: Exception) -> None:
    """It may have been created: follow the incoming payment at the receiver from now on."""
    await deps.store.update(
        record.id, expect=Status.APPROVED, status=Status.SENDING.value, sending_since=utcnow()
    )
    _log(record, "outgoing payment outcome unknown; watching the receiver", error=str(exc))


async def recover_stale_claim(deps: Deps, record: PaymentRecord) -> None:
    """An approved payment whose creator died mid-POST: its outcome is unknown, so release the
    claim for a (safe) retry, remembering that a refusal may now mean it was created."""
    claimed = record.op_claimed_at
    if claimed is None or utcnow() - claimed < stale_after(deps):
        return
    if await deps.store.update(
        record.id,
        expect=Status.APPROVED,
        where=deps.store.table.c.op_claimed_at == claimed,
        op_claimed_at=None,
        op_uncertain_since=record.op_uncertain_since or utcnow(),
    ):
        _log(record, "outgoing payment claim went stale; retrying")


def _same_asset(a: Amount, b: Amount | None) -> bool:
    return b is not None and (a.asset_code, a.asset_scale) == (b.asset_code, b.asset_scale)


def _reached(received: Amount, target: Amount | None) -> bool:
    return target is not None and received.minor >= target.minor


async def check_settlement(deps: Deps, record: PaymentRecord) -> None:
    assert record.incoming_token is not None
    assert record.incoming_payment_url is not None
    incoming_url = record.incoming_payment_url
    values: dict[str, Any] = {}
    outgoing = None
    try:
        if record.outgoing_payment_url and record.outgoing_token:
            op_url = record.outgoing_payment_url
            outgoing = await with_token(
                deps,
                record.id,
                "outgoing_token",
                lambda token: deps.client.outgoing_payment.get(op_url, token),
            )
            values["sent_amount"] = outgoing.sent_amount.to_wire()
        incoming = await with_token(
            deps,
            record.id,
            "incoming_token",
            lambda token: deps.client.incoming_payment.get(incoming_url, token),
        )
    except OpenPaymentsError as exc:
        logger.warning(
            "settlement check failed", extra={"payment_id": record.id, "error": str(exc)}
        )
        incoming = None
    if incoming is not None:
        values["received_amount"] = incoming.received_amount.to_wire()
        if incoming.completed or _reached(incoming.received_amount, record.receive_amount):
            if await deps.store.update(
                record.id, expect=Status.SENDING, status=Status.COMPLETED.value, **values
            ):
                _log(record, "payment completed")
                await _complete_incoming(deps, record)
            return
    if (
        incoming is None
        and outgoing is not None
        and _same_asset(outgoing.sent_amount, record.receive_amount)
        and _reached(outgoing.sent_amount, record.receive_amount)
    ):
        # Receiver unreadable: Rafiki's sentAmount excludes fees, so in one asset it reaches
        # the quoted receive amount exactly when the payment has settled.
        if await deps.store.update(
            record.id, expect=Status.SENDING, status=Status.COMPLETED.value, **values
        ):
            _log(record, "payment completed (judged by sentAmount)")
        return
    if outgoing is not None and outgoing.failed:
        reason = _failure_reason(outgoing)
        if await deps.store.update(
            record.id,
            expect=Status.SENDING,
            status=Status.FAILED.value,
            failure_reason=reason,
            **values,
        ):
            _log(record, "payment failed", reason=reason)
        return
    since = record.sending_since or record.updated_at
    if utcnow() - since > timedelta(seconds=deps.settings.settlement_timeout_seconds):
        await deps.store.update(
            record.id,
            expect=Status.SENDING,
            status=Status.FAILED.value,
            failure_reason="not settled in time; check the sender's wallet",
            **values,
        )
        return
    if values:
        await deps.store.update(record.id, expect=Status.SENDING, **values)


def _failure_reason(outgoing: OutgoingPayment) -> str:
    """Open Payments has no failure-reason field; providers may put one in extra fields."""
    extra = outgoing.model_extra or {}
    for key in ("error", "failureReason", "reason", "stateReason"):
        if isinstance(extra.get(key), str):
            return f"payment failed: {extra[key]}"
    if outgoing.metadata and isinstance(outgoing.metadata.get("failureReason"), str):
        return f"payment failed: {outgoing.metadata['failureReason']}"
    if outgoing.sent_amount.minor == 0:
        return "the sender's wallet could not send the payment (e.g. insufficient funds)"
    return "the payment failed part-way at the sender's wallet"


async def _complete_incoming(deps: Deps, record: PaymentRecord) -> None:
    """Close the incoming payment so nothing more can be paid into it (best effort)."""
    assert record.incoming_token is not None
    assert record.incoming_payment_url is not None
    url = record.incoming_payment_url
    try:
        await with_token(
            deps,
            record.id,
            "incoming_token",
            lambda token: deps.client.incoming_payment.complete(url, token),
        )
    except OpenPaymentsError as exc:
        logger.info(
            "incoming payment not completed", extra={"payment_id": record.id, "error": str(exc)}
        )


async def advance(deps: Deps, payment_id: str) -> None:
    """Take every step that is due for one payment (each guarded by its own claim)."""
    record = await deps.store.get(payment_id)
    if record is None:
        return
    if record.status == Status.AWAITING_APPROVAL:
        if await expire_if_due(deps, record):
            return
        await continue_grant(deps, record)
        record = await deps.store.get(payment_id)
        assert record is not None
    if record.status == Status.APPROVED:
        if record.op_claimed_at is None:
            if _attempt_due(record):
                await create_outgoing_payment(deps, record)
        else:
            await recover_stale_claim(deps, record)
        record = await deps.store.get(payment_id)
        assert record is not None
    if record.status == Status.SENDING:
        await check_settlement(deps, record)
