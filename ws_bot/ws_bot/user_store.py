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

from shared.sql import Executor, from_json, to_json
from ws_bot import identity
from ws_bot import store as st

# What `update` may set (column names are spelled into its SQL, so only these are accepted).
_UPDATABLE = frozenset({"name", "language", "wallet_url", "wallet_asset", "state", "pending"})
# Where a user's WhatsApp id appears in other tables: a number change moves these too.
_POINTERS = (
    ("ws_contacts", "owner"),
    ("ws_drafts", "wa_id"),
    ("ws_drafts", "receiver_wa_id"),
    ("ws_payments", "wa_id"),
    ("ws_payments", "receiver_wa_id"),
    ("ws_sent_notices", "wa_id"),
)


@dataclass
class User:
    wa_id: str
    name: str
    language: str | None
    wallet_url: str | None
    wallet_asset: str | None
    state: str
    pending: dict[str, Any] | None


def _user(row: dict[str, Any]) -> User:
    return User(
        wa_id=row["wa_id"],
        name=row["name"],
        language=row["language"],
        wallet_url=row["wallet_url"],
        wallet_asset=row["wallet_asset"],
        state=row["state"],
        pending=from_json(row["pending"]),
    )


class UserStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.db = store.db

    async def get(self, wa_id: str) -> User | None:
        rows = await self.db.read("SELECT * FROM ws_users WHERE wa_id = $1", wa_id)
        return _user(rows[0]) if rows else None

    async def ensure(self, wa_id: str, name: str) -> User:
        """The user, created on first contact; the WhatsApp profile name kept current."""
        name = name[:256]
        known = await self.get(wa_id)
        if known is not None and (not name or known.name == name):
            return known  # the common case needs no write
        now = time.time()
        # Two first messages racing make one user; an empty name never replaces a known one.
        await self.db.execute(
            "INSERT INTO ws_users (wa_id, name, state, created_at, updated_at)"
            " VALUES ($1, $2, 'new', $3, $3)"
            " ON CONFLICT (wa_id) DO UPDATE SET name = excluded.name"
            " WHERE excluded.name <> '' AND ws_users.name <> excluded.name",
            wa_id,
            name,
            now,
        )
        user = await self.get(wa_id)
        assert user is not None
        return user

    async def update(self, wa_id: str, **values: Any) -> None:
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not a user column: {sorted(unknown)}")
        if "pending" in values:
            values["pending"] = to_json(values["pending"])
        values["updated_at"] = time.time()
        columns = ", ".join(f"{column} = ${n}" for n, column in enumerate(values, start=2))
        # Column names come from _UPDATABLE alone; the values travel as arguments.
        await self.db.execute(
            f"UPDATE ws_users SET {columns} WHERE wa_id = $1",  # noqa: S608
            wa_id,
            *values.values(),
        )

    async def find_by_phone(self, phone: str) -> User | None:
        key = identity.canonical(phone)  # "+52 1 55…", "5255…" and "52155…" are one person
        return await self.get(key) if key else None

    async def find_by_wallet(self, wallet_url: str) -> User | None:
        """The registered user whose own wallet is `wallet_url` (to tell recipients they got
        paid)."""
        rows = await self.db.read(
            "SELECT * FROM ws_users WHERE wallet_url = $1 LIMIT 1", wallet_url
        )
        return _user(rows[0]) if rows else None

    async def record_inbound(self, wa_id: str, at: float) -> float | None:
        """Remember the user's newest message time (never moved back); the previous one.

        Most messages are newer than the last one seen, a few are not: only the former write,
        and the conditional upsert keeps the newest time even when two messages race.
        """
        before = await self.last_inbound(wa_id)
        if before is not None and at <= before:
            return before
        await self.db.execute(
            "INSERT INTO ws_last_inbound (wa_id, at) VALUES ($1, $2)"
            " ON CONFLICT (wa_id) DO UPDATE SET at = excluded.at"
            " WHERE ws_last_inbound.at < excluded.at",
            wa_id,
            float(at),
        )
        return before

    async def last_inbound(self, wa_id: str) -> float | None:
        """When the user last wrote (their message's own timestamp), if ever."""
        rows = await self.db.read("SELECT at FROM ws_last_inbound WHERE wa_id = $1", wa_id)
        return float(rows[0]["at"]) if rows else None

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
        async with self.db.transaction() as tx:
            return await _move(tx, old, new)


async def _move(tx: Executor, old: str, new: str) -> bool:
    if await tx.fetchrow("SELECT wa_id FROM ws_users WHERE wa_id = $1", old) is None:
        return False
    taken = await tx.fetchrow("SELECT wallet_url FROM ws_users WHERE wa_id = $1", new)
    if taken is None or taken["wallet_url"] is None:
        await tx.execute("DELETE FROM ws_users WHERE wa_id = $1", new)
        await tx.execute("DELETE FROM ws_last_inbound WHERE wa_id = $1", new)
        await tx.execute("UPDATE ws_users SET wa_id = $2 WHERE wa_id = $1", old, new)
        await tx.execute("UPDATE ws_last_inbound SET wa_id = $2 WHERE wa_id = $1", old, new)
    for table, column in _POINTERS:
        # Table and column names come from _POINTERS alone.
        await tx.execute(
            f"UPDATE {table} SET {column} = $2 WHERE {column} = $1",  # noqa: S608
            old,
            new,
        )
    await tx.execute(
        "UPDATE ws_contacts SET phone = $3 WHERE phone = $1 OR phone = $2",
        old,
        f"+{old}",
        f"+{new}",
    )
    return True
