"""Linked wallets (issue 17): a standing outgoing-payment grant the owner approves at their own
wallet, once. The wallet's sign-in is the proof of control; the grant's limits are the allowance
one-tap payments spend (`op_api.one_tap`).

- `POST /links` requests the interactive grant (polled, or in finish-redirect mode continued
  after the browser returns to `/links/{id}/finish`), exactly like a payment's grant: the
  continuation is claimed (one at a time, never before `wait`), the access token is stored
  (sealed) the moment it arrives, an approval deadline expires it.
- With an allowance the grant is limited to `debitAmount` per repeating `interval`
  (`R/<start>/<duration>`, the start being the link's creation); without one ("ask me every
  time") it allows reading only.
- `DELETE /links/{id}` cancels a pending grant, or revokes the token at the wallet.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from op_api import initiation
from op_api.access import link_access
from op_api.client import (
    OpenPaymentsError,
    OpenPaymentsHTTPError,
    OpenPaymentsTransportError,
)
from op_api.client.interaction import new_nonce, verify_finish_hash
from op_api.client.models import Grant, InteractFinish, InteractRequest, PendingGrant
from op_api.deps import Deps, ServiceError
from op_api.link_store import LinkRecord
from op_api.records import StoredToken
from op_api.steps import continue_once
from op_api.store import DuplicateKey, utcnow
from op_api.views import money
from shared.contracts import LinkCreate, LinkStatus, LinkView
from shared.durations import Duration, interval_index, repeating_interval
from shared.money import Amount, MoneyError
from shared.wallet_address import WalletAddressError, to_url

logger = logging.getLogger(__name__)
MAX_ALLOWANCE_MINOR = 2**63 - 1  # what the allowance columns (BIGINT) hold


def fingerprint(request: LinkCreate) -> str:
    fields = request.model_dump(by_alias=True, exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _wallet_url(deps: Deps, value: str) -> str:
    try:
        return to_url(value, allow_http=deps.settings.allow_insecure_http)
    except WalletAddressError as exc:
        raise ServiceError(
            422, f"walletUrl is not a wallet address URL we can use: {exc.reason}"
        ) from exc


def _interact(deps: Deps, link_id: str, nonce: str | None) -> InteractRequest:
    if deps.settings.public_url and nonce:
        uri = f"{deps.settings.public_url}/links/{link_id}/finish"
        return InteractRequest(finish=InteractFinish(uri=uri, nonce=nonce))
    return InteractRequest()


async def _existing(deps: Deps, key: str, print_: str) -> LinkRecord | None:
    link = await deps.links.get_by_key(key)
    if link is not None and link.fingerprint != print_:
        raise ServiceError(409, "idempotencyKey was already used for a different link")
    return link


async def create(deps: Deps, request: LinkCreate) -> tuple[LinkRecord, bool]:
    """Request the link's grant; returns the link and whether this call created it."""
    print_, key = fingerprint(request), request.idempotency_key
    if key and (existing := await _existing(deps, key, print_)) is not None:
        return existing, False
    wallet = await initiation._resolve(deps, _wallet_url(deps, request.wallet_url), "linked")
    now = utcnow().replace(microsecond=0)
    values: dict[str, Any] = {}
    allowance: Amount | None = None
    interval: str | None = None
    if request.allowance is not None:
        try:
            allowance = Amount.from_decimal(
                request.allowance.amount, wallet.asset_code, wallet.asset_scale
            )
            duration = Duration.parse(request.allowance.interval)
        except (MoneyError, ValueError) as exc:
            raise ServiceError(422, f"allowance: {exc}") from exc
        if not 0 < allowance.minor <= MAX_ALLOWANCE_MINOR:
            raise ServiceError(422, "allowance: amount out of range")
        del duration  # parsed to refuse an empty one; the wallet gets the text
        interval = repeating_interval(now, request.allowance.interval)
        values.update(
            allowance=allowance.to_wire(),
            allowance_minor=allowance.minor,
            interval=request.allowance.interval,
            interval_start=now,
        )
    link_id = uuid.uuid4().hex
    nonce = new_nonce() if deps.settings.public_url else None
    try:
        grant = await deps.client.grant.request(
            wallet.auth_server,
            link_access(wallet.id, allowance, interval),
            _interact(deps, link_id, nonce),
        )
    except OpenPaymentsHTTPError as exc:
        reason = exc.description or exc.code or f"HTTP {exc.status}"
        if exc.status < 500:
            raise ServiceError(422, f"the wallet refused the link: {reason}") from exc
        raise ServiceError(502, f"the wallet provider failed (HTTP {exc.status})") from exc
    except OpenPaymentsError as exc:
        raise ServiceError(502, "the wallet provider could not be reached or misbehaved") from exc
    if not isinstance(grant, PendingGrant):
        # Linking is the proof of control: a grant given without the owner's consent proves none.
        raise ServiceError(502, "the wallet granted the link without asking its owner")
    try:
        await deps.links.insert(
            id=link_id,
            idempotency_key=key,
            fingerprint=print_,
            wallet_url=wallet.id,
            wallet=wallet.wire(),
            expires_at=now + timedelta(seconds=deps.settings.payment_expiry_seconds),
            **initiation.grant_columns(grant, nonce),
            **values,
        )
    except DuplicateKey:
        # A concurrent twin with the same key stored its link first: ours is not needed.
        await _cancel_quietly(deps, grant.continue_.uri, grant.continue_.access_token.value)
        assert key is not None
        existing = await _existing(deps, key, print_)
        assert existing is not None
        return existing, False
    link = await deps.links.get(link_id)
    assert link is not None
    logger.info("link requested", extra={"link_id": link_id, "allowance": str(allowance)})
    return link, True


