"""Linked wallets in SQL, beside the payments (same database, same sealing of tokens).

A link's status moves by compare-and-set (`move`), like a payment's. What one-tap payments hold
of a link's allowance is counted in the link row (`spent` in interval `spent_interval`) and in
each payment row (`link_reserved`, `link_interval`): a reservation and its release each change
both rows in one transaction, with conditional UPDATEs, so concurrent confirmations and
replicas can never hold more than the allowance between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from op_api.client.models import WalletAddress
from op_api.lifecycle import Status
from op_api.records import StoredToken
from op_api.sealing import TokenSealer
from op_api.store import Codec, DuplicateKey, PaymentStore, Where, utcnow
from shared.contracts import LinkStatus
from shared.money import Amount
from shared.sql import IntegrityError, Row


class LinkRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    idempotency_key: str | None = None
    fingerprint: str
    wallet_url: str
    wallet: WalletAddress | None = None
    status: LinkStatus
    failure_reason: str | None = None
    allowance: Amount | None = None
    allowance_minor: int | None = None
    interval: str | None = None
    interval_start: datetime | None = None
    spent_interval: int | None = None
    spent: int = 0
    confirmation_url: str | None = None
    continue_uri: str | None = None
    continue_token: str | None = None
    continue_wait: int | None = None
    next_poll_at: datetime | None = None
    continue_claimed_at: datetime | None = None
    finish_nonce: str | None = None
    as_finish_nonce: str | None = None
    interact_ref: str | None = None
    token: StoredToken | None = None
    token_version: int = 0
    token_claimed_at: datetime | None = None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime

    def spent_in(self, interval: int) -> int:
        return self.spent if self.spent_interval == interval else 0


class Reservation(StrEnum):
    HELD = "held"  # this call reserved the payment's debit
    ALREADY = "already"  # an earlier call did (a replay, or a concurrent twin)
    NO_ROOM = "no_room"  # the interval has less left than the debit
    LINK_INACTIVE = "link_inactive"
    NOT_ELIGIBLE = "not_eligible"  # the payment is past asking (moved, or fell back)


COLUMNS = frozenset(LinkRecord.model_fields)  # the links table's columns, one field each


def link_codec(sealer: TokenSealer) -> Codec:
    return Codec(
        COLUMNS,
        sealer=sealer,
        json=("wallet", "allowance"),
        sealed_json=("token",),
        sealed_text=("continue_token", "interact_ref"),
        times=(
            "interval_start",
            "next_poll_at",
            "continue_claimed_at",
            "token_claimed_at",
            "expires_at",
            "created_at",
            "updated_at",
        ),
    )


class _Refused(Exception):
    def __init__(self, status: str | None) -> None:
        super().__init__(status)
        self.status = status


class LinkStore:
    """Links in plain SQL (`shared.sql`); their token columns sealed as the payments' are
    (`link_codec`)."""

    def __init__(self, payments: PaymentStore) -> None:
        self.db = payments.db
        self.codec = link_codec(payments.sealer)
        self.table = f'"{payments.prefix}links"'
        self.payments = f'"{payments.prefix}payments"'

    def _record(self, row: Row) -> LinkRecord:
        return LinkRecord.model_validate(self.codec.read(row))

    # ------------------------------------------------------------ rows

    async def insert(self, **values: Any) -> None:
        now = utcnow()
        values.setdefault("status", LinkStatus.AWAITING_APPROVAL.value)
        values.setdefault("spent", 0)
        values.setdefault("token_version", 0)
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        columns = list(values)
        args = [self.codec.write(column, values[column]) for column in columns]
        names = ", ".join(f'"{column}"' for column in columns)
        places = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        try:
            # Column names are checked against COLUMNS (`codec.write`); values are parameters.
            await self.db.execute(
                f"INSERT INTO {self.table} ({names}) VALUES ({places})",  # noqa: S608
                *args,
            )
        except IntegrityError as exc:
            raise DuplicateKey(values.get("idempotency_key")) from exc

    async def _one(self, column: str, value: str) -> LinkRecord | None:
        rows = await self.db.read(
            f"SELECT * FROM {self.table} WHERE {column} = $1",  # noqa: S608
            value,
        )
        return self._record(rows[0]) if rows else None

    async def get(self, link_id: str) -> LinkRecord | None:
        return await self._one("id", link_id)

    async def get_by_key(self, key: str) -> LinkRecord | None:
        return await self._one("idempotency_key", key)

    async def delete(self, link_id: str) -> None:
        await self.db.execute(f"DELETE FROM {self.table} WHERE id = $1", link_id)  # noqa: S608

    async def awaiting(self, limit: int = 100) -> Sequence[LinkRecord]:
        """Links waiting for their owner's approval (the runner continues and expires them)."""
        rows = await self.db.read(
            f"SELECT * FROM {self.table} WHERE status = $1 "  # noqa: S608
            "ORDER BY updated_at LIMIT $2",
            LinkStatus.AWAITING_APPROVAL.value,
            limit,
        )
        return [self._record(row) for row in rows]

    async def update(
        self, link_id: str, *, expect: LinkStatus | None = None, **values: Any
    ) -> bool:
        """UPDATE one link (only if it is in `expect`); True if it did."""
        return await self._update(link_id, expect, None, values)

    async def _update(
        self,
        link_id: str,
        expect: LinkStatus | None,
        where: Where | None,
        values: dict[str, Any],
    ) -> bool:
        """UPDATE one link if it is in `expect` and `where` holds; True if it did."""
        values["updated_at"] = utcnow()
        columns = list(values)
        args = [self.codec.write(column, values[column]) for column in columns]
        sets = ", ".join(f'"{column}" = ${n}' for n, column in enumerate(columns, 1))
        args.append(link_id)
        condition = f"id = ${len(args)}"
        if expect is not None:
            args.append(expect.value)
            condition += f" AND status = ${len(args)}"
        if where is not None:
            condition += f" AND ({where.after(len(args))})"
            args.extend(where.args)
        # Columns are checked against COLUMNS (`codec.write`), conditions are our own SQL.
        sql = f"UPDATE {self.table} SET {sets} WHERE {condition}"  # noqa: S608
        return await self.db.execute(sql, *args) == 1

    async def move(
        self, link_id: str, source: LinkStatus, target: LinkStatus, **values: Any
    ) -> bool:
        """Compare-and-set of a link's status: True if this call moved it."""
        return await self.update(link_id, expect=source, status=target.value, **values)

    async def claim_continuation(self, link_id: str, stale_before: datetime) -> bool:
        """Win the right to send the next continuation, once `wait` has passed."""
        now = utcnow()
        return await self._update(
            link_id,
            LinkStatus.AWAITING_APPROVAL,
            Where(
                "(continue_claimed_at IS NULL OR continue_claimed_at < $1)"
                " AND (next_poll_at IS NULL OR next_poll_at <= $2)",
                stale_before,
                now,
            ),
            {"continue_claimed_at": now},
        )

    async def claim_rotation(self, link_id: str, version: int, stale_before: datetime) -> bool:
        """Win the right to rotate the token at `version` (one rotation at a time)."""
        return await self._update(
            link_id,
            LinkStatus.ACTIVE,
            Where(
                "token_version = $1 AND (token_claimed_at IS NULL OR token_claimed_at < $2)",
                version,
                stale_before,
            ),
            {"token_claimed_at": utcnow()},
        )

    async def replace_token(self, link_id: str, version: int, token: StoredToken) -> bool:
        """Store a rotated token (the rotation claim released), only if nobody replaced the
        one at `version` meanwhile."""
        return await self._update(
            link_id,
            None,
            Where("token_version = $1", version),
            {"token": token.dump(), "token_version": version + 1, "token_claimed_at": None},
        )

    # ------------------------------------------------------------ the allowance

    async def reserve(
        self, payment_id: str, link_id: str, interval: int, debit: int
    ) -> Reservation:
        """Hold `debit` of the link's allowance in `interval` for one payment, exactly once:
        the payment row is marked first (a replay finds it marked), then the link's count
        grows only if it stays within the allowance; both or neither."""
        now = utcnow()
        try:
            async with self.db.transaction() as tx:
                marked = await tx.execute(
                    f"UPDATE {self.payments}"  # noqa: S608
                    " SET link_reserved = $1, link_interval = $2, updated_at = $3"
                    " WHERE id = $4 AND link_id = $5 AND status = $6"
                    " AND link_reserved IS NULL AND fallback_reason IS NULL"
                    " AND continue_uri IS NULL",
                    debit,
                    interval,
                    now,
                    payment_id,
                    link_id,
                    Status.AWAITING_APPROVAL.value,
                )
                if marked != 1:
                    held_before = await tx.fetchval(
                        f"SELECT link_reserved FROM {self.payments} WHERE id = $1",  # noqa: S608
                        payment_id,
                    )
                    if held_before is not None:
                        return Reservation.ALREADY
                    return Reservation.NOT_ELIGIBLE
                # What the interval holds so far: nothing once a new interval has begun.
                spent_now = "(CASE WHEN spent_interval = $1 THEN spent ELSE 0 END)"
                held = await tx.execute(
                    f"UPDATE {self.table}"  # noqa: S608
                    f" SET spent = {spent_now} + CAST($2 AS BIGINT), spent_interval = $1,"
                    " updated_at = $3"
                    " WHERE id = $4 AND status = $5"
                    f" AND {spent_now} + CAST($2 AS BIGINT) <= allowance_minor",
                    interval,
                    debit,
                    now,
                    link_id,
                    LinkStatus.ACTIVE.value,
                )
                if held != 1:
                    status = await tx.fetchval(
                        f"SELECT status FROM {self.table} WHERE id = $1",  # noqa: S608
                        link_id,
                    )
                    raise _Refused(status)  # rolls the payment's mark back
        except _Refused as refused:
            if refused.status != LinkStatus.ACTIVE.value:
                return Reservation.LINK_INACTIVE
            return Reservation.NO_ROOM
        return Reservation.HELD

    async def release(self, payment_id: str) -> bool:
        """Give back what a payment held (it ended without paying): once, in both rows. A hold
        in an interval that has since ended is simply dropped."""
        now = utcnow()
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"SELECT link_id, link_reserved, link_interval FROM {self.payments}"  # noqa: S608
                " WHERE id = $1",
                payment_id,
            )
            if row is None or row["link_reserved"] is None or row["link_id"] is None:
                return False
            cleared = await tx.execute(
                f"UPDATE {self.payments} SET link_reserved = NULL, updated_at = $1"  # noqa: S608
                " WHERE id = $2 AND link_reserved = $3",
                now,
                payment_id,
                row["link_reserved"],
            )
            if cleared != 1:
                return False
            await tx.execute(
                f"UPDATE {self.table} SET spent = spent - $1, updated_at = $2"  # noqa: S608
                " WHERE id = $3 AND spent_interval = $4 AND spent >= $1",
                row["link_reserved"],
                now,
                row["link_id"],
                row["link_interval"],
            )
        return True
