"""Using a link's access token for a one-tap payment (create, read, list outgoing payments).

The token belongs to the link and serves every payment it pays, so it lives in the link row
and nowhere else: rotated through its `manage` URL when it has expired (the new one stored
sealed before it is used). One rotation at a time across replicas (claimed in the link row):
a second rotation of the same token would be refused, and a refusal means revoked. A refusal
of the token is judged:

- 403 "Insufficient Grant": the wallet counts the allowance as spent. Raised as it is; the
  payment falls back to its own approval (`one_tap`).
- 401, or 403 "Inactive Token": the token is dead. If another caller rotated it meanwhile, the
  new one is used; otherwise a rotation is tried (an expired token rotates, a revoked one does
  not) and, refused, the link is marked revoked — the dead token is never sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from op_api.client import (
    Forbidden,
    OpenPaymentsError,
    OpenPaymentsHTTPError,
    OpenPaymentsTransportError,
    Unauthorized,
)
from op_api.deps import Deps
from op_api.link_store import LinkRecord
from op_api.records import StoredToken
from op_api.store import utcnow
from shared.contracts import FallbackReason, LinkStatus

T = TypeVar("T")
logger = logging.getLogger(__name__)
ROTATION_WAIT_SECONDS = 10.0  # how long to wait for another caller's rotation of the token


class LinkUnusable(OpenPaymentsError):
    """The link cannot pay (revoked at the wallet or here, or not active): `reason` says which.
    An `OpenPaymentsError`, so a step that only reads (settlement) treats it as any refusal."""

    def __init__(self, reason: FallbackReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def insufficient_grant(exc: BaseException) -> bool:
    """The wallet's refusal of a payment over the grant's limit (Rafiki: 403 "Insufficient
    Grant"), as opposed to a dead token."""
    return (
        isinstance(exc, OpenPaymentsHTTPError)
        and exc.status == 403
        and "insufficient grant" in (exc.description or "").lower()
    )


async def found_revoked(deps: Deps, link_id: str, reason: str) -> None:
    """The wallet refused the link's token for good (revoked there): never use it again."""
    if await deps.links.move(
        link_id, LinkStatus.ACTIVE, LinkStatus.REVOKED, failure_reason=reason[:500]
    ):
        logger.info("link found revoked at the wallet", extra={"link_id": link_id})


async def _usable(deps: Deps, link_id: str) -> LinkRecord:
    link = await deps.links.get(link_id)
    if link is None or link.status != LinkStatus.ACTIVE or link.token is None:
        revoked = link is not None and link.status == LinkStatus.REVOKED
        reason = FallbackReason.LINK_REVOKED if revoked else FallbackReason.LINK_INACTIVE
        raise LinkUnusable(reason, f"the link is {link.status.value if link else 'unknown'}")
    return link


async def _claim_rotation(deps: Deps, link: LinkRecord) -> StoredToken | None:
    """Win the right to rotate the link's token at `link.token_version` (one rotation at a
    time across replicas: a second one would be refused and read as a revocation), or the
    token another caller rotated meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ROTATION_WAIT_SECONDS
    stale = timedelta(seconds=deps.settings.claim_stale_seconds)
    while True:
        current = await _usable(deps, link.id)
        if current.token_version != link.token_version:
            assert current.token is not None
            return current.token  # rotated by someone else
        if await deps.links.claim_rotation(link.id, link.token_version, utcnow() - stale):
            return None
        if loop.time() > deadline:
            raise OpenPaymentsTransportError(
                "the link's token is being rotated elsewhere", maybe_delivered=False
            )
        await asyncio.sleep(0.1)


async def _rotate(deps: Deps, link: LinkRecord, refused: str) -> StoredToken:
    """A new token for the link (or the one another caller got meanwhile); the link is marked
    revoked when the wallet will not rotate it."""
    assert link.token is not None
    if (theirs := await _claim_rotation(deps, link)) is not None:
        return theirs
    try:
        rotated = await deps.client.token.rotate(link.token.manage, link.token.value)
    except (OpenPaymentsTransportError, OpenPaymentsHTTPError) as exc:
        if isinstance(exc, OpenPaymentsTransportError) or exc.status >= 500:
            await deps.links.update(link.id, token_claimed_at=None)
            # The wallet failed, not the token: whatever the token was for was not sent, so
            # the caller may simply try again later. (A rotation whose answer was lost has
            # made the old token inactive: the link is then found revoked next time.)
            raise OpenPaymentsTransportError(
                f"the link's token could not be rotated: {exc}", maybe_delivered=False
            ) from exc
        reason = f"revoked at the wallet ({refused})"
        await found_revoked(deps, link.id, reason)
        raise LinkUnusable(FallbackReason.LINK_REVOKED, reason) from exc
    fresh = StoredToken.from_access_token(rotated, utcnow())
    await deps.links.replace_token(link.id, link.token_version, fresh)
    logger.info("link token rotated", extra={"link_id": link.id})
    return fresh


async def with_link_token(deps: Deps, link_id: str, call: Callable[[str], Awaitable[T]]) -> T:
    """`call(token_value)` with the link's token (see the module docstring)."""
    link = await _usable(deps, link_id)
    assert link.token is not None
    token = link.token
    if token.expired(utcnow()):
        token = await _rotate(deps, link, "expired")
        link = await _usable(deps, link_id)
    try:
        return await call(token.value)
    except (Unauthorized, Forbidden) as exc:
        if insufficient_grant(exc):
            raise
        refused = exc.description or exc.code or f"HTTP {exc.status}"
        token = await _rotate(deps, link, refused)
    return await call(token.value)
