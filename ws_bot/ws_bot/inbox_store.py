"""The inbox (`ws_webhooks`, `ws_inbox`): signed webhook bodies stored before the 200, and the
messages the worker splits them into, one row per WhatsApp message id.

Bodies are appended in group commits (one transaction for a burst) and split later; the message
id is unique, so filing the same message again (a Meta retry, another replica) is ignored: that
is the dedupe, across restarts and replicas. A row is handled by whoever claims its lease with one
conditional UPDATE (pending, lease free or lapsed, the user's first in sent order, no other row of
the user's leased): one message at a time per user, in the order the messages were sent.
Handled rows keep their message id after their content is pruned.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from shared.sql import PostgresDatabase, SqliteDatabase, Statement
from ws_bot import inbox_signal
from ws_bot import store as st

MAX_BATCH = 200  # webhook bodies per group commit
SPLIT_BATCH = 100  # webhook bodies split per transaction
INSERT_CHUNK = 500  # inbox rows per INSERT (4 parameters each: far below either database's cap)


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


_APPEND = "INSERT INTO ws_webhooks (body, status, received_at) VALUES ($1, 'pending', $2)"
# The same rows and the NOTIFY in one statement (one round trip, one implicit transaction; the
# NOTIFY is delivered at its commit): a transaction around the two cost the ack twice its CPU.
_APPEND_ANNOUNCED = (
    "WITH stored AS (INSERT INTO ws_webhooks (body, status, received_at)"
    " SELECT body, 'pending', $2 FROM unnest($1::bytea[]) AS body RETURNING id)"
    " SELECT pg_notify($3, '')"
)
_COLUMNS = "id, message_id, wa_id, payload, attempts, sent_at, received_at"


def _item(row: dict[str, Any]) -> InboxItem:
    return InboxItem(
        id=row["id"],
        message_id=row["message_id"],
        wa_id=row["wa_id"],
        payload=row["payload"].encode(),
        attempts=row["attempts"],
    )


def _answer(batch: list[tuple[bytes, asyncio.Future[None]]], error: Exception | None) -> None:
    """Settle each waiting caller of a written batch: committed, or the error that stopped it."""
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


class InboxStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.db = store.db
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._writing = False
        # Set by `announce_to_workers` (ROLE=webhook): how each group commit tells the workers.
        self._notify = False
        self._doorbell: inbox_signal.Doorbell | None = None

    def announce_to_workers(self) -> None:
        """From now on each group commit tells the worker processes (ws_bot.inbox_signal):
        a NOTIFY in the same statement on PostgreSQL, the doorbell beside a SQLite file."""
        if isinstance(self.db, PostgresDatabase):
            self._notify = True
        elif isinstance(self.db, SqliteDatabase):
            self._doorbell = inbox_signal.Doorbell(self.db.path)

    async def store_webhook(self, body: bytes) -> None:
        """Store one signed webhook body; return once it is durably committed.

        Bodies arriving together are written in one transaction (group commit): one disk flush
        for a burst instead of one per request, and each caller still returns only once its row
        is committed. Nothing else happens here: splitting and dedupe are the worker's.

        A caller that finds no write under way writes the waiting bodies itself, its own among
        them, rather than handing them to a task: on an event loop the worker keeps busy, each
        hand-over is one more turn of the loop for the ack to wait. Bodies arriving during that
        write gather for the next one, which a task of its own writes.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((body, done))
        if self._writing:
            await done
            return
        try:
            await self._write_batch()
        except BaseException:  # cancelled while writing: its own answer has nobody to read it
            if done.done() and not done.cancelled():
                done.exception()
            raise
        finally:  # even when this caller is cancelled: the bodies behind it are not
            if self._pending and (self._flusher is None or self._flusher.done()):
                self._flusher = asyncio.create_task(self._flush_pending())
        await done  # settled by now, unless its body waits for the next batch

    async def _flush_pending(self) -> None:
        while self._pending and not self._writing:
            await self._write_batch()

    async def _write_batch(self) -> None:
        # One executemany (one commit, on SQLite one hop to the writer thread) per batch rather
        # than one per body. Every caller in the batch is answered, even when the writing one
        # is cancelled: the others answer 500 then, and Meta sends those updates again.
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        self._writing = True
        try:
            if self._notify:
                bodies = [body for body, _ in batch]
                await self.db.fetch(_APPEND_ANNOUNCED, bodies, time.time(), inbox_signal.CHANNEL)
            else:
                await self.db.executemany(_APPEND, [(body, time.time()) for body, _ in batch])
                if self._doorbell is not None:
                    self._doorbell.ring()
        except Exception as exc:
            _answer(batch, exc)
        except BaseException:
            _answer(batch, RuntimeError("write interrupted"))
            raise
        else:
            _answer(batch, None)
        finally:
            self._writing = False

    def close(self) -> None:
        if self._doorbell is not None:
            self._doorbell.close()

    async def pending_webhooks(self, limit: int = SPLIT_BATCH) -> list[StoredWebhook]:
        """The oldest bodies not split yet (several replicas may read the same ones: filing is
        idempotent)."""
        rows = await self.db.read(
            "SELECT id, body FROM ws_webhooks WHERE status = 'pending' ORDER BY id LIMIT $1", limit
        )
        return [StoredWebhook(row["id"], bytes(row["body"])) for row in rows]

    async def file_webhooks(
        self, split: list[tuple[int, list[InboxMessage]]], bad: list[tuple[int, str]]
    ) -> Filed:
        """In one transaction: add the messages of the `split` bodies to the inbox (a message id
        already there is ignored: that is the dedupe, across restarts and replicas), mark those
        bodies split, and mark the `bad` ones with their reason. Messages filed together go in
        the order they were sent, whatever order their bodies arrived in."""
        messages = in_sent_order([item for _, items in split for item in items])
        new_ids: set[str] = set()
        now = time.time()
        statements: list[Statement] = []
        for start in range(0, len(messages), INSERT_CHUNK):
            chunk = messages[start : start + INSERT_CHUNK]
            args: list[Any] = []
            for message_id, wa_id, payload, sent_at in chunk:
                args += [message_id, wa_id, payload.decode(), sent_at or None]
            values = ", ".join(
                f"(${n + 1}, ${n + 2}, ${n + 3}, 'pending', 0, ${len(args) + 1}, ${n + 4})"
                for n in range(0, len(args), 4)
            )
            # Only placeholders are formatted in: the values travel as arguments.
            statements.append(
                (
                    "INSERT INTO ws_inbox"  # noqa: S608
                    " (message_id, wa_id, payload, status, attempts, received_at, sent_at)"
                    f" VALUES {values} ON CONFLICT DO NOTHING RETURNING message_id",
                    [*args, now],
                )
            )
        if split:
            statements.append(
                (
                    "UPDATE ws_webhooks SET status = 'split'"  # noqa: S608 (placeholders only)
                    f" WHERE id {self.db.one_of('$1')} AND status = 'pending'",
                    [self.db.array(row_id for row_id, _ in split)],
                )
            )
        for row_id, reason in bad:
            statements.append(
                (
                    "UPDATE ws_webhooks SET status = 'bad', note = $2"
                    " WHERE id = $1 AND status = 'pending'",
                    [row_id, reason[:256]],
                )
            )
        # One batch (one transaction, one hop): under a burst of acks the writer is never
        # held between its statements.
        for done in await self.db.batch(statements):
            new_ids.update(row["message_id"] for row in done.rows)
        new = len({message.message_id for message in messages} & new_ids)
        return Filed(new=new, duplicate=len(messages) - new, bad=len(bad))

    async def claim(self, owner: str, lease: float, limit: int, busy: set[str]) -> list[InboxItem]:
        """Claim up to `limit` pending rows: each user's first row in the order their messages
        were sent (`sent_at`, else arrival), skipping users in `busy` and users with a row
        leased elsewhere (one message at a time per user, across replicas, keeps their order).

        One UPDATE decides: a row is taken only if it is still pending with its lease free or
        lapsed, no earlier pending row of its user exists and none of the user's rows holds a
        live lease. On PostgreSQL a row another replica is claiming right now is skipped; its
        user's later rows stay behind it, since it is still the earlier pending row.

        Only the oldest filed pending rows (`window`, in id order, which the status index gives
        without sorting) are weighed: ordering every pending row by sent time made each claim
        cost the whole backlog, and under a burst of 3,000 the claims held the one writer long
        enough to starve the acks. A user whose messages fill the window holds the others back
        only until the window moves on. The two per-row questions (an earlier pending row of
        this user? one of theirs leased?) are seeks in the partial index of pending rows by
        user and handling order (`ix_ws_inbox_pending_order`, migration ws0006).
        """
        now = time.time()
        window = max(limit * 20, 100)
        rows = await self.db.fetch(
            # Only dialect spellings are formatted in; the values travel as arguments.
            "UPDATE ws_inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1"  # noqa: S608
            " WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $3)"
            " AND id IN (SELECT i.id FROM ws_inbox i"
            "  WHERE i.status = 'pending' AND (i.lease_until IS NULL OR i.lease_until < $3)"
            "  AND i.id IN (SELECT w.id FROM ws_inbox w WHERE w.status = 'pending'"
            "   ORDER BY w.id LIMIT $6)"
            f"  AND NOT (i.wa_id {self.db.one_of('$5')})"
            "  AND NOT EXISTS (SELECT 1 FROM ws_inbox e WHERE e.wa_id = i.wa_id"
            "   AND e.status = 'pending' AND (COALESCE(e.sent_at, e.received_at), e.id)"
            "    < (COALESCE(i.sent_at, i.received_at), i.id))"
            "  AND NOT EXISTS (SELECT 1 FROM ws_inbox l WHERE l.wa_id = i.wa_id"
            "   AND l.status = 'pending' AND l.lease_until >= $3)"
            "  ORDER BY COALESCE(i.sent_at, i.received_at), i.id"
            f"  LIMIT $4{self.db.skip_locked})"
            f" RETURNING {_COLUMNS}",
            owner,
            now + lease,
            now,
            limit,
            self.db.array(sorted(busy)),
            window,
        )
        rows.sort(key=lambda row: (row["sent_at"] or row["received_at"], row["id"]))
        return [_item(row) for row in rows]

    async def finish(self, item: InboxItem, status: str = "done") -> bool:
        """Mark the message handled (or failed); whether its user has another one pending, in
        the same hop, so the worker can take it at once."""
        _, waiting = await self.db.batch(
            [
                (
                    "UPDATE ws_inbox SET status = $2, lease_owner = NULL, lease_until = NULL"
                    " WHERE id = $1",
                    [item.id, status],
                ),
                (
                    "SELECT 1 AS waiting FROM ws_inbox WHERE wa_id = $1 AND status = 'pending'"
                    " LIMIT 1",
                    [item.wa_id],
                ),
            ]
        )
        return bool(waiting.rows)

    async def release_leases(self, owner: str) -> None:
        """At start-up: drop the leases a previous run under the same replica id left behind."""
        await self.db.execute(
            "UPDATE ws_inbox SET lease_until = NULL WHERE lease_owner = $1", owner
        )

    async def release(self, row_id: int) -> None:
        """Give a row back (processing failed before anything was answered)."""
        await self.db.execute(
            "UPDATE ws_inbox SET lease_owner = NULL, lease_until = NULL WHERE id = $1", row_id
        )

    async def prune(self, older_than: float) -> int:
        """Forget the content of handled messages received before `older_than` (epoch seconds).

        The message id stays: Meta retries for days, and the id is what dedupes a retry.
        """
        pruned, _ = await self.db.batch(
            [
                (
                    "UPDATE ws_inbox SET payload = ''"
                    " WHERE status IN ('done', 'failed') AND received_at < $1 AND payload <> ''",
                    [older_than],
                ),
                # Split bodies live on as their messages; bad ones are kept for a person to read.
                (
                    "DELETE FROM ws_webhooks WHERE status = 'split' AND received_at < $1",
                    [older_than],
                ),
            ]
        )
        return pruned.count

    async def counts(self) -> dict[str, int]:
        rows = await self.db.read("SELECT status, COUNT(*) AS n FROM ws_inbox GROUP BY status")
        return {row["status"]: int(row["n"]) for row in rows}

    async def webhook_counts(self) -> dict[str, int]:
        rows = await self.db.read("SELECT status, COUNT(*) AS n FROM ws_webhooks GROUP BY status")
        return {row["status"]: int(row["n"]) for row in rows}
