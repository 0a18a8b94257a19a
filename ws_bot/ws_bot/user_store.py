"""Users (`ws_users`) and when each last wrote (`ws_last_inbound`).

A user is keyed by their WhatsApp id: their profile name, language, own wallet, onboarding
step and pending question. Created on first contact by an insert that ignores a row already
there, so two first messages racing make one user. The last inbound time (the 24-hour window,
see window.py) only moves forward: a conditional UPDATE keeps the newest time when two
messages race. A number change moves the user and everything that points at them in one
transaction (`move`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from ws_bot import identity
from ws_bot import store as st
from ws_bot.schema import contacts, drafts, last_inbound, payments, sent_notices, users


@dataclass
class User:
    wa_id: str
    name: str
    language: str | None
    wallet_url: str | None
    wallet_asset: str | None
    state: str
    pending: dict[str, Any] | None


class UserStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def get(self, wa_id: str) -> User | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.wa_id == wa_id))).first()
        if row is None:
            return None
        return User(
            wa_id=row.wa_id,
            name=row.name,
            language=row.language,
            wallet_url=row.wallet_url,
            wallet_asset=row.wallet_asset,
            state=row.state,
            pending=st.from_json(row.pending),
        )

    async def ensure(self, wa_id: str, name: str) -> User:
        """The user, created on first contact; the WhatsApp profile name kept current."""
        known = await self.get(wa_id)
        if known is not None and (not name or known.name == name[:256]):
            return known  # the common case needs no write (and no wait for the write lock)
        now = time.time()
        async with self.store._write() as conn:
            await conn.execute(
                self.store._insert_ignore(users).values(
                    wa_id=wa_id, name=name[:256], state="new", created_at=now, updated_at=now
                )
            )
            if name:
                await conn.execute(
                    update(users)
                    .where(users.c.wa_id == wa_id, users.c.name != name[:256])
                    .values(name=name[:256])
                )
        user = await self.get(wa_id)
        assert user is not None
        return user

    async def update(self, wa_id: str, **values: Any) -> None:
        if "pending" in values:
            values["pending"] = st.to_json(values["pending"])
        values["updated_at"] = time.time()
        async with self.store._write() as conn:
            await conn.execute(update(users).where(users.c.wa_id == wa_id).values(**values))

    async def find_by_phone(self, phone: str) -> User | None:
        key = identity.canonical(phone)  # "+52 1 55…", "5255…" and "52155…" are one person
        return await self.get(key) if key else None

    async def find_by_wallet(self, wallet_url: str) -> User | None:
        """The registered user whose own wallet is `wallet_url` (to tell recipients they got
        paid)."""
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(select(users.c.wa_id).where(users.c.wallet_url == wallet_url))
            ).first()
        return await self.get(row.wa_id) if row else None

    async def record_inbound(self, wa_id: str, at: float) -> float | None:
        """Remember the user's newest message time (never moved back); the previous one.

        Most messages are newer than the last one seen, a few are not: only the former write,
        and the conditional UPDATE keeps the newest time even when two messages race.
        """
        before = await self.last_inbound(wa_id)
        if before is not None and at <= before:
            return before
        async with self.store._write() as conn:
            await conn.execute(self.store._insert_ignore(last_inbound).values(wa_id=wa_id, at=at))
            await conn.execute(
                update(last_inbound)
                .where(last_inbound.c.wa_id == wa_id, last_inbound.c.at < at)
                .values(at=at)
            )
        return before

    async def last_inbound(self, wa_id: str) -> float | None:
        """When the user last wrote (their message's own timestamp), if ever."""
        async with self.store.engine.connect() as conn:
            at = (
                await conn.execute(select(last_inbound.c.at).where(last_inbound.c.wa_id == wa_id))
            ).scalar()
        return float(at) if at is not None else None

    async def move(self, old: str, new: str) -> bool:
        """A user changed their number: move them, and what points at them, to the new key.

        Their row (language, wallet), their address book and drafts, their payments (as payer
        and as payee), other users' contacts saved with the old number, and the window
        bookkeeping. A row already created for the new number by a first message from it gives
        way, unless it holds a wallet of its own (then only what points at the old number
        moves).
        """
        if old == new:
            return False
        async with self.store._write() as conn:
            if (
                await conn.execute(select(users.c.wa_id).where(users.c.wa_id == old))
            ).first() is None:
                return False
            taken = (
                await conn.execute(select(users.c.wallet_url).where(users.c.wa_id == new))
            ).first()
            if taken is None or taken.wallet_url is None:
                await conn.execute(delete(users).where(users.c.wa_id == new))
                await conn.execute(delete(last_inbound).where(last_inbound.c.wa_id == new))
                await conn.execute(update(users).where(users.c.wa_id == old).values(wa_id=new))
                await conn.execute(
                    update(last_inbound).where(last_inbound.c.wa_id == old).values(wa_id=new)
                )
            moves = [
                (contacts, contacts.c.owner),
                (drafts, drafts.c.wa_id),
                (drafts, drafts.c.receiver_wa_id),
                (payments, payments.c.wa_id),
                (payments, payments.c.receiver_wa_id),
                (sent_notices, sent_notices.c.wa_id),
            ]
            for table, column in moves:
                await conn.execute(update(table).where(column == old).values({column.name: new}))
            await conn.execute(
                update(contacts)
                .where(contacts.c.phone.in_([old, f"+{old}"]))
                .values(phone=f"+{new}")
            )
        return True
