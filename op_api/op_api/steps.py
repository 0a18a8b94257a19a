"""The steps that move a payment forward, one per call, safely under concurrency and restarts.

Which moves are legal is `lifecycle`'s business (`python -m op_api.lifecycle` draws them); this
module decides *when* to take one, and talks to the wallets:

- Continuation: claimed in the store (one poller at a time, never before `wait`); the access
  token is stored the moment it arrives, because the server hands it out only once.
- Outgoing payment: claimed with a conditional UPDATE, so exactly one caller creates it. When
  the outcome of that POST is unknown, the payment is found again by listing the sender's
  outgoing payments and matching the `externalRef` op_api put in its metadata.
- Settlement: judged by the incoming payment at the receiver (`completed`, or `receivedAmount`
  reaching the quoted receive amount), never by `sentAmount`, whose meaning (with or without
  fees) differs between providers; or by the outgoing payment reporting `failed`. Checks back
  off while a payment takes long to settle.
- A payment that ends without paying completes its incoming payment, so nothing is left open
  at the receiver.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from op_api.access import incoming_access
from op_api.caches import GrantNotImmediate
from op_api.client import (
    Forbidden,
    OpenPaymentsError,
    OpenPaymentsHTTPError,
    OpenPaymentsTransportError,
    RequestDenied,
    TooFast,
    Unauthorized,
)
from op_api.client.models import Grant, OutgoingPayment, OutgoingPaymentPage
from op_api.client.resources.paging import Pagination
from op_api.deps import Deps
from op_api.lifecycle import Status, transition
from op_api.link_tokens import LinkUnusable
from op_api.records import PaymentRecord, StoredToken
from op_api.store import Where, utcnow
from op_api.tokens import with_shared_grant, with_token
from shared.contracts import FallbackReason
from shared.money import Amount

logger = logging.getLogger(__name__)
UNCERTAIN_RETRY_WINDOW = timedelta(seconds=60)
RETRY_FIRST_PAUSE_SECONDS = 1.0
RETRY_MAX_PAUSE_SECONDS = 30.0
SETTLEMENT_FIRST_PAUSE_SECONDS = 0.25  # a wallet settling in under a second is seen at once
SETTLEMENT_MAX_PAUSE_SECONDS = 15.0
LOOKUP_PAGES = 5  # outgoing payments listed (100 a page) when looking for a lost one
UNPAID_ENDS = frozenset({Status.REJECTED, Status.EXPIRED, Status.FAILED})


def external_ref(payment_id: str) -> str:
    """The `externalRef` op_api puts in the metadata of what it creates at the wallets."""
    return f"paguito:{payment_id}"


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


async def _revoke_outgoing_token(deps: Deps, record: PaymentRecord) -> None:
    token = record.outgoing_token
    if token is None:
        return
    try:
        await deps.client.token.revoke(token.manage, token.value)
    except OpenPaymentsError as exc:
        logger.warning(
            "token revocation failed", extra={"payment_id": record.id, "error": str(exc)}
        )


async def end_unpaid(
    deps: Deps,
    record: PaymentRecord,
    source: Status,
    target: Status,
    reason: str,
    *,
    where: Where | None = None,
    **values: Any,
) -> bool:
    """End a payment that paid nothing (rejected, expired, failed): the move, then the
    incoming payment at the receiver is completed. True if this call made the move."""
    assert target in UNPAID_ENDS
    moved = await transition(
        deps.store, record.id, source, target, reason, where=where, failure_reason=reason, **values
    )
    if moved:
        if record.link_id is not None:
            await deps.links.release(record.id)  # what it held of a link's allowance
        await complete_incoming(deps, record)
        await pull_followers(deps, record)
    return moved


async def complete_incoming(deps: Deps, record: PaymentRecord) -> None:
    """Close the payment's incoming payment so nothing more can be paid into it (best effort;
    op_api holds `complete` access). Left open, it would wait at the receiver until it expires.
    Uses the token held in `record` (the row may be gone already), or a fresh shared grant when
    that token is refused."""
    if record.incoming_payment_url is None or record.receiver is None:
        return
    if record.incoming_is_request:
        return  # a money request's incoming payment outlives one attempt to pay it
    url, receiver, held = record.incoming_payment_url, record.receiver, record.incoming_token

    async def complete(token: str) -> None:
        await deps.client.incoming_payment.complete(url, token)

    try:
        if held is not None and not held.expired(utcnow()):
            try:
                return await complete(held.value)
            except (Unauthorized, Forbidden):
                pass  # revoked, or replaced meanwhile: a fresh shared grant below
        await with_shared_grant(
            deps,
            receiver.auth_server,
            incoming_access(receiver.id),
            complete,
            resource_server=receiver.resource_server,
        )
    except (OpenPaymentsError, GrantNotImmediate) as exc:
        logger.info(
            "incoming payment not completed", extra={"payment_id": record.id, "error": str(exc)}
        )


# ------------------------------------------------------------ batches under one grant


async def follow_lead(deps: Deps, record: PaymentRecord) -> bool:
    """A batch payment awaiting the grant its lead holds (`grant_lead`) takes the lead's
    answer: approved → approved with the same token; rejected / expired / failed before
    approval → the same end. True if this ended the payment unpaid."""
    if record.status != Status.AWAITING_APPROVAL or record.grant_lead is None:
        return False
    lead = await deps.store.get(record.grant_lead)
    if lead is not None and lead.outgoing_token is not None:  # the grant was approved
        await transition(
            deps.store,
            record.id,
            Status.AWAITING_APPROVAL,
            Status.APPROVED,
            "grant approved (one grant for the batch)",
            outgoing_token=lead.outgoing_token.dump(),
        )
        return False
    if lead is not None and lead.status in {Status.INITIATING, Status.AWAITING_APPROVAL}:
        return False  # still waiting for the user
    if lead is None:
        target, reason = Status.FAILED, "the batch's grant was lost; please try again"
    else:
        target = lead.status if lead.status in UNPAID_ENDS else Status.FAILED
        reason = lead.failure_reason or lead.status_reason or "the batch's grant ended"
    return await end_unpaid(deps, record, Status.AWAITING_APPROVAL, target, reason)


async def pull_followers(deps: Deps, record: PaymentRecord) -> None:
    """After the lead of a batch moved: its followers take the answer now, not at the next
    sweep (their long polls wake with it)."""
    if record.batch_id is None or record.grant_lead is not None:
        return
    for follower in await deps.store.followers(record.id):
        await follow_lead(deps, follower)


async def shares_grant(deps: Deps, record: PaymentRecord) -> bool:
    """Whether other payments are paid with this payment's grant and token (a batch's)."""
    if record.grant_lead is not None:
        return True
    return record.batch_id is not None and bool(await deps.store.followers(record.id))


# ------------------------------------------------------------ approval


async def expire_if_due(deps: Deps, record: PaymentRecord) -> bool:
    """Expire an unapproved payment past its time (after one last look at the grant). A
    batch payment under its lead's grant follows the lead instead (True if that ended it)."""
    if record.grant_lead is not None:
        return await follow_lead(deps, record)
    if record.status != Status.AWAITING_APPROVAL or utcnow() < record.expires_at:
        return False
    # The user may have approved just before the deadline without anyone polling since.
    await continue_grant(deps, record)
    if await end_unpaid(
        deps, record, Status.AWAITING_APPROVAL, Status.EXPIRED, "not approved in time"
    ):
        await _cancel_grant(deps, record)
    return True


