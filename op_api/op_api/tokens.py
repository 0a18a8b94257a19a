"""Use a payment's GNAP access token, renewing it when it has expired or is refused.

- The outgoing-payment token belongs to this payment alone: it is rotated.
- A one-tap payment's outgoing-payment token is its link's (`link_tokens`).
- Incoming-payment and quote tokens may be shared between payments (see `caches`): rotating
  one would revoke it for the others, so a new grant replaces it instead.

The token is read from the store at each use (another step may have renewed it), and a renewed
token is written to the store before it is used, so a crash cannot lose it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

from op_api.access import incoming_access, quote_access
from op_api.client import Forbidden, OpenPaymentsHTTPError, Unauthorized
from op_api.client.models import AccessItem
from op_api.deps import Deps
from op_api.link_tokens import with_link_token
from op_api.records import PaymentRecord, StoredToken
from op_api.store import utcnow

T = TypeVar("T")
SHARED_ROTATION_CHECKS = 5  # looks at the lead for a batch token another payment rotated
SHARED_ROTATION_PAUSE_SECONDS = 0.2
TokenField = Literal["incoming_token", "quote_token", "outgoing_token"]
logger = logging.getLogger(__name__)


def _token(record: PaymentRecord | None, field: TokenField) -> StoredToken:
    token = getattr(record, field, None)
    if not isinstance(token, StoredToken):
        raise LookupError(f"payment has no {field}")
    return token


def _shared_access(
    record: PaymentRecord, field: TokenField
) -> tuple[str, Sequence[AccessItem], str]:
    """(auth server, access, the resource server the token is used at)."""
    if field == "incoming_token":
        assert record.receiver is not None
        receiver = record.receiver
        return receiver.auth_server, incoming_access(receiver.id), receiver.resource_server
    assert record.sender is not None
    return record.sender.auth_server, quote_access(), record.sender.resource_server


async def rotate(deps: Deps, payment_id: str, field: TokenField, token: StoredToken) -> StoredToken:
    rotated = await deps.client.token.rotate(token.manage, token.value)
    fresh = StoredToken.from_access_token(rotated, utcnow())
    values: dict[str, Any] = {field: fresh.dump()}
    await deps.store.update(payment_id, **values)
    logger.info("access token rotated", extra={"payment_id": payment_id, "token": field})
    return fresh


async def renew(
    deps: Deps, record: PaymentRecord, field: TokenField, token: StoredToken
) -> StoredToken:
    if field == "outgoing_token":
        if record.grant_lead is not None:
            return await _renew_shared(deps, record, record.grant_lead, token)
        fresh = await rotate(deps, record.id, field, token)
        if record.batch_id is not None:  # a batch's lead: its followers hold the token too
            for follower in await deps.store.followers(record.id):
                await deps.store.update(follower.id, outgoing_token=fresh.dump())
        return fresh
    auth_server, access, resource_server = _shared_access(record, field)
    fresh = await deps.caches.grant(auth_server, access, resource_server=resource_server)
    if fresh.value == token.value:  # the shared token itself is spent: replace it for all
        fresh = await deps.caches.grant(
            auth_server, access, resource_server=resource_server, renew=True
        )
    values: dict[str, Any] = {field: fresh.dump()}
    await deps.store.update(record.id, **values)
    logger.info(
        "access token renewed by a new grant", extra={"payment_id": record.id, "token": field}
    )
    return fresh


async def _newer_lead_token(deps: Deps, lead_id: str, token: StoredToken) -> StoredToken | None:
    """The batch's token as its lead holds it, if someone rotated `token` already."""
    lead = await deps.store.get(lead_id)
    held = lead.outgoing_token if lead is not None else None
    return held if held is not None and held.value != token.value else None


async def _renew_shared(
    deps: Deps, record: PaymentRecord, lead_id: str, token: StoredToken
) -> StoredToken:
    """A batch payment paid with its lead's grant: the lead may have rotated the token already
    (then that one is taken); else it is rotated here and the lead gets it too. A rotation
    refused because another payment of the batch rotated it meanwhile takes theirs."""
    fresh = await _newer_lead_token(deps, lead_id, token)
    if fresh is None:
        try:
            fresh = await rotate(deps, record.id, "outgoing_token", token)
        except (Unauthorized, Forbidden):
            for _ in range(SHARED_ROTATION_CHECKS):  # the winner writes it to the lead next
                await asyncio.sleep(SHARED_ROTATION_PAUSE_SECONDS)
                if (fresh := await _newer_lead_token(deps, lead_id, token)) is not None:
                    break
            else:
                raise
        else:
            await deps.store.update(lead_id, outgoing_token=fresh.dump())
            return fresh
    await deps.store.update(record.id, outgoing_token=fresh.dump())
    return fresh


async def with_shared_grant(
    deps: Deps,
    auth_server: str,
    access: Sequence[AccessItem],
    call: Callable[[str], Awaitable[T]],
    *,
    resource_server: str,
    token: StoredToken | None = None,
) -> tuple[StoredToken, T]:
    """`call(token_value)` with the shared (cached) token for a non-interactive grant (or
    `token`, fetched from the cache earlier), used at `resource_server` only; on 401/403 (the
    wallet revoked it: Rafiki answers 403 "Inactive Token") a new grant replaces it for
    everyone and the call is made once more. Returns the token used, and the result."""
    if token is None:
        token = await deps.caches.grant(auth_server, access, resource_server=resource_server)
    try:
        return token, await call(token.value)
    except (Unauthorized, Forbidden):
        token = await deps.caches.grant(
            auth_server, access, resource_server=resource_server, renew=True
        )
        logger.info("shared grant refused; replaced by a new one", extra={"as": auth_server})
        return token, await call(token.value)


async def with_token(
    deps: Deps,
    payment_id: str,
    field: TokenField,
    call: Callable[[str], Awaitable[T]],
) -> T:
    """`call(token_value)` with the stored token, renewed first if expired, or once on 401/403."""
    record = await deps.store.get(payment_id)
    assert record is not None
    if field == "outgoing_token" and record.pays_with_link:
        assert record.link_id is not None
        return await with_link_token(deps, record.link_id, call)  # the link's, never rotated here
    token = _token(record, field)
    if token.expired(utcnow()):
        token = await renew(deps, record, field, token)
    try:
        return await call(token.value)
    except (Unauthorized, Forbidden) as refused:
        # Expired or inactive token (a refused request created nothing, so one retry is safe).
        try:
            token = await renew(deps, record, field, token)
        except OpenPaymentsHTTPError:
            raise refused from None  # not a token problem after all: report the real refusal
        return await call(token.value)