async def _cancel_quietly(deps: Deps, uri: str | None, token: str | None) -> None:
    if not uri or not token:
        return
    try:
        await deps.client.grant.cancel(uri, token)
    except OpenPaymentsError as exc:
        logger.warning("link grant cancellation failed", extra={"error": str(exc)})


def _stale_before(deps: Deps) -> Any:
    return utcnow() - timedelta(seconds=deps.settings.claim_stale_seconds)


async def _continue(deps: Deps, link: LinkRecord) -> None:
    """One continuation, if `wait` allows and nobody else is continuing (see `steps`)."""
    if not link.continue_uri or not link.continue_token:
        return
    if deps.settings.public_url and link.finish_nonce and not link.interact_ref:
        return  # a finish-mode grant cannot be polled: the browser's return brings the ref
    if not await deps.links.claim_continuation(link.id, _stale_before(deps)):
        return
    answer = await continue_once(
        deps,
        link.continue_uri,
        link.continue_token,
        link.interact_ref,
        link.continue_wait or 0,
        {"link_id": link.id},
    )
    if answer.grant is not None:
        await _activate(deps, link, answer.grant)
    elif not answer.denied:
        await deps.links.update(link.id, expect=LinkStatus.AWAITING_APPROVAL, **answer.pending)
    else:
        if link.continue_claimed_at is not None:
            # An earlier poller died mid-request: the token it may have received is lost.
            target, reason = LinkStatus.FAILED, "approval could not be confirmed; try again"
            await _cancel_quietly(deps, link.continue_uri, link.continue_token)
        else:
            target, reason = LinkStatus.REJECTED, "rejected at the wallet"
        await deps.links.move(
            link.id,
            LinkStatus.AWAITING_APPROVAL,
            target,
            failure_reason=reason,
            continue_claimed_at=None,
        )


async def _activate(deps: Deps, link: LinkRecord, grant: Grant) -> None:
    """Store the approved grant's token at once (it is handed out only once)."""
    token = StoredToken.from_access_token(grant.access_token, utcnow())
    values: dict[str, Any] = {"token": token.dump(), "continue_claimed_at": None}
    if grant.continue_ is not None:
        values["continue_uri"] = grant.continue_.uri
        values["continue_token"] = grant.continue_.access_token.value
    if await deps.links.move(link.id, LinkStatus.AWAITING_APPROVAL, LinkStatus.ACTIVE, **values):
        logger.info("link approved", extra={"link_id": link.id})


async def advance(deps: Deps, link_id: str) -> LinkRecord | None:
    """Continue a pending link's grant when due; expire it past its deadline (after one last
    look). Returns the link as it is now."""
    link = await deps.links.get(link_id)
    if link is None or link.status != LinkStatus.AWAITING_APPROVAL:
        return link
    await _continue(deps, link)
    link = await deps.links.get(link_id)
    assert link is not None
    if link.status == LinkStatus.AWAITING_APPROVAL and utcnow() >= link.expires_at:
        if await deps.links.move(
            link.id,
            LinkStatus.AWAITING_APPROVAL,
            LinkStatus.EXPIRED,
            failure_reason="not approved in time",
        ):
            await _cancel_quietly(deps, link.continue_uri, link.continue_token)
        link = await deps.links.get(link_id)
    return link


