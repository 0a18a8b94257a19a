"""The outgoing-payment grants a wallet's owner can see and revoke: approved, not yet revoked."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox.wallet.allowance import allowance_words, money, spends
from sandbox.wallet.clients import local_wallet_name
from sandbox.wallet.models import Grant, Wallet
from sandbox.wallet.spending import spending_window, spent_under
from sandbox.wallet.state import WalletState
from sandbox.wallet.timeutil import iso


async def active_grants(
    state: WalletState, session: AsyncSession, wallet: str | None = None
) -> list[dict[str, Any]]:
    """Oldest first; `wallet` keeps only the grants spending (or reading) from that wallet."""
    query = (
        select(Grant)
        .where(
            Grant.interact_id.is_not(None),
            Grant.state != "pending",
            Grant.finalization.is_(None) | (Grant.finalization == "issued"),
        )
        .order_by(Grant.created_at)
    )
    wallets = {w.name: w for w in (await session.scalars(select(Wallet))).all()}
    views = []
    for grant in (await session.scalars(query)).all():
        item = next((a for a in grant.access if a["type"] == "outgoing-payment"), None)
        name = local_wallet_name(state, item["identifier"]) if item else None
        if item is None or name not in wallets or wallet not in (None, name):
            continue
        client = wallets.get(local_wallet_name(state, grant.client) or "")
        client_name = client.public_name if client else grant.client
        views.append(await _view(session, grant, item, wallets[name], client_name))
    return views


async def _view(
    session: AsyncSession, grant: Grant, item: dict[str, Any], wallet: Wallet, client_name: str
) -> dict[str, Any]:
    limits: dict[str, Any] = item.get("limits", {})
    window = spending_window(limits, time.time())
    spent: int | None = None
    if window is not None:
        spent = (await spent_under(session, grant.id, window))[0]
    asset = {"assetCode": wallet.asset_code, "assetScale": wallet.asset_scale}
    return {
        "id": grant.id,
        "wallet": wallet.name,
        "client": grant.client,
        "clientName": client_name,
        "actions": list(item.get("actions", [])),
        "limits": limits,
        "interval": limits.get("interval"),
        "allowance": allowance_words(item, client_name),
        # Debits in the current interval (all time without one); None outside every interval.
        "spentDebit": None if spent is None else str(spent),
        "spentText": "—"
        if not spends(item)
        else "outside every interval"
        if spent is None
        else money({"value": str(spent), **asset}),
        "intervalEnds": iso(window[1]) if window and limits.get("interval") else None,
        "createdAt": iso(grant.created_at),
    }