async def cancel(deps: Deps, record: PaymentRecord) -> bool:
    """Cancel a payment not yet sent (status `failed`, reason `cancelled`); True if it was.

    Awaiting approval: the grant is cancelled. Approved: winning the outgoing-payment claim
    guarantees no outgoing payment will be created, then the token is revoked."""
    if record.status == Status.AWAITING_APPROVAL:
        if not await end_unpaid(deps, record, Status.AWAITING_APPROVAL, Status.FAILED, "cancelled"):
            return False
        await _cancel_grant(deps, record)
    elif record.status == Status.APPROVED and await deps.store.claim_outgoing_payment(record.id):
        if not await end_unpaid(deps, record, Status.APPROVED, Status.FAILED, "cancelled"):
            return False
        if await shares_grant(deps, record):
            pass  # the batch's other payments still use the grant (limited to their total)
        elif record.continue_uri and record.continue_token:
            await _cancel_grant(deps, record)
        else:
            await _revoke_outgoing_token(deps, record)
    else:
        return False
    _log(record, "payment cancelled")
    return True


async def store_grant(deps: Deps, record: PaymentRecord, grant: Grant) -> bool:
    """Persist an approved grant's access token at once (it is handed out only once)."""
    token = StoredToken.from_access_token(grant.access_token, utcnow())
    values: dict[str, Any] = {"outgoing_token": token.dump(), "continue_claimed_at": None}
    if grant.continue_ is not None:
        values["continue_uri"] = grant.continue_.uri
        values["continue_token"] = grant.continue_.access_token.value
    moved = await transition(
        deps.store,
        record.id,
        Status.AWAITING_APPROVAL,
        Status.APPROVED,
        "grant approved",
        **values,
    )
    if moved:
        await pull_followers(deps, record)
    return moved


