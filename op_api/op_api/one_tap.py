"""One-tap payments (issue 17): paid with a linked wallet's standing grant, within its allowance,
after nothing more than the user's Confirm in the chat.

- `/send-payment` with a `linkId`: the link must belong to the sender. When it is active, has an
  allowance, and the quote's debit fits what its current interval has left, no grant is asked
  for: the payment awaits the chat's Confirm (`POST /payments/{id}/authorize`). Otherwise the
  payment gets its own interactive grant, as any other, and says why (`fallbackReason`).
- Authorize reserves the debit in the link row and the payment row in one transaction
  (`LinkStore.reserve`: conditional UPDATEs, so concurrent taps and replicas hold at most the
  allowance, and each payment at most once), then moves the payment to `approved`; from there
  the usual steps create the outgoing payment (exactly once, claimed) with the link's token.
- Falling back: no room left, the link no longer active, or the wallet refusing the link's token
  (403 "Insufficient Grant"; 401/403 "Inactive Token" also marks the link revoked) → the
  reservation is released and the payment asks for its own approval at the wallet
  (`confirmationUrl`), its quote renewed if it expired.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from op_api import initiation, links, steps
from op_api.client import OpenPaymentsError, OpenPaymentsHTTPError
from op_api.client.interaction import new_nonce
from op_api.client.models import WalletAddress
from op_api.deps import Deps, ServiceError
from op_api.lifecycle import Status, transition
from op_api.link_store import LinkRecord, Reservation
from op_api.link_tokens import found_revoked, insufficient_grant
from op_api.records import PaymentRecord
from op_api.store import Where, utcnow
from shared.contracts import FallbackReason, LinkStatus, SendPaymentRequest
from shared.money import Amount

logger = logging.getLogger(__name__)
CONFIRMED_IN_CHAT = "confirmed in chat within a linked allowance"
FELL_BACK = "linked grant refused: own approval asked"


async def known_link(deps: Deps, request: SendPaymentRequest) -> LinkRecord | None:
    """The link a payment names (checked before any wallet is asked): a clear 422 if unknown."""
    if request.link_id is None:
        return None
    link = await deps.links.get(request.link_id)
    if link is None:
        raise ServiceError(422, f"linkId {request.link_id[:64]!r} is not a known link")
    return link


def _inactive_reason(link: LinkRecord | None) -> FallbackReason:
    if link is not None and link.status == LinkStatus.REVOKED:
        return FallbackReason.LINK_REVOKED
    return FallbackReason.LINK_INACTIVE


def usable_link(
    link: LinkRecord | None, sender: WalletAddress
) -> tuple[LinkRecord | None, FallbackReason | None]:
    """(the link to pay with, or None with the reason it cannot)."""
    if link is None:
        return None, None
    if link.wallet_url != sender.id:
        raise ServiceError(422, "linkId links another wallet than senderWalletUrl")
    if link.status != LinkStatus.ACTIVE:
        return None, _inactive_reason(link)
    if link.allowance is None:
        return None, FallbackReason.NO_ALLOWANCE
    return link, None


def left_after(link: LinkRecord, debit: Amount) -> Amount | None:
    """What the allowance would have left once `debit` is paid; None if it does not fit."""
    left = links.remaining(link)
    if left is None or (left.asset_code, left.asset_scale) != (
        debit.asset_code,
        debit.asset_scale,
    ):
        return None
    if debit.minor > left.minor:
        return None
    return left.model_copy(update={"value": str(left.minor - debit.minor)})


async def authorize(deps: Deps, record: PaymentRecord) -> None:
    """The chat's Confirm of a one-tap payment: reserve, then approve (or fall back). Replays
    and concurrent twins change nothing more."""
    if record.status != Status.AWAITING_APPROVAL or record.link_id is None:
        return
    if not record.pays_with_link:
        if record.continue_uri is None and record.fallback_reason is not None:
            # Its fallback was begun but no grant stored (its caller died): take it over once
            # that claim is stale.
            await fall_back(
                deps, record, FallbackReason(record.fallback_reason), Status.AWAITING_APPROVAL
            )
        return
    if await steps.expire_if_due(deps, record):
        return
    assert record.link_id is not None
    assert record.debit_amount is not None
    if record.link_reserved is None:
        link = await deps.links.get(record.link_id)
        interval = links.current_interval(link) if link is not None else None
        if link is None or link.status != LinkStatus.ACTIVE or interval is None:
            await fall_back(deps, record, _inactive_reason(link), Status.AWAITING_APPROVAL)
            return
        outcome = await deps.links.reserve(
            record.id, link.id, interval[0], record.debit_amount.minor
        )
        if outcome == Reservation.NO_ROOM:
            await fall_back(deps, record, FallbackReason.OVER_ALLOWANCE, Status.AWAITING_APPROVAL)
            return
        if outcome == Reservation.LINK_INACTIVE:
            link = await deps.links.get(record.link_id)
            await fall_back(deps, record, _inactive_reason(link), Status.AWAITING_APPROVAL)
            return
        if outcome == Reservation.NOT_ELIGIBLE:
            return
    link = await deps.links.get(record.link_id)
    left = links.remaining(link) if link is not None else None
    await transition(
        deps.store,
        record.id,
        Status.AWAITING_APPROVAL,
        Status.APPROVED,
        CONFIRMED_IN_CHAT,
        where=Where("link_reserved IS NOT NULL"),
        allowance_remaining=left.to_wire() if left is not None else None,
    )


async def refused(deps: Deps, record: PaymentRecord, exc: OpenPaymentsHTTPError) -> bool:
    """The wallet refused to create a one-tap payment with the link's token (401/403): fall
    back (True), marking the link revoked unless the refusal was the grant's limit."""
    if not record.pays_with_link or exc.status not in (401, 403):
        return False
    assert record.link_id is not None
    if insufficient_grant(exc):
        reason = FallbackReason.OVER_ALLOWANCE
    else:
        reason = FallbackReason.LINK_REVOKED
        detail = exc.description or exc.code or f"HTTP {exc.status}"
        await found_revoked(deps, record.link_id, f"revoked at the wallet ({detail})")
    await fall_back(deps, record, reason, Status.APPROVED)
    return True


