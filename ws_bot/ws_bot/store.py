"""Durable state of the gateway (SQLite by default, PostgreSQL via DATABASE_URL).

Tables: the inbox of webhook messages (one row per WhatsApp message id, which is also the
dedupe key across restarts), users (language, own wallet, onboarding step), the address book,
payment drafts (the pending confirmation) and payments being polled at op_api (with a lease so
several replicas can share the polling). Every exactly-once step is a conditional UPDATE whose
rowcount says who won.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import create_tables
from ws_bot import identity

metadata = MetaData()

inbox = Table(
    "ws_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(256), nullable=False, unique=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("received_at", Float, nullable=False),
)

users = Table(
    "ws_users",
    metadata,
    Column("wa_id", String(64), primary_key=True),
    Column("name", String(256), nullable=False, default=""),
    Column("language", String(8)),
    Column("wallet_url", String(2048)),
    Column("wallet_asset", String(16)),
    Column("state", String(16), nullable=False, default="new"),
    Column("pending", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

contacts = Table(
    "ws_contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("alias", String(128), nullable=False),
    Column("alias_key", String(128), nullable=False),
    Column("wallet_url", String(2048)),
    Column("phone", String(32)),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("owner", "alias_key", name="uq_ws_contacts_owner_alias"),
)

drafts = Table(
    "ws_drafts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("amount", String(64)),
    Column("currency", String(8)),
    Column("recipient_label", String(256)),
    Column("receiver_wallet", String(2048)),
    Column("receiver_wa_id", String(64)),
    Column("source_message_id", String(256), nullable=False),
    Column("payment_id", String(64)),
    Column("quote", Text),
    Column("confirmed_by", String(256)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

payments = Table(
    "ws_payments",
    metadata,
    Column("payment_id", String(64), primary_key=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("draft_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("recipient_label", String(256), nullable=False, default=""),
    Column("receiver_wallet", String(2048), nullable=False, default=""),
    Column("receiver_wa_id", String(64)),
    Column("debit", Text),
    Column("receive", Text),
    Column("react_message_id", String(256)),
    Column("deadline", Float, nullable=False),
    Column("next_poll_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("notified", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Draft statuses. A draft is the pending confirmation; at most one per user is open.
COLLECTING = "collecting"  # amount or recipient still missing
QUOTED = "quoted"  # payment created at op_api, Confirm/Cancel shown
CONFIRMED = "confirmed"  # the user tapped Confirm (exactly one tap wins)
CANCELLED = "cancelled"
OPEN_DRAFT = (COLLECTING, QUOTED)
DRAFT_TTL_SECONDS = 1800.0
MAX_BATCH = 200  # webhooks per group commit (keeps one INSERT well under SQLite's variable cap)


@dataclass(frozen=True)
class InboxItem:
    id: int
    message_id: str
    wa_id: str
    payload: bytes
    attempts: int


@dataclass
class User:
    wa_id: str
    name: str
    language: str | None
    wallet_url: str | None
    wallet_asset: str | None
    state: str
    pending: dict[str, Any] | None


@dataclass
class Contact:
    alias: str
    wallet_url: str | None
    phone: str | None


@dataclass
class Draft:
    id: str
    wa_id: str
    status: str
    amount: str | None
    currency: str | None
    recipient_label: str | None
    receiver_wallet: str | None
    receiver_wa_id: str | None
    source_message_id: str
    payment_id: str | None
    quote: dict[str, Any] | None
    confirmed_by: str | None


@dataclass
class Payment:
    payment_id: str
    wa_id: str
    draft_id: str
    status: str
    recipient_label: str
    receiver_wallet: str
    receiver_wa_id: str | None
    debit: dict[str, Any] | None
    receive: dict[str, Any] | None
    react_message_id: str | None
    deadline: float
    next_poll_at: float
    attempts: int
    notified: bool
    created_at: float


def alias_key(alias: str) -> str:
    """Address-book key: case- and accent-insensitive, spaces collapsed ("José" = "jose")."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", alias.strip().casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())[:128]