async def deny(deps: Deps, record: PaymentRecord, *, claimed_before: bool) -> None:
    """The wallet denied the grant. If an earlier poller died mid-request (`claimed_before`),
    the token it may have received is lost, so this denial may follow an approval: say so,
    and make sure nothing can be paid."""
    if claimed_before:
        reason = "approval could not be confirmed; please try again"
        await _cancel_grant(deps, record)
        await end_unpaid(
            deps, record, Status.AWAITING_APPROVAL, Status.FAILED, reason, continue_claimed_at=None
        )
    else:
        await end_unpaid(
            deps,
            record,
            Status.AWAITING_APPROVAL,
            Status.REJECTED,
            "rejected at the wallet",
            continue_claimed_at=None,
        )


async def continue_grant(deps: Deps, record: PaymentRecord) -> None:
    """One continuation, if `wait` allows and nobody else is continuing: a poll, or in
    finish-redirect mode the continuation with the `interact_ref` the redirect brought (such
    grants cannot be polled: without one there is nothing to do yet)."""
    if not record.continue_uri or not record.continue_token:
        return
    finish_mode = bool(deps.settings.public_url)
    if finish_mode and not record.interact_ref:
        return
    if not await deps.store.claim_continuation(record.id, utcnow() - stale_after(deps)):
        return
    answer = await continue_once(
        deps,
        record.continue_uri,
        record.continue_token,
        record.interact_ref,
        record.continue_wait or 0,
        {"payment_id": record.id},
    )
    if answer.denied:
        await deny(deps, record, claimed_before=record.continue_claimed_at is not None)
    elif answer.grant is not None:
        await store_grant(deps, record, answer.grant)
    else:
        await deps.store.update(record.id, expect=Status.AWAITING_APPROVAL, **answer.pending)


@dataclass(frozen=True)
class Continuation:
    """What one continuation of an interactive grant gave: the approved grant, a denial, or
    (still pending, or to be tried again) the columns to write, its claim released."""

    grant: Grant | None = None
    denied: bool = False
    pending: dict[str, Any] = field(default_factory=dict)


async def continue_once(
    deps: Deps,
    uri: str,
    token: str,
    interact_ref: str | None,
    wait: int,
    log_extra: dict[str, Any],
) -> Continuation:
    """Continue a grant once (a payment's or a link's): never again before `wait` after a
    `too_fast` or a failure, and with the wallet's new continuation values while pending."""
    release: dict[str, Any] = {"continue_claimed_at": None}
    try:
        answer = await deps.client.grant.continue_(uri, token, interact_ref=interact_ref)
    except TooFast:
        release["next_poll_at"] = utcnow() + timedelta(seconds=max(wait, 1))
    except RequestDenied:
        return Continuation(denied=True)
    except OpenPaymentsError as exc:
        logger.warning("continuation failed", extra={**log_extra, "error": str(exc)})
        release["next_poll_at"] = utcnow() + timedelta(seconds=max(wait, 1))
    else:
        if isinstance(answer, Grant):
            return Continuation(grant=answer)
        wait = answer.continue_.wait or wait
        release.update(
            next_poll_at=utcnow() + timedelta(seconds=wait),
            continue_wait=wait,
            continue_uri=answer.continue_.uri,
            continue_token=answer.continue_.access_token.value,
        )
    return Continuation(pending=release)


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
        if record.batch_id is not None:
            raise ValueError("the renewed quote no longer fits the total approved for the batch")
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
    from op_api import one_tap  # built on this module (it falls back through its steps)

    if not await deps.store.claim_outgoing_payment(record.id):
        return
    if record.link_id is not None and record.outgoing_token is None and not record.pays_with_link:
        # A one-tap payment whose fallback was begun (the link's token refused) by a caller
        # that died before asking for its own grant: finish that, nothing is sent.
        assert record.fallback_reason is not None
        fallback = FallbackReason(record.fallback_reason)
        await one_tap.fall_back(deps, record, fallback, Status.APPROVED)
        return
    assert record.sender is not None
    assert record.outgoing_token is not None or record.pays_with_link
    sender = record.sender
    try:
        quote_id = await _requote_if_expired(deps, record)
    except (OpenPaymentsError, ValueError) as exc:
        # Nothing was paid: a refusal ends the payment; anything else is retried later.
        if isinstance(exc, OpenPaymentsHTTPError | ValueError):
            await end_unpaid(
                deps,
                record,
                Status.APPROVED,
                Status.FAILED,
                f"the expired quote could not be renewed: {exc}",
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
                metadata={"externalRef": external_ref(record.id)},
            ),
        )
    except LinkUnusable as exc:  # nothing was sent with it
        await one_tap.fall_back(deps, record, exc.reason, Status.APPROVED)
    except OpenPaymentsHTTPError as exc:
        if exc.status >= 500:
            await _retry_later(deps, record, exc)
        elif record.op_uncertain_since is None and await one_tap.refused(deps, record, exc):
            pass  # the link's grant refused it: the payment asks for its own approval
        elif record.op_uncertain_since is not None:
            # An earlier attempt may have created it: the wallet refuses a second one
            # (Rafiki: 400 "invalid quote", the quote is used).
            await _find_or_watch(deps, record, exc)
        else:
            # Refused (e.g. insufficient funds, limit): nothing was created.
            reason = exc.description or exc.code or f"HTTP {exc.status}"
            await end_unpaid(
                deps,
                record,
                Status.APPROVED,
                Status.FAILED,
                f"outgoing payment refused: {reason}",
            )
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
        await _sending(deps, record, outgoing, "outgoing payment created")


