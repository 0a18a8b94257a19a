"""The inbox (`ws_webhooks`, `ws_inbox`): signed webhook bodies stored before the 200, and the
messages the worker splits them into, one row per WhatsApp message id.

Bodies are appended in group commits (one transaction for a burst) and split later; the message
id is unique, so filing the same message again (a Meta retry, another replica) is ignored: that
is the dedupe, across restarts and replicas. A row is handled by whoever claims its lease with a
conditional UPDATE (pending, lease free or lapsed): one message at a time per user, in the order
the messages were sent. Handled rows keep their message id after their content is pruned.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import (
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from ws_bot import store as st
from ws_bot.schema import inbox, webhooks

MAX_BATCH = 200  # webhook bodies per group commit
SPLIT_BATCH = 100  # webhook bodies split per transaction
INSERT_CHUNK = 500  # inbox rows per INSERT (6 parameters each: far below either database's cap)


@dataclass(frozen=True)
class StoredWebhook:
    id: int
    body: bytes


@dataclass(frozen=True)
class Filed:
    """What filing split webhooks did: messages new to the inbox, already there, bodies marked."""

    new: int
    duplicate: int
    bad: int


class InboxMessage(NamedTuple):
    """One message of a webhook body, as the worker files it in the inbox."""

    message_id: str
    wa_id: str
    payload: bytes  # a single-message webhook update, as pywa reads it
    sent_at: float  # the message's own timestamp (0 when it carries none)


def in_sent_order(messages: list[InboxMessage]) -> list[InboxMessage]:
    """Oldest first: Meta may deliver a user's messages out of order, and rows are handled in
    the order they are filed. A message without a timestamp keeps its place after the one
    before it (the sort is stable)."""
    keyed: list[tuple[float, InboxMessage]] = []
    last = 0.0
    for message in messages:
        last = message.sent_at or last
        keyed.append((last, message))
    return [message for _, message in sorted(keyed, key=lambda pair: pair[0])]


@dataclass(frozen=True)
class InboxItem:
    id: int
    message_id: str
    wa_id: str
    payload: bytes
    attempts: int


class _SqliteBodyAppender:
    """Appends webhook bodies to SQLite with the stdlib `sqlite3` on one dedicated thread.

    The ack waits on this insert, and through SQLAlchemy + aiosqlite it was most of the ack's
    CPU (bench/webhook_ack: several thread hops and a statement compile per group commit). Here
    a group commit is one hop and one executemany. Durability is the same: WAL with
    synchronous=FULL, so a returned commit is on disk.
    """

    _SQL = "INSERT INTO ws_webhooks (body, status, received_at) VALUES (?, 'pending', ?)"

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ws-bodies")

    def _append(self, rows: list[tuple[bytes, float]]) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(self._path, timeout=30)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
        connection = self._connection
        try:
            connection.executemany(self._SQL, rows)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise

    async def append(self, rows: list[tuple[bytes, float]]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._append, rows)


class InboxStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        engine = store.engine
        self._appender = (
            _SqliteBodyAppender(str(engine.url.database))
            if engine.dialect.name == "sqlite"
            else None
        )
        self._flusher: asyncio.Task[None] | None = None

    async def store_webhook(self, body: bytes) -> None:
        """Store one signed webhook body; return once it is durably committed.

        Bodies arriving together are written in one transaction (group commit): one disk flush
        for a burst instead of one per request, and each caller still returns only once its row
        is committed. Nothing else happens here: splitting and dedupe are the worker's.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((body, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_pending())
        await done

    async def _flush_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            now = time.time()
            try:
                await self._append_bodies([(body, now) for body, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _append_bodies(self, rows: list[tuple[bytes, float]]) -> None:
        if self._appender is not None and self.store._write_lock is not None:
            async with self.store._write_lock:  # SQLite's one writer: our own writers take turns
                await self._appender.append(rows)
            return
        async with self.store._write() as conn:
            # executemany of one cached statement: not recompiled per batch size.
            await conn.execute(
                insert(webhooks),
                [{"body": body, "status": "pending", "received_at": at} for body, at in rows],
            )

    async def pending_webhooks(self, limit: int = SPLIT_BATCH) -> list[StoredWebhook]:
        """The oldest bodies not split yet (several replicas may read the same ones: filing is
        idempotent)."""
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(webhooks.c.id, webhooks.c.body)
                    .where(webhooks.c.status == "pending")
                    .order_by(webhooks.c.id)
                    .limit(limit)
                )
            ).all()
        return [StoredWebhook(row.id, bytes(row.body)) for row in rows]

    async def file_webhooks(
        self, split: list[tuple[int, list[InboxMessage]]], bad: list[tuple[int, str]]
    ) -> Filed:
        """In one transaction: add the messages of the `split` bodies to the inbox (a message id
        already there is ignored: that is the dedupe, across restarts and replicas), mark those
        bodies split, and mark the `bad` ones with their reason. Messages filed together go in
        the order they were sent, whatever order their bodies arrived in."""
        messages = in_sent_order([item for _, items in split for item in items])
        new_ids: set[str] = set()
        async with self.store._write() as conn:
            if messages:
                now = time.time()
                rows = [
                    {
                        "message_id": message_id,
                        "wa_id": wa_id,
                        "payload": payload.decode(),
                        "status": "pending",
                        "attempts": 0,
                        "received_at": now,
                        "sent_at": sent_at or None,
                    }
                    for message_id, wa_id, payload, sent_at in messages
                ]
                for start in range(0, len(rows), INSERT_CHUNK):
                    result = await conn.execute(
                        self.store._insert_ignore(inbox)
                        .values(rows[start : start + INSERT_CHUNK])
                        .returning(inbox.c.message_id)
                    )
                    new_ids.update(row[0] for row in result)
            if split:
                await conn.execute(
                    update(webhooks)
                    .where(webhooks.c.id.in_([i for i, _ in split]), webhooks.c.status == "pending")
                    .values(status="split")
                )
            for row_id, reason in bad:
                await conn.execute(
                    update(webhooks)
                    .where(webhooks.c.id == row_id, webhooks.c.status == "pending")
                    .values(status="bad", note=reason[:256])
                )
        new = len({message.message_id for message in messages} & new_ids)
        return Filed(new=new, duplicate=len(messages) - new, bad=len(bad))

    async def claim(self, owner: str, lease: float, limit: int, busy: set[str]) -> list[InboxItem]:
        """Claim up to `limit` pending rows: each user's first row in the order their messages
        were sent (`sent_at`, else arrival), skipping users in `busy` and users with a row
        leased elsewhere (one message at a time per user, across replicas, keeps their order)."""
        now = time.time()
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(inbox.c.id, inbox.c.wa_id, inbox.c.lease_until)
                    .where(inbox.c.status == "pending")
                    .order_by(func.coalesce(inbox.c.sent_at, inbox.c.received_at), inbox.c.id)
                    .limit(max(limit * 20, 100))
                )
            ).all()
        chosen: list[int] = []
        seen: set[str] = set(busy) | {wa for _, wa, until in rows if until and until >= now}
        for row_id, wa_id, _ in rows:
            if wa_id not in seen and len(chosen) < limit:
                chosen.append(row_id)
            seen.add(wa_id)
        claimed: list[InboxItem] = []
        for row_id in chosen:
            async with self.store._write() as conn:
                result = await conn.execute(
                    update(inbox)
                    .where(
                        inbox.c.id == row_id,
                        inbox.c.status == "pending",
                        or_(inbox.c.lease_until.is_(None), inbox.c.lease_until < now),
                    )
                    .values(
                        lease_owner=owner,
                        lease_until=now + lease,
                        attempts=inbox.c.attempts + 1,
                    )
                )
                if st.rowcount(result) != 1:
                    continue
                row = (await conn.execute(select(inbox).where(inbox.c.id == row_id))).one()
            claimed.append(
                InboxItem(
                    id=row.id,
                    message_id=row.message_id,
                    wa_id=row.wa_id,
                    payload=row.payload.encode(),
                    attempts=row.attempts,
                )
            )
        return claimed

    async def finish(self, row_id: int, status: str = "done") -> None:
        async with self.store._write() as conn:
            await conn.execute(
                update(inbox)
                .where(inbox.c.id == row_id)
                .values(status=status, lease_owner=None, lease_until=None)
            )

    async def release_leases(self, owner: str) -> None:
        """At start-up: drop the leases a previous run under the same replica id left behind."""
        async with self.store._write() as conn:
            await conn.execute(
                update(inbox).where(inbox.c.lease_owner == owner).values(lease_until=None)
            )

    async def release(self, row_id: int) -> None:
        """Give a row back (processing failed before anything was answered)."""
        async with self.store._write() as conn:
            await conn.execute(
                update(inbox).where(inbox.c.id == row_id).values(lease_owner=None, lease_until=None)
            )

    async def prune(self, older_than: float) -> int:
        """Forget the content of handled messages received before `older_than` (epoch seconds).

        The message id stays: Meta retries for days, and the id is what dedupes a retry.
        """
        async with self.store._write() as conn:
            result = await conn.execute(
                update(inbox)
                .where(
                    inbox.c.status.in_(("done", "failed")),
                    inbox.c.received_at < older_than,
                    inbox.c.payload != "",
                )
                .values(payload="")
            )
            # Split bodies live on as their messages; bad ones are kept for a person to read.
            await conn.execute(
                delete(webhooks).where(
                    webhooks.c.status == "split", webhooks.c.received_at < older_than
                )
            )
        return st.rowcount(result)

    async def counts(self) -> dict[str, int]:
        return await self._counts(inbox)

    async def webhook_counts(self) -> dict[str, int]:
        return await self._counts(webhooks)

    async def _counts(self, table: Table) -> dict[str, int]:
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(table.c.status, table.c.id))).all()
        counts: dict[str, int] = {}
        for status, _ in rows:
            counts[status] = counts.get(status, 0) + 1
        return counts