def _clip(value: str | None, limit: int) -> str | None:
    """Column limits are enforced by PostgreSQL (not SQLite): clip free text before storing."""
    return value[:limit] if value is not None else None


def _loads(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _dumps(value: dict[str, Any] | None) -> str | None:
    return json.dumps(value, separators=(",", ":")) if value is not None else None


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class Store:
    """All reads and writes of the gateway's tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time, and a writer that finds the file locked sleeps in
        # growing steps (up to 100 ms). Queueing our own writes behind an asyncio lock means
        # SQLite never sees two of them at once; PostgreSQL needs no such thing.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else None
        )
        self._urgent_waiting = 0
        self._pending: list[tuple[list[tuple[str, str, bytes]], asyncio.Future[int]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def _write(self, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction (serialised within this process on SQLite).

        `urgent` writes (storing webhooks, which Meta is waiting on) go before the others
        queued: every other writer steps aside while one is waiting.
        """
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        if urgent:
            self._urgent_waiting += 1
            try:
                await self._write_lock.acquire()
            finally:
                self._urgent_waiting -= 1
        else:
            while True:
                await self._write_lock.acquire()
                if not self._urgent_waiting:
                    break
                self._write_lock.release()
                await asyncio.sleep(0.001)
        try:
            async with self.engine.begin() as conn:
                yield conn
        finally:
            self._write_lock.release()

    async def create(self) -> None:
        await create_tables(self.engine, metadata)

    def _insert_ignore(self, table: Table) -> Any:
        # "Insert unless already there" is how the dedupe survives races and restarts.
        if self.engine.dialect.name == "postgresql":
            return pg_insert(table).on_conflict_do_nothing()
        return sqlite_insert(table).on_conflict_do_nothing()

    # ------------------------------------------------------------------ inbox

    async def enqueue(self, items: list[tuple[str, str, bytes]]) -> int:
        """Store (message_id, wa_id, payload) rows; already-seen message ids are ignored.

        Webhooks arriving together are written in one transaction (group commit): one disk
        flush for a burst instead of one per request, and each caller still returns only once
        its rows are committed. Returns how many rows were new.
        """
        if not items:
            return 0
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((items, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_pending())
        return await done

    async def _flush_pending(self) -> None:
        while self._pending:
            # One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per batch: the returned
            # ids are the new ones, so each caller still learns exactly which of its rows were.
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            now = time.time()
            rows = [
                {
                    "message_id": message_id,
                    "wa_id": wa_id,
                    "payload": payload.decode(),
                    "status": "pending",
                    "attempts": 0,
                    "received_at": now,
                }
                for items, _ in batch
                for message_id, wa_id, payload in items
            ]
            try:
                async with self._write(urgent=True) as conn:
                    result = await conn.execute(
                        self._insert_ignore(inbox).values(rows).returning(inbox.c.message_id)
                    )
                    new_ids = {row[0] for row in result}
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for items, done in batch:
                mine = {message_id for message_id, _, _ in items} & new_ids
                new_ids -= mine  # the same id in two deliveries of one batch is new only once
                if not done.done():
                    done.set_result(len(mine))

    async def claim_inbox(
        self, owner: str, lease: float, limit: int, busy: set[str]
    ) -> list[InboxItem]:
        """Claim up to `limit` pending rows whose lease is free: each user's oldest row only,
        skipping users in `busy` (one message at a time per user keeps their order)."""
        now = time.time()
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(inbox.c.id, inbox.c.wa_id)
                    .where(inbox.c.status == "pending")
                    .order_by(inbox.c.id)
                    .limit(max(limit * 20, 100))
                )
            ).all()
        chosen: list[int] = []
        seen: set[str] = set(busy)
        for row_id, wa_id in rows:
            if wa_id not in seen and len(chosen) < limit:
                chosen.append(row_id)
            seen.add(wa_id)
        claimed: list[InboxItem] = []
        for row_id in chosen:
            async with self._write() as conn:
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
                if _rowcount(result) != 1:
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

    async def finish_inbox(self, row_id: int, status: str = "done") -> None:
        async with self._write() as conn:
            await conn.execute(
                update(inbox)
                .where(inbox.c.id == row_id)
                .values(status=status, lease_owner=None, lease_until=None)
            )

    async def release_leases(self, owner: str) -> None:
        """At start-up: drop the leases a previous run under the same replica id left behind."""
        async with self._write() as conn:
            await conn.execute(
                update(inbox).where(inbox.c.lease_owner == owner).values(lease_until=None)
            )
            await conn.execute(
                update(payments).where(payments.c.lease_owner == owner).values(lease_until=None)
            )

    async def release_inbox(self, row_id: int) -> None:
        """Give a row back (processing failed before anything was answered)."""
        async with self._write() as conn:
            await conn.execute(
                update(inbox).where(inbox.c.id == row_id).values(lease_owner=None, lease_until=None)
            )

    async def prune_inbox(self, older_than: float) -> int:
        """Forget the content of handled messages received before `older_than` (epoch seconds).

        The message id stays: Meta retries for days, and the id is what dedupes a retry.
        """
        async with self._write() as conn:
            result = await conn.execute(
                update(inbox)
                .where(
                    inbox.c.status.in_(("done", "failed")),
                    inbox.c.received_at < older_than,
                    inbox.c.payload != "",
                )
                .values(payload="")
            )
        return _rowcount(result)

    async def inbox_counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(inbox.c.status, inbox.c.id))).all()
        counts: dict[str, int] = {}
        for status, _ in rows:
            counts[status] = counts.get(status, 0) + 1
        return counts

    # ------------------------------------------------------------------ users

    async def get_user(self, wa_id: str) -> User | None:
        async with self.engine.connect() as conn:
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
            pending=_loads(row.pending),
        )

    async def ensure_user(self, wa_id: str, name: str) -> User:
        """The user, created on first contact; the WhatsApp profile name kept current."""
        known = await self.get_user(wa_id)
        if known is not None and (not name or known.name == name[:256]):
            return known  # the common case needs no write (and no wait for the write lock)
        now = time.time()
        async with self._write() as conn:
            await conn.execute(
                self._insert_ignore(users).values(
                    wa_id=wa_id, name=name[:256], state="new", created_at=now, updated_at=now
                )
            )
            if name:
                await conn.execute(
                    update(users)
                    .where(users.c.wa_id == wa_id, users.c.name != name[:256])
                    .values(name=name[:256])
                )
        user = await self.get_user(wa_id)
        assert user is not None
        return user

    async def update_user(self, wa_id: str, **values: Any) -> None:
        if "pending" in values:
            values["pending"] = _dumps(values["pending"])
        values["updated_at"] = time.time()
        async with self._write() as conn:
            await conn.execute(update(users).where(users.c.wa_id == wa_id).values(**values))

    async def find_user_by_phone(self, phone: str) -> User | None:
        key = identity.canonical(phone)  # "+52 1 55…", "5255…" and "52155…" are one person
        return await self.get_user(key) if key else None

    # ------------------------------------------------------------------ address book

    async def save_contact(
        self, owner: str, alias: str, wallet_url: str | None, phone: str | None = None
    ) -> None:
        key = alias_key(alias)
        now = time.time()
        async with self._write() as conn:
            result = await conn.execute(
                update(contacts)
                .where(contacts.c.owner == owner, contacts.c.alias_key == key)
                .values(
                    alias=alias.strip()[:128],
                    wallet_url=wallet_url,
                    phone=_clip(phone, 32),
                    updated_at=now,
                )
            )
            if _rowcount(result) == 0:
                await conn.execute(
                    insert(contacts).values(
                        owner=owner,
                        alias=alias.strip()[:128],
                        alias_key=key,
                        wallet_url=wallet_url,
                        phone=_clip(phone, 32),
                        updated_at=now,
                    )
                )

    async def find_contact(self, owner: str, alias: str) -> Contact | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(contacts).where(
                        contacts.c.owner == owner, contacts.c.alias_key == alias_key(alias)
                    )
                )
            ).first()
        return Contact(row.alias, row.wallet_url, row.phone) if row else None

    async def list_contacts(self, owner: str) -> list[Contact]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(contacts).where(contacts.c.owner == owner).order_by(contacts.c.alias_key)
                )
            ).all()
        return [Contact(r.alias, r.wallet_url, r.phone) for r in rows]

    async def delete_contact(self, owner: str, alias: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(contacts).where(
                    contacts.c.owner == owner, contacts.c.alias_key == alias_key(alias)
                )
            )
        return _rowcount(result) > 0

    # ------------------------------------------------------------------ drafts

    @staticmethod
    def _draft(row: Any) -> Draft:
        return Draft(
            id=row.id,
            wa_id=row.wa_id,
            status=row.status,
            amount=row.amount,
            currency=row.currency,
            recipient_label=row.recipient_label,
            receiver_wallet=row.receiver_wallet,
            receiver_wa_id=row.receiver_wa_id,
            source_message_id=row.source_message_id,
            payment_id=row.payment_id,
            quote=_loads(row.quote),
            confirmed_by=row.confirmed_by,
        )

    async def open_draft(self, wa_id: str) -> Draft | None:
        """The user's open draft, unless it went stale (a question from an hour ago is not
        what today's "Maria" answers)."""
        fresh = time.time() - DRAFT_TTL_SECONDS
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(drafts)
                    .where(
                        drafts.c.wa_id == wa_id,
                        drafts.c.status.in_(OPEN_DRAFT),
                        drafts.c.updated_at > fresh,
                    )
                    .order_by(drafts.c.created_at.desc())
                )
            ).first()
        return self._draft(row) if row else None

    async def get_draft(self, draft_id: str) -> Draft | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(drafts).where(drafts.c.id == draft_id))).first()
        return self._draft(row) if row else None

    async def create_draft(self, draft: Draft) -> None:
        now = time.time()
        async with self._write() as conn:
            # One open draft per user: a new payment request replaces the previous one.
            await conn.execute(
                update(drafts)
                .where(drafts.c.wa_id == draft.wa_id, drafts.c.status == COLLECTING)
                .values(status=CANCELLED, updated_at=now)
            )
            await conn.execute(
                insert(drafts).values(
                    id=draft.id,
                    wa_id=draft.wa_id,
                    status=draft.status,
                    amount=draft.amount,
                    currency=draft.currency,
                    recipient_label=_clip(draft.recipient_label, 256),
                    receiver_wallet=_clip(draft.receiver_wallet, 2048),
                    receiver_wa_id=draft.receiver_wa_id,
                    source_message_id=draft.source_message_id,
                    payment_id=draft.payment_id,
                    quote=_dumps(draft.quote),
                    confirmed_by=draft.confirmed_by,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def update_draft(self, draft_id: str, expect: tuple[str, ...], **values: Any) -> bool:
        """Conditional update: only when the draft is still in one of `expect` statuses."""
        if "quote" in values:
            values["quote"] = _dumps(values["quote"])
        if "recipient_label" in values:
            values["recipient_label"] = _clip(values["recipient_label"], 256)
        values["updated_at"] = time.time()
        async with self._write() as conn:
            result = await conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.status.in_(expect))
                .values(**values)
            )
        return _rowcount(result) == 1

    # ------------------------------------------------------------------ payments

    @staticmethod
    def _payment(row: Any) -> Payment:
        return Payment(
            payment_id=row.payment_id,
            wa_id=row.wa_id,
            draft_id=row.draft_id,
            status=row.status,
            recipient_label=row.recipient_label,
            receiver_wallet=row.receiver_wallet,
            receiver_wa_id=row.receiver_wa_id,
            debit=_loads(row.debit),
            receive=_loads(row.receive),
            react_message_id=row.react_message_id,
            deadline=row.deadline,
            next_poll_at=row.next_poll_at,
            attempts=row.attempts,
            notified=bool(row.notified),
            created_at=row.created_at,
        )

    async def add_payment(self, payment: Payment) -> bool:
        now = time.time()
        async with self._write() as conn:
            result = await conn.execute(
                self._insert_ignore(payments).values(
                    payment_id=payment.payment_id,
                    wa_id=payment.wa_id,
                    draft_id=payment.draft_id,
                    status=payment.status,
                    recipient_label=_clip(payment.recipient_label, 256),
                    receiver_wallet=payment.receiver_wallet,
                    receiver_wa_id=payment.receiver_wa_id,
                    debit=_dumps(payment.debit),
                    receive=_dumps(payment.receive),
                    react_message_id=payment.react_message_id,
                    deadline=payment.deadline,
                    next_poll_at=payment.next_poll_at,
                    attempts=0,
                    notified=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        return _rowcount(result) == 1

    async def get_payment(self, payment_id: str) -> Payment | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(payments).where(payments.c.payment_id == payment_id))
            ).first()
        return self._payment(row) if row else None

    async def claim_due_payments(self, owner: str, lease: float, limit: int = 20) -> list[Payment]:
        """Claim payments whose next poll is due and whose lease is free (replica-safe)."""
        now = time.time()
        async with self.engine.connect() as conn:
            ids = (
                await conn.execute(
                    select(payments.c.payment_id)
                    .where(
                        payments.c.notified == 0,
                        payments.c.next_poll_at <= now,
                        or_(payments.c.lease_until.is_(None), payments.c.lease_until < now),
                    )
                    .order_by(payments.c.next_poll_at)
                    .limit(limit)
                )
            ).all()
        claimed: list[Payment] = []
        for (payment_id,) in ids:
            async with self._write() as conn:
                result = await conn.execute(
                    update(payments)
                    .where(
                        payments.c.payment_id == payment_id,
                        payments.c.notified == 0,
                        or_(payments.c.lease_until.is_(None), payments.c.lease_until < now),
                    )
                    .values(lease_owner=owner, lease_until=now + lease)
                )
                if _rowcount(result) != 1:
                    continue
                row = (
                    await conn.execute(select(payments).where(payments.c.payment_id == payment_id))
                ).one()
            claimed.append(self._payment(row))
        return claimed

    async def reschedule_payment(
        self, payment_id: str, owner: str, status: str, next_poll_at: float, **values: Any
    ) -> None:
        for key in ("debit", "receive"):
            if key in values:
                values[key] = _dumps(values[key])
        async with self._write() as conn:
            await conn.execute(
                update(payments)
                .where(payments.c.payment_id == payment_id, payments.c.lease_owner == owner)
                .values(
                    status=status,
                    next_poll_at=next_poll_at,
                    attempts=payments.c.attempts + 1,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=time.time(),
                    **values,
                )
            )

    async def finish_payment(self, payment_id: str, status: str, **values: Any) -> bool:
        """Mark final and notified; True only for the caller that flips it (tell the user once)."""
        for key in ("debit", "receive"):
            if key in values:
                values[key] = _dumps(values[key])
        async with self._write() as conn:
            result = await conn.execute(
                update(payments)
                .where(payments.c.payment_id == payment_id, payments.c.notified == 0)
                .values(
                    status=status,
                    notified=1,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=time.time(),
                    **values,
                )
            )
        return _rowcount(result) == 1

    async def recent_payments(self, wa_id: str, limit: int = 5) -> list[Payment]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(payments)
                    .where(payments.c.wa_id == wa_id)
                    .order_by(payments.c.created_at.desc())
                    .limit(limit)
                )
            ).all()
        return [self._payment(r) for r in rows]

    async def active_payments(self, wa_id: str) -> list[Payment]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(payments).where(
                        and_(payments.c.wa_id == wa_id, payments.c.notified == 0)
                    )
                )
            ).all()
        return [self._payment(r) for r in rows]