async def fall_back(
    deps: Deps, record: PaymentRecord, reason: FallbackReason, source: Status
) -> None:
    """Ask for this payment's own approval at the wallet, as a payment without a link would.

    From `awaiting_approval` (nothing reserved) the first caller claims the fallback by setting
    `fallbackReason` (and `continue_claimed_at`, so a caller that dies before storing the grant
    is taken over by a later Confirm); from `approved` the caller holds the outgoing-payment
    claim, releases the reservation, and moves the payment back to `awaiting_approval` with the
    new grant."""
    if source == Status.AWAITING_APPROVAL:
        claimed = await deps.store.update(
            record.id,
            expect=Status.AWAITING_APPROVAL,
            where=Where(
                # First, or taking over from a caller that died before its grant was stored.
                "(fallback_reason IS NULL OR continue_claimed_at < $1)"
                " AND continue_uri IS NULL AND link_reserved IS NULL",
                utcnow() - steps.stale_after(deps),
            ),
            fallback_reason=reason.value,
            allowance_remaining=None,
            continue_claimed_at=utcnow(),
        )
        if not claimed:
            return
    else:
        await deps.links.release(record.id)
        await deps.store.update(record.id, expect=source, fallback_reason=reason.value)
    fresh = await deps.store.get(record.id)
    assert fresh is not None
    assert fresh.sender is not None
    assert fresh.debit_amount is not None
    assert fresh.incoming_payment_url is not None
    try:
        await steps._requote_if_expired(deps, fresh)
        nonce = new_nonce() if deps.settings.public_url else None
        grant = await initiation._outgoing_grant(
            deps,
            fresh.sender,
            fresh.incoming_payment_url,
            fresh.debit_amount,
            initiation._interact(deps, fresh.id, nonce),
        )
    except (OpenPaymentsError, ServiceError, ValueError) as exc:
        logger.warning("fallback grant failed", extra={"payment_id": record.id, "error": str(exc)})
        await steps.end_unpaid(
            deps, fresh, source, Status.FAILED, f"approval could not be asked at the wallet: {exc}"
        )
        return
    values: dict[str, Any] = {
        **initiation.grant_columns(grant, nonce),
        "continue_claimed_at": None,
        "expires_at": utcnow() + timedelta(seconds=deps.settings.payment_expiry_seconds),
        "allowance_remaining": None,
    }
    if source == Status.AWAITING_APPROVAL:
        await deps.store.update(record.id, expect=Status.AWAITING_APPROVAL, **values)
    else:
        await transition(
            deps.store,
            record.id,
            source,
            Status.AWAITING_APPROVAL,
            FELL_BACK,
            op_claimed_at=None,
            **values,
        )
    logger.info(
        "one-tap payment fell back", extra={"payment_id": record.id, "reason": reason.value}
    )
