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

The tables themselves are described in schema.py, for the migrations only: nothing here imports
SQLAlchemy at run time (issue 12: it cost more than the statements themselves).
"""

from __future__ import annotations

from pathlib import Path

from shared.sql import Database, open_database
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


class Store:
    """The gateway's database, and its repositories (one per concern)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.contacts = contact_store.ContactStore(self)
        self.drafts = draft_store.DraftStore(self)
        self.inbox = inbox_store.InboxStore(self)
        self.notices = notice_store.NoticeStore(self)
        self.payments = payment_store.PaymentStore(self)
        self.turns = turn_store.TurnStore(self)
        self.users = user_store.UserStore(self)

    @classmethod
    async def open(cls, database_url: str | None, sqlite_path: Path) -> Store:
        """The gateway's database at `database_url`, or the SQLite file at `sqlite_path`."""
        return cls(await open_database(database_url, sqlite_path))

    async def ping(self) -> bool:
        """Readiness: the database answers a statement."""
        await self.db.read("SELECT 1")
        return True

    async def close(self) -> None:
        self.inbox.close()
        await self.db.close()

    async def create(self) -> None:
        """Create or upgrade the gateway's tables to the newest schema (`ws_bot.migrations`)."""
        await MIGRATIONS.ensure(self.db)
