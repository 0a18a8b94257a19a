"""Payment state in SQL (SQLite by default, PostgreSQL by `DATABASE_URL`).

One row per payment. Steps that must happen once (continuing the grant, creating the outgoing
payment) are *claimed* with a conditional UPDATE and its rowcount, which serializes them across
concurrent requests, the background worker and several op_api replicas alike.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from op_api.changes import Changes
from op_api.lifecycle import ACTIVE_STATUSES, Status, birth
from op_api.migrations import migrations
from op_api.records import PaymentRecord, as_utc
from op_api.sealing import SealedJSON, SealedText, TokenSealer
from shared.db import create_engine
from shared.sql import Database, open_database

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_table(prefix: str, sealer: TokenSealer) -> Table:
    """The payments table; the GNAP token columns are stored sealed (`op_api.sealing`)."""
    metadata = MetaData()
    return Table(
        f"{prefix}payments",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("idempotency_key", String(256), unique=True, nullable=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status", String(32), nullable=False, index=True),  # written by lifecycle only
        Column("failure_reason", Text, nullable=True),
        Column("sender", JSON, nullable=True),  # wallet address document
        Column("receiver", JSON, nullable=True),
        Column("debit_amount", JSON, nullable=True),
        Column("receive_amount", JSON, nullable=True),
        Column("sent_amount", JSON, nullable=True),
        Column("received_amount", JSON, nullable=True),
        Column("description", Text, nullable=True),
        Column("incoming_payment_url", Text, nullable=True),
        Column("incoming_token", SealedJSON(sealer), nullable=True),
        Column("quote_url", Text, nullable=True),
        Column("quote_expires_at", DateTime(timezone=True), nullable=True),
        Column("quote_token", SealedJSON(sealer), nullable=True),
        Column("confirmation_url", Text, nullable=True),
        Column("continue_uri", Text, nullable=True),
        Column("continue_token", SealedText(sealer), nullable=True),
        Column("continue_wait", Integer, nullable=True),
        Column("next_poll_at", DateTime(timezone=True), nullable=True),
        Column("continue_claimed_at", DateTime(timezone=True), nullable=True),
        Column("finish_nonce", Text, nullable=True),
        Column("as_finish_nonce", Text, nullable=True),
        Column("outgoing_token", SealedJSON(sealer), nullable=True),
        Column("op_claimed_at", DateTime(timezone=True), nullable=True),
        Column("op_uncertain_since", DateTime(timezone=True), nullable=True),
        Column("op_attempts", Integer, nullable=False, default=0),
        Column("op_next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("outgoing_payment_url", Text, nullable=True),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("sending_since", DateTime(timezone=True), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        # Added since release 0d3dbba (migration op0002):
        Column("status_reason", Text, nullable=True),
        Column("status_changed_at", DateTime(timezone=True), nullable=True),
        Column("next_check_at", DateTime(timezone=True), nullable=True),
        Column("initiation_failed_at", DateTime(timezone=True), nullable=True),
        Column("interact_ref", SealedText(sealer), nullable=True),
        Column("incoming_is_request", Integer, nullable=True),  # pays a money request (1)
        # Added by migration op0003_batches:
        Column("batch_id", String(64), nullable=True, index=True),
        Column("grant_lead", String(64), nullable=True),  # the batch payment holding its grant
        # Added for linked wallets (migration op0004_links):
        Column("link_id", String(64), nullable=True),  # a one-tap payment's link
        Column("link_reserved", BigInteger, nullable=True),  # minor units held in the allowance
        Column("link_interval", Integer, nullable=True),  # the interval (k) they are held in
        Column("allowance_remaining", JSON, nullable=True),
        Column("fallback_reason", String(32), nullable=True),
    )


def build_batches_table(prefix: str, metadata: MetaData) -> Table:
    """Batches (POST /send-batch): several payments from one sender under one grant. The
    grant itself lives in the row of its lead payment (`payments.grant_lead`)."""
    return Table(
        f"{prefix}batches",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("idempotency_key", String(256), unique=True, nullable=True),
        Column("fingerprint", String(64), nullable=False),
        Column("payment_ids", JSON, nullable=False),  # in the order they were asked for
        Column("shared_grant", Integer, nullable=True),  # 1 one grant, 0 one each, NULL starting
        Column("debit_amount", JSON, nullable=True),  # the total of the quotes' debits
        Column("failure_reason", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


def build_links_table(metadata: MetaData, prefix: str, sealer: TokenSealer) -> Table:
    """Linked wallets (`op_api.links`): a standing grant at a user's wallet and its allowance.
    `spent` is what payments hold of the allowance in interval `spent_interval`."""
    return Table(
        f"{prefix}links",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("idempotency_key", String(256), unique=True, nullable=True),
        Column("fingerprint", String(64), nullable=False),
        Column("wallet_url", Text, nullable=False),
        Column("wallet", JSON, nullable=True),  # wallet address document
        Column("status", String(32), nullable=False, index=True),
        Column("failure_reason", Text, nullable=True),
        Column("allowance", JSON, nullable=True),  # Amount per interval; null: none
        Column("allowance_minor", BigInteger, nullable=True),  # the same, for SQL comparisons
        Column("interval", String(32), nullable=True),  # ISO 8601 duration
        Column("interval_start", DateTime(timezone=True), nullable=True),
        Column("spent_interval", Integer, nullable=True),
        Column("spent", BigInteger, nullable=False, default=0),
        Column("confirmation_url", Text, nullable=True),
        Column("continue_uri", Text, nullable=True),
        Column("continue_token", SealedText(sealer), nullable=True),
        Column("continue_wait", Integer, nullable=True),
        Column("next_poll_at", DateTime(timezone=True), nullable=True),
        Column("continue_claimed_at", DateTime(timezone=True), nullable=True),
        Column("finish_nonce", Text, nullable=True),
        Column("as_finish_nonce", Text, nullable=True),
        Column("interact_ref", SealedText(sealer), nullable=True),
        Column("token", SealedJSON(sealer), nullable=True),
        Column("token_version", Integer, nullable=False, default=0),
        Column("token_claimed_at", DateTime(timezone=True), nullable=True),  # being rotated
        Column("expires_at", DateTime(timezone=True), nullable=False),  # approval deadline
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


class DuplicateKey(Exception):
    """Another payment already holds this idempotency key."""


class PaymentStore:
    """Payments, batches and links in SQL. `db` (shared.sql: plain SQL on sqlite3 / asyncpg) is
    what queries use; `engine` (SQLAlchemy) remains only while they move over to `db`."""

    def __init__(
        self, engine: AsyncEngine, prefix: str = "op_", *, sealer: TokenSealer, db: Database
    ) -> None:
        self.engine = engine
        self.db = db
        self.prefix = prefix
        self.table = build_table(prefix, sealer)
        self.batches = build_batches_table(prefix, self.table.metadata)
        self.sealer = sealer
        self.links_table = build_links_table(self.table.metadata, prefix, sealer)
        self.changes = Changes()  # status moves made in this process (`lifecycle.transition`)
        self.channel = f"{self.table.name}_moved"  # PostgreSQL NOTIFY channel of status moves

    @classmethod
    async def open(
        cls,
        database_url: str | None,
        sqlite_path: Path,
        prefix: str = "op_",
        *,
        sealer: TokenSealer,
    ) -> PaymentStore:
        """The store at `database_url`, or the SQLite file at `sqlite_path`."""
        engine = create_engine(database_url, sqlite_path)
        db = await open_database(database_url, sqlite_path)
        return cls(engine, prefix, sealer=sealer, db=db)

    async def close(self) -> None:
        await self.db.close()
        await self.engine.dispose()

    async def create_schema(self) -> None:
        """Create or upgrade the payments table to the newest schema (`op_api.migrations`)."""
        await migrations(self.prefix).ensure(self.db)

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def announce(self, conn: AsyncConnection, payment_id: str) -> None:
        """Inside the transaction that moved a payment: on PostgreSQL, NOTIFY the other
        replicas (delivered when it commits), so their long polls wake too."""
        if self._postgres:
            await conn.execute(select(func.pg_notify(self.channel, payment_id)))

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """While open, on PostgreSQL, moves announced by any replica wake this process's
        watchers (LISTEN on one held connection). Elsewhere, or if LISTEN fails, watchers
        still see such moves by re-reading their rows."""
        if not self._postgres:
            yield
            return
        async with self.engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection

            def heard(_conn: object, _pid: int, _channel: str, payment_id: str) -> None:
                self.changes.moved(payment_id)

            try:
                await driver.add_listener(self.channel, heard)
            except Exception:
                logger.warning("LISTEN failed: other replicas' moves are seen by re-reading")
                yield
                return
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(self.channel, heard)

    async def drop_schema(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(self.table.metadata.drop_all)
            await conn.execute(text(f'DROP TABLE IF EXISTS "{self.prefix}alembic_version"'))

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
        return True

    async def insert(self, **values: Any) -> None:
        """A new payment, always in the lifecycle's first status."""
        if "status" in values:
            raise ValueError("a payment is created as initiating; lifecycle moves it on")
        values.update(birth())
        await self._insert(self.table, values)

    async def _insert(self, table: Table, values: dict[str, Any]) -> None:
        """INSERT one row (timestamps set now); DuplicateKey if its idempotency key is taken."""
        now = utcnow()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(table).values(**values))
        except IntegrityError as exc:
            raise DuplicateKey(values.get("idempotency_key")) from exc

    async def get(self, payment_id: str) -> PaymentRecord | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(self.table).where(self.table.c.id == payment_id))
            ).first()
        return PaymentRecord.from_row(row._mapping) if row else None

    async def statuses(self, payment_ids: Sequence[str]) -> dict[str, Status]:
        """The status of each of `payment_ids` that exists (one light SELECT: no token is
        unsealed, so a long poll can re-read thousands of them cheaply)."""
        t = self.table
        query = select(t.c.id, t.c.status).where(t.c.id.in_(list(payment_ids)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {row.id: Status(row.status) for row in rows}

    async def get_many(self, payment_ids: Sequence[str]) -> list[PaymentRecord]:
        """The payments among `payment_ids` that exist (one SELECT; any order)."""
        if not payment_ids:
            return []
        query = select(self.table).where(self.table.c.id.in_(list(payment_ids)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [PaymentRecord.from_row(r._mapping) for r in rows]

    async def get_by_key(self, key: str) -> PaymentRecord | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(self.table).where(self.table.c.idempotency_key == key))
            ).first()
        return PaymentRecord.from_row(row._mapping) if row else None

    async def delete(self, payment_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(self.table.delete().where(self.table.c.id == payment_id))

    async def delete_if(self, payment_id: str, status: Status, *, where: Any = None) -> bool:
        """DELETE one payment if it is (still) in `status` and `where` holds; True if it was."""
        condition = and_(self.table.c.id == payment_id, self.table.c.status == status.value)
        if where is not None:
            condition = and_(condition, where)
        async with self.engine.begin() as conn:
            result = await conn.execute(self.table.delete().where(condition))
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def abandoned_initiations(
        self, failed_before: datetime, started_before: datetime, limit: int = 100
    ) -> Sequence[PaymentRecord]:
        """Initiations nobody will finish: failed (kept for a retry that did not come), or
        started so long ago that their initiator must have died."""
        t = self.table
        query = (
            select(t)
            .where(
                t.c.status == Status.INITIATING.value,
                or_(t.c.initiation_failed_at < failed_before, t.c.created_at < started_before),
            )
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [PaymentRecord.from_row(r._mapping) for r in rows]

    async def active(self, limit: int = 100) -> Sequence[PaymentRecord]:
        statuses = [s.value for s in ACTIVE_STATUSES]
        query = (
            select(self.table)
            .where(self.table.c.status.in_(statuses))
            .order_by(self.table.c.updated_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [PaymentRecord.from_row(r._mapping) for r in rows]

    async def update(
        self,
        payment_id: str,
        *,
        expect: Status | Sequence[Status] | None = None,
        where: Any = None,
        **values: Any,
    ) -> bool:
        """UPDATE one payment; with `expect`/`where`, only if they still hold. True if it did.

        Never its status: that is `lifecycle.transition`'s alone."""
        if "status" in values:
            raise ValueError("status is written by lifecycle.transition only")
        t = self.table
        condition = t.c.id == payment_id
        if expect is not None:
            expected = [expect] if isinstance(expect, Status) else list(expect)
            condition = and_(condition, t.c.status.in_([s.value for s in expected]))
        if where is not None:
            condition = and_(condition, where)
        values["updated_at"] = utcnow()
        async with self.engine.begin() as conn:
            result = await conn.execute(update(t).where(condition).values(**values))
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    # ------------------------------------------------------------ batches

    async def insert_batch(self, **values: Any) -> None:
        await self._insert(self.batches, values)

    async def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        return await self._batch_where(self.batches.c.id == batch_id)

    async def get_batch_by_key(self, key: str) -> dict[str, Any] | None:
        return await self._batch_where(self.batches.c.idempotency_key == key)

    async def _batch_where(self, condition: Any) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(self.batches).where(condition))).first()
        if row is None:
            return None
        batch = dict(row._mapping)
        for key in ("created_at", "updated_at"):
            batch[key] = as_utc(batch[key])
        return batch

    async def update_batch(self, batch_id: str, **values: Any) -> None:
        values["updated_at"] = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(self.batches).where(self.batches.c.id == batch_id).values(**values)
            )

    async def delete_batch(self, batch_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(self.batches.delete().where(self.batches.c.id == batch_id))

    async def batch_members(self, batch_id: str) -> list[PaymentRecord]:
        """The payments of a batch (any order)."""
        query = select(self.table).where(self.table.c.batch_id == batch_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [PaymentRecord.from_row(r._mapping) for r in rows]

    async def followers(self, lead_id: str) -> list[PaymentRecord]:
        """The payments of a batch waiting on the grant `lead_id` holds (not the lead itself)."""
        query = select(self.table).where(self.table.c.grant_lead == lead_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [PaymentRecord.from_row(r._mapping) for r in rows]

    # ------------------------------------------------------------ claims

    async def claim_continuation(
        self, payment_id: str, stale_before: datetime, *, polling: bool = True
    ) -> bool:
        """Win the right to send the next continuation (a poll only once `wait` has passed)."""
        t, now = self.table, utcnow()
        condition = or_(t.c.continue_claimed_at.is_(None), t.c.continue_claimed_at < stale_before)
        if polling:
            due = or_(t.c.next_poll_at.is_(None), t.c.next_poll_at <= now)
            condition = and_(condition, due)
        return await self.update(
            payment_id, expect=Status.AWAITING_APPROVAL, where=condition, continue_claimed_at=now
        )

    async def claim_outgoing_payment(self, payment_id: str) -> bool:
        """Win the right to create the outgoing payment: exactly one caller ever does."""
        t = self.table
        return await self.update(
            payment_id,
            expect=Status.APPROVED,
            where=t.c.op_claimed_at.is_(None),
            op_claimed_at=utcnow(),
        )