async def revoke(deps: Deps, link: LinkRecord) -> LinkRecord:
    """Unlink: a pending grant is cancelled; an active link's token and grant are revoked at the
    wallet (a wallet that no longer knows them has revoked them already). Idempotent."""
    if link.status == LinkStatus.AWAITING_APPROVAL:
        if await deps.links.move(
            link.id, LinkStatus.AWAITING_APPROVAL, LinkStatus.REVOKED, failure_reason="cancelled"
        ):
            await _cancel_quietly(deps, link.continue_uri, link.continue_token)
    elif link.status == LinkStatus.ACTIVE:
        if link.token is not None:
            try:
                await deps.client.token.revoke(link.token.manage, link.token.value)
            except OpenPaymentsHTTPError as exc:
                if exc.status >= 500:
                    raise ServiceError(502, "the wallet could not revoke the link; retry") from exc
                # 401/403/404: the token is already inactive at the wallet.
            except OpenPaymentsTransportError as exc:
                raise ServiceError(502, "the wallet is unreachable; retry") from exc
        # The token alone is not the grant: revoking the grant too (DELETE on its continuation,
        # as GNAP and Rafiki allow after approval) takes it off the wallet's list of access.
        await _cancel_quietly(deps, link.continue_uri, link.continue_token)
        await deps.links.move(
            link.id, LinkStatus.ACTIVE, LinkStatus.REVOKED, failure_reason="unlinked"
        )
        logger.info("link revoked", extra={"link_id": link.id})
    fresh = await deps.links.get(link.id)
    assert fresh is not None
    return fresh


def current_interval(link: LinkRecord) -> tuple[int, Duration] | None:
    """(k, duration) of the interval the allowance is in now; None without an allowance."""
    if link.interval is None or link.interval_start is None:
        return None
    duration = Duration.parse(link.interval)
    return interval_index(link.interval_start, duration, utcnow()), duration


def remaining(link: LinkRecord) -> Amount | None:
    """What the allowance has left in the current interval."""
    now_interval = current_interval(link)
    if link.allowance is None or now_interval is None:
        return None
    left = max(link.allowance.minor - link.spent_in(now_interval[0]), 0)
    return link.allowance.model_copy(update={"value": str(left)})


def link_view(link: LinkRecord) -> LinkView:
    view = LinkView(
        link_id=link.id,
        wallet_url=link.wallet_url,
        status=link.status,
        confirmation_url=link.confirmation_url
        if link.status == LinkStatus.AWAITING_APPROVAL
        else None,
        allowance=money(link.allowance),
        interval=link.interval,
        expires_at=link.expires_at if link.status == LinkStatus.AWAITING_APPROVAL else None,
        failure_reason=link.failure_reason,
        created_at=link.created_at,
    )
    now_interval = current_interval(link)
    if link.status != LinkStatus.ACTIVE or link.allowance is None or now_interval is None:
        return view
    k, duration = now_interval
    assert link.interval_start is not None
    spent = link.allowance.model_copy(update={"value": str(link.spent_in(k))})
    return view.model_copy(
        update={
            "spent": money(spent),
            "remaining": money(remaining(link)),
            "interval_ends_at": duration.after(link.interval_start, k + 1),
        }
    )


async def finish(
    deps: Deps, link_id: str, *, hash_: str | None, interact_ref: str | None, result: str | None
) -> LinkRecord | None:
    """The browser's return from the wallet (finish-redirect mode): verify the hash, store the
    `interact_ref`, continue. A rejection is confirmed by cancelling the grant at the wallet.
    Raises ServiceError(400) for a redirect that cannot be ours."""
    link = await deps.links.get(link_id)
    if link is None or link.status != LinkStatus.AWAITING_APPROVAL:
        return link
    if result == "grant_rejected":
        # It carries no proof: recorded only once the wallet has cancelled the grant (a wallet
        # that no longer knows it can let nothing be approved either).
        if link.continue_uri and link.continue_token:
            try:
                await deps.client.grant.cancel(link.continue_uri, link.continue_token)
            except OpenPaymentsError as exc:
                if not (isinstance(exc, OpenPaymentsHTTPError) and exc.status == 404):
                    raise ServiceError(502, "the wallet could not confirm the rejection") from exc
        await deps.links.move(
            link.id,
            LinkStatus.AWAITING_APPROVAL,
            LinkStatus.REJECTED,
            failure_reason="rejected at the wallet",
        )
        return await deps.links.get(link_id)
    if (
        not hash_
        or not interact_ref
        or link.finish_nonce is None
        or link.as_finish_nonce is None
        or link.wallet is None
        or not verify_finish_hash(
            hash_, link.finish_nonce, link.as_finish_nonce, interact_ref, link.wallet.auth_server
        )
    ):
        raise ServiceError(400, "the approval could not be verified")
    if link.interact_ref != interact_ref:
        await deps.links.update(
            link.id, expect=LinkStatus.AWAITING_APPROVAL, interact_ref=interact_ref
        )
    return await advance(deps, link_id)
