"""Payment state in SQL (SQLite by default, PostgreSQL by `DATABASE_URL`).

One row per payment. Steps that must happen once (continuing the grant, creating the outgoing
payment) are *claimed* with a conditional UPDATE and its rowcount, which serializes them across
concurrent requests, the background worker and several op_api replicas alike.

Queries are plain SQL on `shared.sql` (`self.db`). The tables themselves are described in
`op_api.schema` (for the migrations); `Codec` below is how each column's values are written and
read (JSON, sealed tokens, timestamps).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from op_api.changes import Changes
from op_api.lifecycle import ACTIVE_STATUSES, Status, birth
from op_api.records import PaymentRecord
from op_api.sealing import TokenSealer
from shared.sql import (
    Database,
    IntegrityError,
    PostgresDatabase,
    as_time,
    from_json,
    open_database,
    to_json,
)

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Where:
    """An extra condition of a conditional write (`update`, `delete_if`, `transition`): SQL in
    PostgreSQL's dialect whose `$1…$n` number its own `args`; the store renumbers them into the
    statement. E.g. `Where("op_claimed_at = $1", claimed)`, `Where("link_reserved IS NOT NULL")`.
    """

    __slots__ = ("args", "sql")

    def __init__(self, sql: str, *args: Any) -> None:
        self.sql = sql
        self.args = args

    def after(self, taken: int) -> str:
        """The SQL with its placeholders moved past the `taken` the statement already uses."""
        return re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + taken}", self.sql)

    def __and__(self, other: Where) -> Where:
        return Where(f"({self.sql}) AND ({other.after(len(self.args))})", *self.args, *other.args)


def same(column: str, value: Any) -> Where:
    """`column` holds `value` (NULL when `value` is None)."""
    return Where(f"{column} IS NULL") if value is None else Where(f"{column} = $1", value)


class Codec:
    """How one table's columns are written and read: JSON columns as text, the GNAP token
    columns sealed (`op_api.sealing`, the very format the SQLAlchemy column types used),
    timestamps as aware UTC datetimes. Only the names listed are columns."""

    def __init__(
        self,
        columns: Iterable[str],
        *,
        sealer: TokenSealer,
        json: Iterable[str] = (),
        sealed_json: Iterable[str] = (),
        sealed_text: Iterable[str] = (),
        times: Iterable[str] = (),
    ) -> None:
        self.columns = frozenset(columns)
        self.sealer = sealer
        self.json = frozenset(json)
        self.sealed_json = frozenset(sealed_json)
        self.sealed_text = frozenset(sealed_text)
        self.times = frozenset(times)

    def write(self, column: str, value: Any) -> Any:
        if column not in self.columns:
            raise ValueError(f"no column {column!r}")
        if column in self.json:
            return to_json(value)
        if column in self.sealed_json:
            return self.sealer.seal_json(value)
        if column in self.sealed_text:
            return self.sealer.seal_text(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # naive times are UTC here, as they always were
        if isinstance(value, bool):
            return int(value)
        return value

    def read(self, row: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(row)
        for column, value in values.items():
            if column in self.json:
                values[column] = from_json(value)
            elif column in self.sealed_json:
                values[column] = self.sealer.open_json(value)
            elif column in self.sealed_text:
                values[column] = self.sealer.open_text(value)
            elif column in self.times:
                values[column] = as_time(value)
        return values


PAYMENT_TIMES = (
    "quote_expires_at",
    "next_poll_at",
    "continue_claimed_at",
    "op_claimed_at",
    "op_uncertain_since",
    "op_next_attempt_at",
    "expires_at",
    "sending_since",
    "created_at",
    "updated_at",
    "status_changed_at",
    "next_check_at",
    "initiation_failed_at",
)
PAYMENT_JSON = (
    "sender",
    "receiver",
    "debit_amount",
    "receive_amount",
    "sent_amount",
    "received_amount",
    "allowance_remaining",
)
PAYMENT_SEALED_JSON = ("incoming_token", "quote_token", "outgoing_token")
PAYMENT_SEALED_TEXT = ("continue_token", "interact_ref")
PAYMENT_OTHER = (
    "id",
    "idempotency_key",
    "fingerprint",
    "status",
    "failure_reason",
    "description",
    "incoming_payment_url",
    "quote_url",
    "confirmation_url",
    "continue_uri",
    "continue_wait",
    "finish_nonce",
    "as_finish_nonce",
    "op_attempts",
    "outgoing_payment_url",
    "status_reason",
    "incoming_is_request",
    "batch_id",
    "grant_lead",
    "link_id",
    "link_reserved",
    "link_interval",
    "fallback_reason",
)
BATCH_COLUMNS = (
    "id",
    "idempotency_key",
    "fingerprint",
    "payment_ids",
    "shared_grant",
    "debit_amount",
    "failure_reason",
    "created_at",
    "updated_at",
)


def payment_codec(sealer: TokenSealer) -> Codec:
    return Codec(
        (
            *PAYMENT_TIMES,
            *PAYMENT_JSON,
            *PAYMENT_SEALED_JSON,
            *PAYMENT_SEALED_TEXT,
            *PAYMENT_OTHER,
        ),
        sealer=sealer,
        json=PAYMENT_JSON,
        sealed_json=PAYMENT_SEALED_JSON,
        sealed_text=PAYMENT_SEALED_TEXT,
        times=PAYMENT_TIMES,
    )


def batch_codec(sealer: TokenSealer) -> Codec:
    return Codec(
        BATCH_COLUMNS,
        sealer=sealer,
        json=("payment_ids", "debit_amount"),
        times=("created_at", "updated_at"),
    )


class DuplicateKey(Exception):
    """Another payment already holds this idempotency key."""


class PaymentStore:
    """Payments and batches in SQL (links: `op_api.link_store`, on the same `db`). `db` is
    shared.sql's plain SQL on sqlite3 / asyncpg; the tables' SQLAlchemy description lives in
    `op_api.schema`, for the migrations only, which run in a child process."""

    def __init__(
        self,
        db: Database,
        prefix: str = "op_",
        *,
        sealer: TokenSealer,
    ) -> None:
        self.db = db
        self.prefix = prefix
        self.sealer = sealer
        self.payments = f"{prefix}payments"
        self.batches = f"{prefix}batches"
        self.codec = payment_codec(sealer)
        self.batch_codec = batch_codec(sealer)
        self.changes = Changes()  # status moves made in this process (`lifecycle.transition`)
        self.channel = f"{self.payments}_moved"  # PostgreSQL NOTIFY channel of status moves

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
        db = await open_database(database_url, sqlite_path)
        return cls(db, prefix, sealer=sealer)

    async def close(self) -> None:
        await self.db.close()

    async def create_schema(self) -> None:
        """Create or upgrade the payments table to the newest schema (`op_api.migrations`)."""
        from op_api.migrations import migrations

        await migrations(self.prefix).ensure(self.db)

    async def move(self, payment_id: str, sql: str, args: Sequence[Any]) -> bool:
        """Run a status move's conditional UPDATE (`lifecycle.transition`); True if it moved.
        On PostgreSQL the NOTIFY to the other replicas (so their long polls wake too) is sent
        in the same transaction: delivered when, and only if, the move commits."""
        if self.db.dialect != "postgresql":
            return await self.db.execute(sql, *args) == 1
        async with self.db.transaction() as tx:
            if await tx.execute(sql, *args) != 1:
                return False
            await tx.execute("SELECT pg_notify($1, $2)", self.channel, payment_id)
        return True

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """While open, on PostgreSQL, moves announced by any replica wake this process's
        watchers (LISTEN on one connection held from the pool). Elsewhere, or if LISTEN fails,
        watchers still see such moves by re-reading their rows."""
        if not isinstance(self.db, PostgresDatabase):
            yield
            return
        async with self.db.listening(self.channel, self.changes.moved) as listening:
            if not listening:
                logger.warning("LISTEN failed: other replicas' moves are seen by re-reading")
            yield

    async def drop_schema(self) -> None:
        async with self.db.transaction() as tx:
            for table in ("links", "batches", "payments", "alembic_version"):
                await tx.execute(f'DROP TABLE IF EXISTS "{self.prefix}{table}"')

    async def ping(self) -> bool:
        await self.db.read("SELECT 1")
        return True

    # ------------------------------------------------------------ statements

    def _record(self, row: Mapping[str, Any]) -> PaymentRecord:
        return PaymentRecord.model_validate(self.codec.read(row))

    async def _records(self, where: str, *args: Any) -> list[PaymentRecord]:
        # `where` is our own SQL, never the caller's values (those are the args).
        rows = await self.db.read(f"SELECT * FROM {self.payments} WHERE {where}", *args)  # noqa: S608
        return [self._record(row) for row in rows]

    async def _insert(self, table: str, codec: Codec, values: dict[str, Any]) -> None:
        """INSERT one row (timestamps set now); DuplicateKey if its idempotency key is taken."""
        now = utcnow()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        columns = list(values)
        places = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({places})"  # noqa: S608
        try:
            await self.db.execute(sql, *(codec.write(c, values[c]) for c in columns))
        except IntegrityError as exc:
            raise DuplicateKey(values.get("idempotency_key")) from exc

    def assignment(
        self,
        payment_id: str,
        values: Mapping[str, Any],
        *,
        expect: Status | Sequence[Status] | None = None,
        where: Where | None = None,
    ) -> tuple[str, list[Any]]:
        """The conditional UPDATE of one payment (SQL and arguments): `values` written only if
        it is in one of `expect` and `where` holds. `lifecycle.transition` moves statuses with
        it; everything else goes through `update`."""
        columns = list(values)
        args: list[Any] = [self.codec.write(c, values[c]) for c in columns]
        sets = ", ".join(f"{c} = ${n}" for n, c in enumerate(columns, 1))
        args.append(payment_id)
        condition = f"id = ${len(args)}"
        if expect is not None:
            expected = [expect] if isinstance(expect, Status) else list(expect)
            args.append(self.db.array(s.value for s in expected))
            condition += f" AND status {self.db.one_of(f'${len(args)}')}"
        if where is not None:
            condition += f" AND ({where.after(len(args))})"
            args.extend(where.args)
        return f"UPDATE {self.payments} SET {sets} WHERE {condition}", args  # noqa: S608

    # ------------------------------------------------------------ payments

    async def insert(self, **values: Any) -> None:
        """A new payment, always in the lifecycle's first status."""
        if "status" in values:
            raise ValueError("a payment is created as initiating; lifecycle moves it on")
        values.update(birth())
        values.setdefault("op_attempts", 0)
        await self._insert(self.payments, self.codec, values)

    async def get(self, payment_id: str) -> PaymentRecord | None:
        found = await self._records("id = $1", payment_id)
        return found[0] if found else None

    async def statuses(self, payment_ids: Sequence[str]) -> dict[str, Status]:
        """The status of each of `payment_ids` that exists (one light SELECT: no token is
        unsealed, so a long poll can re-read thousands of them cheaply)."""
        rows = await self.db.read(
            f"SELECT id, status FROM {self.payments} WHERE id {self.db.one_of('$1')}",  # noqa: S608
            self.db.array(payment_ids),
        )
        return {row["id"]: Status(row["status"]) for row in rows}

    async def get_many(self, payment_ids: Sequence[str]) -> list[PaymentRecord]:
        """The payments among `payment_ids` that exist (one SELECT; any order)."""
        if not payment_ids:
            return []
        return await self._records(f"id {self.db.one_of('$1')}", self.db.array(payment_ids))

    async def get_by_key(self, key: str) -> PaymentRecord | None:
        found = await self._records("idempotency_key = $1", key)
        return found[0] if found else None

    async def delete(self, payment_id: str) -> None:
        await self.db.execute(f"DELETE FROM {self.payments} WHERE id = $1", payment_id)  # noqa: S608

    async def delete_if(
        self, payment_id: str, status: Status, *, where: Where | None = None
    ) -> bool:
        """DELETE one payment if it is (still) in `status` and `where` holds; True if it was."""
        sql = f"DELETE FROM {self.payments} WHERE id = $1 AND status = $2"  # noqa: S608
        args: list[Any] = [payment_id, status.value]
        if where is not None:
            sql += f" AND ({where.after(2)})"
            args.extend(where.args)
        return await self.db.execute(sql, *args) == 1

    async def delete_abandoned_initiations(
        self, failed_before: datetime, started_before: datetime, limit: int = 100
    ) -> list[PaymentRecord]:
        """DELETE up to `limit` initiations nobody will finish, and return them: failed (kept
        for a retry that did not come), or started so long ago that their initiator must have
        died. Deleting is the claim: replicas sweeping at once never take the same row."""
        t = self.payments
        rows = await self.db.fetch(
            f"DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE status = $1"  # noqa: S608
            " AND (initiation_failed_at < $2 OR created_at < $3)"
            f" LIMIT $4{self.db.skip_locked}) RETURNING *",
            Status.INITIATING.value,
            failed_before,
            started_before,
            limit,
        )
        return [self._record(row) for row in rows]

    async def active(
        self, limit: int = 100, *, polls_need_ref: bool = False
    ) -> Sequence[PaymentRecord]:
        """The `limit` payments in flight whose next step is due first (the sweep's work).

        Each row's own due time orders them: a settlement check (`next_check_at`), a retry of
        the outgoing payment (`op_next_attempt_at`), the grant's next poll (`next_poll_at`, for
        a grant that can be polled: with `polls_need_ref`, only once the finish redirect
        brought its `interact_ref`) or the approval deadline (`expires_at`), whichever comes
        first; a batch payment under its lead's grant, as soon as the lead has its answer. Not
        yet planned: due since the row last changed. So a hundred rows waiting far ahead never
        hide one that is due now."""
        t = self.payments
        pollable = "continue_uri IS NOT NULL" + (
            " AND interact_ref IS NOT NULL" if polls_need_ref else ""
        )
        poll = f"CASE WHEN {pollable} THEN COALESCE(next_poll_at, updated_at) END"
        # `steps.follow_lead` has nothing to take from the lead yet (all of it our own SQL):
        lead_waits = (
            f"EXISTS (SELECT 1 FROM {t} leader WHERE leader.id = {t}.grant_lead"  # noqa: S608
            f" AND leader.status {self.db.one_of('$3')} AND leader.outgoing_token IS NULL)"
        )
        due = (
            "CASE"
            f" WHEN status = $1 AND grant_lead IS NOT NULL THEN"
            f" CASE WHEN {lead_waits} THEN expires_at ELSE updated_at END"
            f" WHEN status = $1 THEN CASE WHEN {poll} < expires_at THEN {poll} ELSE expires_at END"
            " WHEN status = $2 THEN COALESCE(op_next_attempt_at, updated_at)"
            " ELSE COALESCE(next_check_at, updated_at) END"
        )
        return await self._records(
            f"status {self.db.one_of('$4')} ORDER BY {due}, id LIMIT $5",
            Status.AWAITING_APPROVAL.value,
            Status.APPROVED.value,
            self.db.array([Status.INITIATING.value, Status.AWAITING_APPROVAL.value]),
            self.db.array(s.value for s in sorted(ACTIVE_STATUSES)),
            limit,
        )

    async def update(
        self,
        payment_id: str,
        *,
        expect: Status | Sequence[Status] | None = None,
        where: Where | None = None,
        **values: Any,
    ) -> bool:
        """UPDATE one payment; with `expect`/`where`, only if they still hold. True if it did.

        Never its status: that is `lifecycle.transition`'s alone."""
        if "status" in values:
            raise ValueError("status is written by lifecycle.transition only")
        values["updated_at"] = utcnow()
        sql, args = self.assignment(payment_id, values, expect=expect, where=where)
        return await self.db.execute(sql, *args) == 1

    # ------------------------------------------------------------ batches

    async def insert_batch(self, **values: Any) -> None:
        await self._insert(self.batches, self.batch_codec, values)

    async def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        return await self._batch_where("id", batch_id)

    async def get_batch_by_key(self, key: str) -> dict[str, Any] | None:
        return await self._batch_where("idempotency_key", key)

    async def _batch_where(self, column: str, value: str) -> dict[str, Any] | None:
        rows = await self.db.read(
            f"SELECT * FROM {self.batches} WHERE {column} = $1",  # noqa: S608
            value,
        )
        return self.batch_codec.read(rows[0]) if rows else None

    async def update_batch(self, batch_id: str, **values: Any) -> None:
        values["updated_at"] = utcnow()
        columns = list(values)
        sets = ", ".join(f"{c} = ${n}" for n, c in enumerate(columns, 2))
        await self.db.execute(
            f"UPDATE {self.batches} SET {sets} WHERE id = $1",  # noqa: S608
            batch_id,
            *(self.batch_codec.write(c, values[c]) for c in columns),
        )

    async def delete_batch(self, batch_id: str) -> None:
        await self.db.execute(f"DELETE FROM {self.batches} WHERE id = $1", batch_id)  # noqa: S608

    async def batch_members(self, batch_id: str) -> list[PaymentRecord]:
        """The payments of a batch (any order)."""
        return await self._records("batch_id = $1", batch_id)

    async def followers(self, lead_id: str) -> list[PaymentRecord]:
        """The payments of a batch waiting on the grant `lead_id` holds (not the lead itself)."""
        return await self._records("grant_lead = $1", lead_id)

    # ------------------------------------------------------------ claims

    async def claim_continuation(
        self, payment_id: str, stale_before: datetime, *, polling: bool = True
    ) -> bool:
        """Win the right to send the next continuation (a poll only once `wait` has passed)."""
        now = utcnow()
        condition = Where("continue_claimed_at IS NULL OR continue_claimed_at < $1", stale_before)
        if polling:
            condition = condition & Where("next_poll_at IS NULL OR next_poll_at <= $1", now)
        return await self.update(
            payment_id, expect=Status.AWAITING_APPROVAL, where=condition, continue_claimed_at=now
        )

    async def claim_outgoing_payment(self, payment_id: str) -> bool:
        """Win the right to create the outgoing payment: exactly one caller ever does."""
        return await self.update(
            payment_id,
            expect=Status.APPROVED,
            where=Where("op_claimed_at IS NULL"),
            op_claimed_at=utcnow(),
        )
