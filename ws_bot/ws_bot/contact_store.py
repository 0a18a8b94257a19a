"""The address book (`ws_contacts`): the names a user saved for other people's wallets or
phone numbers. One row per owner and name, the name compared case- and accent-insensitively
(`alias_key`, unique per owner); saving an existing name overwrites it. No exactly-once rule:
the last save wins."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import (
    delete,
    insert,
    select,
    update,
)

from ws_bot import store as st
from ws_bot.phrases import fold
from ws_bot.schema import contacts


@dataclass
class Contact:
    alias: str
    wallet_url: str | None
    phone: str | None


def alias_key(alias: str) -> str:
    """Address-book key: case- and accent-insensitive, spaces collapsed ("José" = "jose")."""
    return fold(alias)[:128]


class ContactStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def save(
        self, owner: str, alias: str, wallet_url: str | None, phone: str | None = None
    ) -> None:
        key = alias_key(alias)
        now = time.time()
        async with self.store._write() as conn:
            result = await conn.execute(
                update(contacts)
                .where(contacts.c.owner == owner, contacts.c.alias_key == key)
                .values(
                    alias=alias.strip()[:128],
                    wallet_url=wallet_url,
                    phone=st.clip(phone, 32),
                    updated_at=now,
                )
            )
            if st.rowcount(result) == 0:
                await conn.execute(
                    insert(contacts).values(
                        owner=owner,
                        alias=alias.strip()[:128],
                        alias_key=key,
                        wallet_url=wallet_url,
                        phone=st.clip(phone, 32),
                        updated_at=now,
                    )
                )

    async def find(self, owner: str, alias: str) -> Contact | None:
        """The contact saved under exactly this name (case and accents aside)."""
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(contacts).where(
                        contacts.c.owner == owner, contacts.c.alias_key == alias_key(alias)
                    )
                )
            ).first()
        return Contact(row.alias, row.wallet_url, row.phone) if row else None

    async def match(self, owner: str, name: str) -> list[Contact]:
        """The contacts `name` means: the exact one, else every one whose name starts with
        those words ("Pedro" finds "Pedro Sánchez"; "juan" finds Juan Pérez and Juan García)."""
        exact = await self.find(owner, name)
        key = alias_key(name)
        if exact is not None or not key:
            return [exact] if exact else []
        book = await self.book(owner)
        return [c for c in book if alias_key(c.alias).startswith(key + " ")]

    async def book(self, owner: str) -> list[Contact]:
        """The owner's whole address book, by name."""
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(contacts).where(contacts.c.owner == owner).order_by(contacts.c.alias_key)
                )
            ).all()
        return [Contact(r.alias, r.wallet_url, r.phone) for r in rows]

    async def delete(self, owner: str, alias: str) -> bool:
        async with self.store._write() as conn:
            result = await conn.execute(
                delete(contacts).where(
                    contacts.c.owner == owner, contacts.c.alias_key == alias_key(alias)
                )
            )
        return st.rowcount(result) > 0