async def _sending(
    deps: Deps, record: PaymentRecord, outgoing: OutgoingPayment | None, why: str
) -> None:
    """approved → sending, knowing the outgoing payment (or not: then the receiver tells)."""
    values: dict[str, Any] = {"sending_since": utcnow()}
    if outgoing is not None:
        values.update(outgoing_payment_url=outgoing.id, sent_amount=outgoing.sent_amount.to_wire())
    await transition(deps.store, record.id, Status.APPROVED, Status.SENDING, why, **values)


async def _retry_later(deps: Deps, record: PaymentRecord, exc: Exception) -> None:
    """Outcome unknown (5xx, timeout after sending). Retrying is safe: the wallet refuses a
    second outgoing payment for the same quote and grant limit — and after this, such a refusal
    is not read as a failure. After a while, stop and look for it at the sender."""
    since = record.op_uncertain_since
    if since is not None and utcnow() - since > UNCERTAIN_RETRY_WINDOW:
        await _find_or_watch(deps, record, exc)
        return
    await deps.store.update(
        record.id,
        expect=Status.APPROVED,
        op_claimed_at=None,
        op_uncertain_since=since or utcnow(),
        **_backoff(record),
    )
    _log(record, "outgoing payment outcome unknown; will retry", error=str(exc))


async def find_outgoing_payment(deps: Deps, record: PaymentRecord) -> OutgoingPayment | None:
    """The outgoing payment op_api created for this payment, found by listing the sender's
    outgoing payments and matching the `externalRef` in their metadata (None if not found or
    the wallet cannot be asked)."""
    if record.sender is None or (record.outgoing_token is None and not record.pays_with_link):
        return None
    sender, wanted = record.sender, external_ref(record.id)
    cursor: str | None = None

    async def list_page(token: str) -> OutgoingPaymentPage:
        return await deps.client.outgoing_payment.list(
            sender.resource_server,
            token,
            wallet_address=sender.id,
            pagination=Pagination(first=100, cursor=cursor),
        )

    try:
        for _ in range(LOOKUP_PAGES):
            page = await with_token(deps, record.id, "outgoing_token", list_page)
            for outgoing in page.result:
                if (outgoing.metadata or {}).get("externalRef") == wanted:
                    return outgoing
            if not page.pagination.has_next_page or not page.pagination.end_cursor:
                return None
            cursor = page.pagination.end_cursor
    except OpenPaymentsError as exc:
        logger.info(
            "outgoing payments could not be listed",
            extra={"payment_id": record.id, "error": str(exc)},
        )
    return None


async def _find_or_watch(deps: Deps, record: PaymentRecord, exc: Exception) -> None:
    """It may have been created: find it at the sender; if it cannot be found, follow the
    incoming payment at the receiver (settlement keeps looking for the outgoing one)."""
    found = await find_outgoing_payment(deps, record)
    why = "outgoing payment found at the sender" if found else "outcome unknown; watching"
    await _sending(deps, record, found, why)
    _log(record, why, error=str(exc))


