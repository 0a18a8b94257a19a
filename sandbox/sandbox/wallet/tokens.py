"""Issuing, rotating and looking up GNAP access tokens."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox.wallet.models import AccessToken, Grant
from sandbox.wallet.state import WalletState


def new_token_value() -> str:
    return secrets.token_hex(20).upper()


async def issue(session: AsyncSession, state: WalletState, grant: Grant) -> AccessToken:
    now = time.time()
    token = AccessToken(
        id=str(uuid.uuid4()),
        grant_id=grant.id,
        value=new_token_value(),
        management_id=str(uuid.uuid4()),
        expires_at=now + state.config.token_ttl_seconds,
        revoked=False,
        created_at=now,
    )
    session.add(token)
    await session.flush()
    return token


def token_json(state: WalletState, token: AccessToken, grant: Grant) -> dict[str, Any]:
    return {
        "value": token.value,
        "manage": f"{state.config.auth_url}/token/{token.management_id}",
        "expires_in": max(0, int(token.expires_at - time.time())),
        "access": grant.access,
    }


async def active_token(session: AsyncSession, value: str) -> tuple[AccessToken, Grant] | None:
    """The token and its grant when the token is usable now: issued, not revoked, not expired."""
    token = await session.scalar(select(AccessToken).where(AccessToken.value == value))
    if token is None or token.revoked or token.expires_at <= time.time():
        return None
    grant = await session.get(Grant, token.grant_id)
    if grant is None or grant.finalization in {"revoked", "rejected"}:
        return None
    return token, grant
