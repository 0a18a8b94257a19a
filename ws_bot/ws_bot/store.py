"""Durable state of the gateway (SQLite by default, PostgreSQL via DATABASE_URL).

`Store` owns what every table shares: the database (`db`, shared.sql: plain SQL on the stdlib
sqlite3 or asyncpg) and its upgrade to the newest schema (`ws_bot.migrations`). Each concern's
queries live in a repository module beside this one, reached through one attribute:

- `store.inbox` (inbox_store.py): webhook bodies and the messages split from them;
- `store.users` (user_store.py): users, their last inbound time, number moves;
- `store.contacts` (contact_store.py): the address book;
- `store.drafts` (draft_store.py): payments being put together, up to the confirmation;
- `store.turns` (turn_store.py): recent understood messages, context for llm_back;
- `store.payments` (payment_store.py): confirmed payments followed at op_api;
- `store.notices` (notice_store.py): notices that may need their template.

Money requests (request_store.py) and wallet links (link_store.py, issue 17) follow the same
pattern and are built by their flows. Every
exactly-once step is a conditional UPDATE whose rowcount (or RETURNING) says who won.

`engine` (SQLAlchemy), `_write` and `_insert_ignore` remain only for the repositories that have
not moved to `db` yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import create_engine
from shared.sql import Database, from_json, open_database, to_json
from ws_bot import (
    contact_store,
    draft_store,
    inbox_store,
    notice_store,
    payment_store,
    turn_store,
    user_store,
)
from ws_bot.migrations import MIGRATIONS


def clip(value: str | None, limit: int) -> str | None:
    """Column limits are enforced by PostgreSQL (not SQLite): clip free text before storing."""
    return value[:limit] if value is not None else None


# The repositories' JSON columns read and write through these (kept here for their imports).
__all__ = ["Store", "clip", "from_json", "rowcount", "to_json"]


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE changed: how a conditional update tells the caller who won."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class Store:
    """The gateway's database, and its repositories (one per concern).

    `db` (shared.sql: plain SQL on sqlite3 / asyncpg) is what repositories use; `engine`
    (SQLAlchemy) remains only while repositories move over to `db`.
    """

    def __init__(self, engine: AsyncEngine, db: Database) -> None:
        self.engine = engine
        self.db = db
        # SQLite has one writer at a time, and a writer that finds the file locked sleeps in
        # growing steps (up to 100 ms). Queueing our own writes behind an asyncio lock means
        # SQLite never sees two of them at once; PostgreSQL needs no such thing.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else None
        )
        self.contacts = contact_store.ContactStore(self)
        self.drafts = draft_store.DraftStore(self)
        self.inbox = inbox_store.InboxStore(self)
        self.notices = notice_store.NoticeStore(self)
        self.payments = payment_store.PaymentStore(self)
        self.turns = turn_store.TurnStore(self)
        self.users = user_store.UserStore(self)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (serialised within this process on SQLite, first come first
        served: acks and the worker take turns, so neither starves under a burst)."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @classmethod
    async def open(cls, database_url: str | None, sqlite_path: Path) -> Store:
        """The gateway's database at `database_url`, or the SQLite file at `sqlite_path`."""
        engine = create_engine(database_url, sqlite_path)
        return cls(engine, await open_database(database_url, sqlite_path))

    async def close(self) -> None:
        await self.db.close()
        await self.engine.dispose()

    async def create(self) -> None:
        """Create or upgrade the gateway's tables to the newest schema (`ws_bot.migrations`)."""
        await MIGRATIONS.ensure(self.db)

    def _insert_ignore(self, table: Table) -> Any:
        # "Insert unless already there" is how the dedupe survives races and restarts.
        if self.engine.dialect.name == "postgresql":
            return pg_insert(table).on_conflict_do_nothing()
        return sqlite_insert(table).on_conflict_do_nothing()