async def recover_stale_claim(deps: Deps, record: PaymentRecord) -> None:
    """An approved payment whose creator died mid-POST: its outcome is unknown, so release the
    claim for a (safe) retry, remembering that a refusal may now mean it was created."""
    claimed = record.op_claimed_at
    if claimed is None or utcnow() - claimed < stale_after(deps):
        return
    if await deps.store.update(
        record.id,
        expect=Status.APPROVED,
        where=Where("op_claimed_at = $1", claimed),
        op_claimed_at=None,
        op_uncertain_since=record.op_uncertain_since or utcnow(),
    ):
        _log(record, "outgoing payment claim went stale; retrying")


def _reached(received: Amount, target: Amount | None) -> bool:
    return target is not None and received.minor >= target.minor


def _next_check(record: PaymentRecord) -> dict[str, Any]:
    """Settlement checks back off: a quarter of the time spent sending so far, 0.25 s to 15 s
    (a payment settling in a second is seen at once; a slow one is not read every second)."""
    since = record.sending_since or record.updated_at
    waited = (utcnow() - since).total_seconds()
    pause = min(SETTLEMENT_MAX_PAUSE_SECONDS, max(SETTLEMENT_FIRST_PAUSE_SECONDS, waited / 4))
    return {"next_check_at": utcnow() + timedelta(seconds=pause)}


async def check_settlement(deps: Deps, record: PaymentRecord) -> None:
    """Has the receiver been paid (completed), has the sender's wallet given up (failed), or
    has it taken too long? Completion is judged by the incoming payment only."""
    if record.next_check_at is not None and utcnow() < record.next_check_at:
        return
    if not await deps.store.update(
        record.id,
        expect=Status.SENDING,
        where=Where("next_check_at IS NULL OR next_check_at = $1", record.next_check_at)
        if record.next_check_at is not None
        else Where("next_check_at IS NULL"),
        **_next_check(record),
    ):
        return  # another caller is checking right now
    assert record.incoming_token is not None
    assert record.incoming_payment_url is not None
    incoming_url = record.incoming_payment_url
    values: dict[str, Any] = {}
    outgoing = None
    try:
        can_read = record.outgoing_token is not None or record.pays_with_link
        if record.outgoing_payment_url and can_read:
            op_url = record.outgoing_payment_url
            outgoing = await with_token(
                deps,
                record.id,
                "outgoing_token",
                lambda token: deps.client.outgoing_payment.get(op_url, token),
            )
        elif can_read:
            outgoing = await find_outgoing_payment(deps, record)
            if outgoing is not None:
                values["outgoing_payment_url"] = outgoing.id
        if outgoing is not None:
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
            if await transition(
                deps.store, record.id, Status.SENDING, Status.COMPLETED, "receiver paid", **values
            ):
                await complete_incoming(deps, record)
            return
    # No `sentAmount` shortcut when the receiver cannot be read: whether it counts fees
    # differs between providers (and between Rafiki versions), so it proves nothing.
    if outgoing is not None and outgoing.failed:
        reason = _failure_reason(outgoing)
        await end_unpaid(deps, record, Status.SENDING, Status.FAILED, reason, **values)
        return
    since = record.sending_since or record.updated_at
    if utcnow() - since > timedelta(seconds=deps.settings.settlement_timeout_seconds):
        # Not `end_unpaid`: the money may still be on its way, so the incoming payment stays
        # open for it (it expires on its own).
        reason = "not settled in time; check the sender's wallet"
        await transition(
            deps.store,
            record.id,
            Status.SENDING,
            Status.FAILED,
            reason,
            failure_reason=reason,
            **values,
        )
        return
    if values:
        await deps.store.update(record.id, expect=Status.SENDING, **values)


def _failure_reason(outgoing: OutgoingPayment) -> str:
    """Open Payments has no failure-reason field: providers put one in extra fields or in the
    metadata (Rafiki: `metadata.cancellationReason` for a payment it cancelled)."""
    extra = outgoing.model_extra or {}
    for key in ("error", "failureReason", "reason", "stateReason"):
        if isinstance(extra.get(key), str):
            return f"payment failed: {extra[key]}"
    metadata = outgoing.metadata or {}
    for key in ("cancellationReason", "failureReason"):
        if isinstance(metadata.get(key), str):
            return f"payment failed: {metadata[key]}"
    if outgoing.sent_amount.minor == 0:
        return "the sender's wallet could not send the payment (e.g. insufficient funds)"
    return "the payment failed part-way at the sender's wallet"


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
