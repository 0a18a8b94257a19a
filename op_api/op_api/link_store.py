"""Linked wallets in SQL, beside the payments (same database, same sealing of tokens).

A link's status moves by compare-and-set (`move`), like a payment's. What one-tap payments hold
of a link's allowance is counted in the link row (`spent` in interval `spent_interval`) and in
each payment row (`link_reserved`, `link_interval`): a reservation and its release each change
both rows in one transaction, with conditional UPDATEs, so concurrent confirmations and
replicas can never hold more than the allowance between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, case, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from op_api.client.models import WalletAddress
from op_api.lifecycle import Status
from op_api.records import StoredToken, as_utc
from op_api.store import DuplicateKey, PaymentStore, utcnow
from shared.contracts import LinkStatus
from shared.money import Amount


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

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> LinkRecord:
        data = {k: as_utc(v) if isinstance(v, datetime) else v for k, v in dict(row).items()}
        return cls.model_validate(data)

    def spent_in(self, interval: int) -> int:
        return self.spent if self.spent_interval == interval else 0


class Reservation(StrEnum):
    HELD = "held"  # this call reserved the payment's debit
    ALREADY = "already"  # an earlier call did (a replay, or a concurrent twin)
    NO_ROOM = "no_room"  # the interval has less left than the debit
    LINK_INACTIVE = "link_inactive"
    NOT_ELIGIBLE = "not_eligible"  # the payment is past asking (moved, or fell back)


class _Refused(Exception):
    def __init__(self, status: str | None) -> None:
        super().__init__(status)
        self.status = status


class LinkStore:
    def __init__(self, payments: PaymentStore) -> None:
        self.engine = payments.engine
        self.table = payments.links_table
        self.payments = payments.table

    async def insert(self, **values: Any) -> None:
        now = utcnow()
        values.setdefault("status", LinkStatus.AWAITING_APPROVAL.value)
        values.setdefault("spent", 0)
        values.setdefault("token_version", 0)
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(self.table).values(**values))
        except IntegrityError as exc:
            raise DuplicateKey(values.get("idempotency_key")) from exc

    async def _one(self, condition: Any) -> LinkRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(self.table).where(condition))).first()
        return LinkRecord.from_row(row._mapping) if row else None

    async def get(self, link_id: str) -> LinkRecord | None:
        return await self._one(self.table.c.id == link_id)

    async def get_by_key(self, key: str) -> LinkRecord | None:
        return await self._one(self.table.c.idempotency_key == key)

    async def delete(self, link_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(self.table.delete().where(self.table.c.id == link_id))

    async def awaiting(self, limit: int = 100) -> Sequence[LinkRecord]:
        """Links waiting for their owner's approval (the runner continues and expires them)."""
        t = self.table
        query = (
            select(t)
            .where(t.c.status == LinkStatus.AWAITING_APPROVAL.value)
            .order_by(t.c.updated_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [LinkRecord.from_row(r._mapping) for r in rows]

    async def update(
        self,
        link_id: str,
        *,
        expect: LinkStatus | None = None,
        where: Any = None,
        **values: Any,
    ) -> bool:
        """UPDATE one link (only if it is in `expect` and `where` holds); True if it did."""
        t = self.table
        condition = t.c.id == link_id
        if expect is not None:
            condition = and_(condition, t.c.status == expect.value)
        if where is not None:
            condition = and_(condition, where)
        values["updated_at"] = utcnow()
        async with self.engine.begin() as conn:
            result = await conn.execute(update(t).where(condition).values(**values))
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def move(
        self, link_id: str, source: LinkStatus, target: LinkStatus, **values: Any
    ) -> bool:
        """Compare-and-set of a link's status: True if this call moved it."""
        return await self.update(link_id, expect=source, status=target.value, **values)

    async def claim_continuation(self, link_id: str, stale_before: datetime) -> bool:
        """Win the right to send the next continuation, once `wait` has passed."""
        t, now = self.table, utcnow()
        condition = and_(
            or_(t.c.continue_claimed_at.is_(None), t.c.continue_claimed_at < stale_before),
            or_(t.c.next_poll_at.is_(None), t.c.next_poll_at <= now),
        )
        return await self.update(
            link_id, expect=LinkStatus.AWAITING_APPROVAL, where=condition, continue_claimed_at=now
        )

    async def claim_rotation(self, link_id: str, version: int, stale_before: datetime) -> bool:
        """Win the right to rotate the token at `version` (one rotation at a time)."""
        t = self.table
        free = or_(t.c.token_claimed_at.is_(None), t.c.token_claimed_at < stale_before)
        return await self.update(
            link_id,
            expect=LinkStatus.ACTIVE,
            where=and_(t.c.token_version == version, free),
            token_claimed_at=utcnow(),
        )

    async def replace_token(self, link_id: str, version: int, token: StoredToken) -> bool:
        """Store a rotated token (the rotation claim released), only if nobody replaced the
        one at `version` meanwhile."""
        t = self.table
        return await self.update(
            link_id,
            where=t.c.token_version == version,
            token=token.dump(),
            token_version=version + 1,
            token_claimed_at=None,
        )

    # ------------------------------------------------------------ the allowance

    async def reserve(
        self, payment_id: str, link_id: str, interval: int, debit: int
    ) -> Reservation:
        """Hold `debit` of the link's allowance in `interval` for one payment, exactly once:
        the payment row is marked first (a replay finds it marked), then the link's count
        grows only if it stays within the allowance; both or neither."""
        p, t, now = self.payments, self.table, utcnow()
        spent_now = case((t.c.spent_interval == interval, t.c.spent), else_=0)
        try:
            async with self.engine.begin() as conn:
                marked = await conn.execute(
                    update(p)
                    .where(
                        p.c.id == payment_id,
                        p.c.link_id == link_id,
                        p.c.status == Status.AWAITING_APPROVAL.value,
                        p.c.link_reserved.is_(None),
                        p.c.fallback_reason.is_(None),
                        p.c.continue_uri.is_(None),
                    )
                    .values(link_reserved=debit, link_interval=interval, updated_at=now)
                )
                assert isinstance(marked, CursorResult)
                if marked.rowcount != 1:
                    held_before = (
                        await conn.execute(select(p.c.link_reserved).where(p.c.id == payment_id))
                    ).scalar_one_or_none()
                    if held_before is not None:
                        return Reservation.ALREADY
                    return Reservation.NOT_ELIGIBLE
                held = await conn.execute(
                    update(t)
                    .where(
                        t.c.id == link_id,
                        t.c.status == LinkStatus.ACTIVE.value,
                        spent_now + debit <= t.c.allowance_minor,
                    )
                    .values(spent=spent_now + debit, spent_interval=interval, updated_at=now)
                )
                assert isinstance(held, CursorResult)
                if held.rowcount != 1:
                    status = (
                        await conn.execute(select(t.c.status).where(t.c.id == link_id))
                    ).scalar_one_or_none()
                    raise _Refused(status)  # rolls the payment's mark back
        except _Refused as refused:
            if refused.status != LinkStatus.ACTIVE.value:
                return Reservation.LINK_INACTIVE
            return Reservation.NO_ROOM
        return Reservation.HELD

    async def release(self, payment_id: str) -> bool:
        """Give back what a payment held (it ended without paying): once, in both rows. A hold
        in an interval that has since ended is simply dropped."""
        p, t, now = self.payments, self.table, utcnow()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(p.c.link_id, p.c.link_reserved, p.c.link_interval).where(
                        p.c.id == payment_id
                    )
                )
            ).first()
            if row is None or row.link_reserved is None or row.link_id is None:
                return False
            cleared = await conn.execute(
                update(p)
                .where(p.c.id == payment_id, p.c.link_reserved == row.link_reserved)
                .values(link_reserved=None, updated_at=now)
            )
            assert isinstance(cleared, CursorResult)
            if cleared.rowcount != 1:
                return False
            await conn.execute(
                update(t)
                .where(
                    t.c.id == row.link_id,
                    t.c.spent_interval == row.link_interval,
                    t.c.spent >= row.link_reserved,
                )
                .values(spent=t.c.spent - row.link_reserved, updated_at=now)
            )
        return True
