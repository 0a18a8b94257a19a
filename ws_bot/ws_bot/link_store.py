"""Wallet links as the gateway remembers them (`ws_links`, issue 17): which WhatsApp user asked
to link which wallet, op_api's link id, the allowance chosen, and where the link is.

A user's wallet is *verified* while one of their links to it is `active` (or `allowance_revoked`:
the wallet revoked the spending allowance, which still proved the wallet theirs). Only a
verified owner pays from a wallet or hears that it was paid; a wallet has at most one verified
owner (a newer link takes it over). Status moves only by conditional updates, so each outcome is
told exactly once across replicas.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from ws_bot import store as st
from ws_bot import user_store
from ws_bot.schema import links


class LinkState(StrEnum):
    PENDING = "pending"  # waiting for the owner's approval at the wallet
    ACTIVE = "active"
    ALLOWANCE_REVOKED = "allowance_revoked"  # revoked at the wallet: verified, no one-tap
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    UNLINKED = "unlinked"  # "desvincular": revoked at op_api
    REPLACED = "replaced"  # the same user linked again (new allowance, new wallet, new try)
    TAKEN = "taken"  # another number linked the same wallet


VERIFIED = (LinkState.ACTIVE, LinkState.ALLOWANCE_REVOKED)
LIVE = (LinkState.PENDING, *VERIFIED)  # still holds (or may hold) a grant at the wallet


@dataclass
class Link:
    id: str
    wa_id: str
    wallet_url: str
    status: LinkState
    allowance: dict[str, Any] | None
    created_at: float

    @property
    def one_tap(self) -> bool:
        """Payments within the allowance need only the chat's Confirm."""
        return self.status == LinkState.ACTIVE and self.allowance is not None


def _row(r: Any) -> Link:
    return Link(
        id=r.id,
        wa_id=r.wa_id,
        wallet_url=r.wallet_url,
        status=LinkState(r.status),
        allowance=st.from_json(r.allowance),
        created_at=r.created_at,
    )


class LinkStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.engine = store.engine

    async def add(self, link: Link, next_check_at: float) -> bool:
        """Remember a link op_api created; False when it was already known (a replayed tap)."""
        if await self.get(link.id) is not None:
            return False
        async with self.store._write() as conn:  # the gateway's one writer queue
            await conn.execute(
                self.store._insert_ignore(links).values(
                    id=link.id,
                    wa_id=link.wa_id,
                    wallet_url=link.wallet_url,
                    status=link.status.value,
                    allowance=st.to_json(link.allowance),
                    created_at=link.created_at,
                    updated_at=link.created_at,
                    next_check_at=next_check_at,
                )
            )
        return True

    async def get(self, link_id: str) -> Link | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(links).where(links.c.id == link_id))).first()
        return _row(row) if row is not None else None

    async def move(
        self, link_id: str, expect: tuple[LinkState, ...], status: LinkState, now: float
    ) -> bool:
        """Move a link from one of `expect` to `status`; True for the one caller that did."""
        async with self.store._write() as conn:  # the gateway's one writer queue
            result = await conn.execute(
                update(links)
                .where(links.c.id == link_id, links.c.status.in_([s.value for s in expect]))
                .values(status=status.value, updated_at=now)
            )
        return bool(result.rowcount == 1)

    async def wallet_revoked(self, link_id: str) -> bool:
        """The wallet revoked the link's grant (op_api found it so): still verified, no more
        one tap; True for the one caller that recorded it (and tells the user)."""
        return await self.move(
            link_id, (LinkState.ACTIVE,), LinkState.ALLOWANCE_REVOKED, time.time()
        )

    async def due(self, now: float, next_check_at: float, limit: int = 20) -> list[Link]:
        """Pending links whose check is due; each is pushed back to `next_check_at` (so two
        replicas sweeping together do not both ask op_api about it)."""
        async with self.store._write() as conn:  # the gateway's one writer queue
            rows = (
                await conn.execute(
                    select(links)
                    .where(links.c.status == LinkState.PENDING, links.c.next_check_at <= now)
                    .order_by(links.c.next_check_at)
                    .limit(limit)
                )
            ).all()
            if rows:
                await conn.execute(
                    update(links)
                    .where(
                        links.c.id.in_([r.id for r in rows]),
                        links.c.status == LinkState.PENDING,
                    )
                    .values(next_check_at=next_check_at)
                )
        return [_row(r) for r in rows]

    async def of_user(self, wa_id: str, states: tuple[LinkState, ...] = LIVE) -> list[Link]:
        """The user's links in `states`, newest first."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(links)
                    .where(links.c.wa_id == wa_id, links.c.status.in_([s.value for s in states]))
                    .order_by(links.c.created_at.desc())
                )
            ).all()
        return [_row(r) for r in rows]

    async def of_wallet(self, wallet_url: str, states: tuple[LinkState, ...] = LIVE) -> list[Link]:
        """Every user's links to `wallet_url` in `states`, newest first."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(links)
                    .where(
                        links.c.wallet_url == wallet_url,
                        links.c.status.in_([s.value for s in states]),
                    )
                    .order_by(links.c.created_at.desc())
                )
            ).all()
        return [_row(r) for r in rows]

    async def follow_number(self, old: str, new: str) -> None:
        """The user changed number (`store.move_user` moved them): their links go along, so
        the wallet they proved theirs stays verified. Nothing moves when the user stayed at
        `old` (a row at the new number with a wallet of its own kept its place)."""
        if await self.store.users.get(old) is not None:
            return
        async with self.store._write() as conn:  # the gateway's one writer queue
            await conn.execute(update(links).where(links.c.wa_id == old).values(wa_id=new))

    async def current(self, user: user_store.User) -> Link | None:
        """The link that makes the user's own wallet verified, if any (the newest)."""
        if not user.wallet_url:
            return None
        mine = await self.of_user(user.wa_id, VERIFIED)
        return next((k for k in mine if k.wallet_url == user.wallet_url), None)

    async def verified_owner(self, wallet_url: str | None) -> user_store.User | None:
        """The one user who proved `wallet_url` theirs and still has it as their wallet: the
        only one told it was paid, and the only one a payment to "their number" may reach."""
        if not wallet_url:
            return None
        for link in await self.of_wallet(wallet_url, VERIFIED):
            user = await self.store.users.get(link.wa_id)
            if user is not None and user.wallet_url == wallet_url:
                return user
        return None
