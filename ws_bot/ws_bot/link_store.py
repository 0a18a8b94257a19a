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
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from shared.sql import Row, from_json, to_json
from ws_bot import store as st
from ws_bot import user_store


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


def _row(r: Row) -> Link:
    # The dataclass's fields are the table's columns, by the same names.
    values = {f.name: r[f.name] for f in fields(Link)}
    values.update(status=LinkState(r["status"]), allowance=from_json(r["allowance"]))
    return Link(**values)


# The f-strings below assemble SQL from this module's constants and the database's dialect
# spellings only (hence the S608 waivers); every value travels as a parameter.
class LinkStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.db = store.db

    async def add(self, link: Link, next_check_at: float) -> bool:
        """Remember a link op_api created; False when it was already known (a replayed tap)."""
        added = await self.db.execute(
            "INSERT INTO ws_links (id, wa_id, wallet_url, status, allowance, created_at,"
            " updated_at, next_check_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)"
            " ON CONFLICT DO NOTHING",
            link.id,
            link.wa_id,
            link.wallet_url,
            link.status.value,
            to_json(link.allowance),
            link.created_at,
            next_check_at,
        )
        return added == 1

    async def get(self, link_id: str) -> Link | None:
        rows = await self.db.read("SELECT * FROM ws_links WHERE id = $1", link_id)
        return _row(rows[0]) if rows else None

    async def move(
        self, link_id: str, expect: tuple[LinkState, ...], status: LinkState, now: float
    ) -> bool:
        """Move a link from one of `expect` to `status`; True for the one caller that did."""
        changed = await self.db.execute(
            "UPDATE ws_links SET status = $2, updated_at = $3"  # noqa: S608
            f" WHERE id = $1 AND status {self.db.one_of('$4')}",
            link_id,
            status.value,
            now,
            self.db.array(s.value for s in expect),
        )
        return changed == 1

    async def wallet_revoked(self, link_id: str) -> bool:
        """The wallet revoked the link's grant (op_api found it so): still verified, no more
        one tap; True for the one caller that recorded it (and tells the user)."""
        return await self.move(
            link_id, (LinkState.ACTIVE,), LinkState.ALLOWANCE_REVOKED, time.time()
        )

    async def due(self, now: float, next_check_at: float, limit: int = 20) -> list[Link]:
        """Pending links whose check is due; each is pushed back to `next_check_at` in one claim
        (so two replicas sweeping together do not both ask op_api about it)."""
        rows = await self.db.fetch(
            "UPDATE ws_links SET next_check_at = $2 WHERE id IN ("  # noqa: S608
            "SELECT id FROM ws_links WHERE status = $3 AND next_check_at <= $1"
            f" ORDER BY next_check_at LIMIT $4{self.db.skip_locked}) RETURNING *",
            now,
            next_check_at,
            LinkState.PENDING.value,
            limit,
        )
        return sorted((_row(r) for r in rows), key=lambda k: k.created_at)

    async def of_user(self, wa_id: str, states: tuple[LinkState, ...] = LIVE) -> list[Link]:
        """The user's links in `states`, newest first."""
        rows = await self.db.read(
            f"SELECT * FROM ws_links WHERE wa_id = $1 AND status {self.db.one_of('$2')}"  # noqa: S608
            " ORDER BY created_at DESC",
            wa_id,
            self.db.array(s.value for s in states),
        )
        return [_row(r) for r in rows]

    async def of_wallet(self, wallet_url: str, states: tuple[LinkState, ...] = LIVE) -> list[Link]:
        """Every user's links to `wallet_url` in `states`, newest first."""
        rows = await self.db.read(
            f"SELECT * FROM ws_links WHERE wallet_url = $1 AND status {self.db.one_of('$2')}"  # noqa: S608
            " ORDER BY created_at DESC",
            wallet_url,
            self.db.array(s.value for s in states),
        )
        return [_row(r) for r in rows]

    async def follow_number(self, old: str, new: str) -> None:
        """The user changed number (`store.move_user` moved them): their links go along, so
        the wallet they proved theirs stays verified. Nothing moves when the user stayed at
        `old` (a row at the new number with a wallet of its own kept its place)."""
        if await self.store.users.get(old) is not None:
            return
        await self.db.execute("UPDATE ws_links SET wa_id = $2 WHERE wa_id = $1", old, new)

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
