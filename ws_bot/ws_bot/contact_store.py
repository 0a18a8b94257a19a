"""The address book (`ws_contacts`): the names a user saved for other people's wallets or
phone numbers. One row per owner and name, the name compared case- and accent-insensitively
(`alias_key`, unique per owner); saving an existing name overwrites it. No exactly-once rule:
the last save wins."""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.sql import Row
from ws_bot import store as st
from ws_bot.phrases import fold


@dataclass
class Contact:
    alias: str
    wallet_url: str | None
    phone: str | None


def alias_key(alias: str) -> str:
    """Address-book key: case- and accent-insensitive, spaces collapsed ("José" = "jose")."""
    return fold(alias)[:128]


def _contact(row: Row) -> Contact:
    return Contact(row["alias"], row["wallet_url"], row["phone"])


class ContactStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def save(
        self, owner: str, alias: str, wallet_url: str | None, phone: str | None = None
    ) -> None:
        # One statement, so two saves of a new name at once both land (the later wins).
        await self.store.db.execute(
            "INSERT INTO ws_contacts (owner, alias, alias_key, wallet_url, phone, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (owner, alias_key) DO UPDATE SET alias = excluded.alias,"
            " wallet_url = excluded.wallet_url, phone = excluded.phone,"
            " updated_at = excluded.updated_at",
            owner,
            alias.strip()[:128],
            alias_key(alias),
            wallet_url,
            st.clip(phone, 32),
            time.time(),
        )

    async def find(self, owner: str, alias: str) -> Contact | None:
        """The contact saved under exactly this name (case and accents aside)."""
        rows = await self.store.db.read(
            "SELECT * FROM ws_contacts WHERE owner = $1 AND alias_key = $2",
            owner,
            alias_key(alias),
        )
        return _contact(rows[0]) if rows else None

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
        rows = await self.store.db.read(
            "SELECT * FROM ws_contacts WHERE owner = $1 ORDER BY alias_key", owner
        )
        return [_contact(row) for row in rows]

    async def delete(self, owner: str, alias: str) -> bool:
        changed = await self.store.db.execute(
            "DELETE FROM ws_contacts WHERE owner = $1 AND alias_key = $2", owner, alias_key(alias)
        )
        return changed > 0