async def find_user_by_wallet(store: Store, wallet_url: str) -> User | None:
    """The registered user whose own wallet is `wallet_url` (to tell recipients they got paid)."""
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(select(users.c.wa_id).where(users.c.wallet_url == wallet_url))
        ).first()
    return await store.get_user(row.wa_id) if row else None


# ---------------------------------------------------------------------- WhatsApp delivery state
# (the 24-hour window, notices that may need their template, and identities; see window.py,
# notices.py and identity.py)

last_inbound = Table(
    "ws_last_inbound",
    metadata,
    Column("wa_id", String(64), primary_key=True),
    Column("at", Float, nullable=False),  # the newest timestamp of a message the user sent
)

sent_notices = Table(
    "ws_sent_notices",
    metadata,
    Column("message_id", String(256), primary_key=True),
    Column("wa_id", String(64), nullable=False),
    Column("template", String(128), nullable=False),
    Column("language", String(8), nullable=False),
    Column("params", Text, nullable=False),
    Column("fell_back", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False, index=True),
)


@dataclass(frozen=True)
class SentNotice:
    message_id: str
    wa_id: str
    template: str
    language: str
    params: dict[str, str]


async def record_inbound(store: Store, wa_id: str, at: float) -> float | None:
    """Remember the user's newest message time (never moved back); the previous one.

    Most messages are newer than the last one seen, a few are not: only the former write, and
    the conditional UPDATE keeps the newest time even when two messages race.
    """
    before = await get_last_inbound(store, wa_id)
    if before is not None and at <= before:
        return before
    async with store._write() as conn:
        await conn.execute(store._insert_ignore(last_inbound).values(wa_id=wa_id, at=at))
        await conn.execute(
            update(last_inbound)
            .where(last_inbound.c.wa_id == wa_id, last_inbound.c.at < at)
            .values(at=at)
        )
    return before


async def get_last_inbound(store: Store, wa_id: str) -> float | None:
    async with store.engine.connect() as conn:
        at = (
            await conn.execute(select(last_inbound.c.at).where(last_inbound.c.wa_id == wa_id))
        ).scalar()
    return float(at) if at is not None else None


async def remember_notice(store: Store, notice: SentNotice) -> None:
    async with store._write() as conn:
        await conn.execute(
            store._insert_ignore(sent_notices).values(
                message_id=notice.message_id[:256],
                wa_id=notice.wa_id,
                template=notice.template,
                language=notice.language,
                params=json.dumps(notice.params, ensure_ascii=False),
                fell_back=0,
                created_at=time.time(),
            )
        )


async def claim_fallback(store: Store, message_id: str) -> SentNotice | None:
    """The notice behind a failed message, exactly once (a conditional update decides)."""
    async with store._write() as conn:
        result = await conn.execute(
            update(sent_notices)
            .where(sent_notices.c.message_id == message_id, sent_notices.c.fell_back == 0)
            .values(fell_back=1)
        )
        if _rowcount(result) == 0:
            return None
        row = (
            await conn.execute(select(sent_notices).where(sent_notices.c.message_id == message_id))
        ).one()
    return SentNotice(row.message_id, row.wa_id, row.template, row.language, json.loads(row.params))


async def prune_notices(store: Store, older_than: float) -> None:
    async with store._write() as conn:
        await conn.execute(delete(sent_notices).where(sent_notices.c.created_at < older_than))


async def move_user(store: Store, old: str, new: str) -> bool:
    """A user changed their number: move them, and what points at them, to the new key.

    Their row (language, wallet), their address book and drafts, their payments (as payer and
    as payee), other users' contacts saved with the old number, and the window bookkeeping.
    A row already created for the new number by a first message from it gives way, unless it
    holds a wallet of its own (then only what points at the old number moves).
    """
    if old == new:
        return False
    async with store._write() as conn:
        if (await conn.execute(select(users.c.wa_id).where(users.c.wa_id == old))).first() is None:
            return False
        taken = (await conn.execute(select(users.c.wallet_url).where(users.c.wa_id == new))).first()
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
            update(contacts).where(contacts.c.phone.in_([old, f"+{old}"])).values(phone=f"+{new}")
        )
    return True
