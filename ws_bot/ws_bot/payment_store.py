"""Payments being followed (`ws_payments`): each payment a user confirmed, polled or watched at
op_api until it is final, then the user (and a payee who is a Paguito user) is told once.

Several replicas share the following: a replica claims a due payment by a conditional UPDATE of
its lease (free or lapsed), renews the leases it holds, and reschedules only while it still owns
the lease. The end is `finish`: a conditional UPDATE of `notified` from 0 to 1, and only the
caller whose update changed the row tells the user, so each outcome is told exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update

from ws_bot import store as st
from ws_bot.schema import payments


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


def _payment(row: Any) -> Payment:
    return Payment(
        payment_id=row.payment_id,
        wa_id=row.wa_id,
        draft_id=row.draft_id,
        status=row.status,
        recipient_label=row.recipient_label,
        receiver_wallet=row.receiver_wallet,
        receiver_wa_id=row.receiver_wa_id,
        debit=st.from_json(row.debit),
        receive=st.from_json(row.receive),
        react_message_id=row.react_message_id,
        deadline=row.deadline,
        next_poll_at=row.next_poll_at,
        attempts=row.attempts,
        notified=bool(row.notified),
        created_at=row.created_at,
    )


class PaymentStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def add(self, payment: Payment) -> bool:
        now = time.time()
        async with self.store._write() as conn:
            result = await conn.execute(
                self.store._insert_ignore(payments).values(
                    payment_id=payment.payment_id,
                    wa_id=payment.wa_id,
                    draft_id=payment.draft_id,
                    status=payment.status,
                    recipient_label=st.clip(payment.recipient_label, 256),
                    receiver_wallet=payment.receiver_wallet,
                    receiver_wa_id=payment.receiver_wa_id,
                    debit=st.to_json(payment.debit),
                    receive=st.to_json(payment.receive),
                    react_message_id=payment.react_message_id,
                    deadline=payment.deadline,
                    next_poll_at=payment.next_poll_at,
                    attempts=0,
                    notified=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        return st.rowcount(result) == 1

    async def get(self, payment_id: str) -> Payment | None:
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(select(payments).where(payments.c.payment_id == payment_id))
            ).first()
        return _payment(row) if row else None

    async def claim_due(
        self, owner: str, lease: float, limit: int = 20, *, ahead: float = 0.0
    ) -> list[Payment]:
        """Claim payments whose next poll is due (within `ahead` seconds) and whose lease is
        free (replica-safe)."""
        now = time.time()
        async with self.store.engine.connect() as conn:
            ids = (
                await conn.execute(
                    select(payments.c.payment_id)
                    .where(
                        payments.c.notified == 0,
                        payments.c.next_poll_at <= now + ahead,
                        or_(payments.c.lease_until.is_(None), payments.c.lease_until < now),
                    )
                    .order_by(payments.c.next_poll_at)
                    .limit(limit)
                )
            ).all()
        if not ids:
            return []
        wanted = [payment_id for (payment_id,) in ids]
        until = now + lease
        # One UPDATE for the batch: a row another replica leased meanwhile no longer matches
        # (on PostgreSQL the condition is re-checked after its lock), and the rows won are the
        # ones holding exactly this owner and expiry.
        async with self.store._write() as conn:
            await conn.execute(
                update(payments)
                .where(
                    payments.c.payment_id.in_(wanted),
                    payments.c.notified == 0,
                    or_(payments.c.lease_until.is_(None), payments.c.lease_until < now),
                )
                .values(lease_owner=owner, lease_until=until)
            )
            rows = (
                await conn.execute(
                    select(payments).where(
                        payments.c.payment_id.in_(wanted),
                        payments.c.lease_owner == owner,
                        payments.c.lease_until == until,
                    )
                )
            ).all()
        won = {row.payment_id: _payment(row) for row in rows}
        return [won[payment_id] for payment_id in wanted if payment_id in won]

    async def reschedule(
        self, payment_id: str, owner: str, status: str, next_poll_at: float, **values: Any
    ) -> None:
        for key in ("debit", "receive"):
            if key in values:
                values[key] = st.to_json(values[key])
        async with self.store._write() as conn:
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

    async def renew_leases(self, owner: str, payment_ids: list[str], lease: float) -> set[str]:
        """Extend this owner's leases on `payment_ids`; the ids it still holds (a payment
        finished meanwhile, or taken over after a lapsed lease, is no longer among them)."""
        now = time.time()
        held: set[str] = set()
        for start in range(0, len(payment_ids), 500):
            chunk = payment_ids[start : start + 500]
            mine = and_(
                payments.c.payment_id.in_(chunk),
                payments.c.lease_owner == owner,
                payments.c.notified == 0,
            )
            async with self.store._write() as conn:
                await conn.execute(update(payments).where(mine).values(lease_until=now + lease))
                rows = (await conn.execute(select(payments.c.payment_id).where(mine))).all()
            held.update(row.payment_id for row in rows)
        return held

    async def note_status(self, payment_id: str, owner: str, status: str) -> None:
        """Record a status op_api reported (not final), keeping this owner's lease."""
        async with self.store._write() as conn:
            await conn.execute(
                update(payments)
                .where(
                    payments.c.payment_id == payment_id,
                    payments.c.lease_owner == owner,
                    payments.c.notified == 0,
                )
                .values(status=status, updated_at=time.time())
            )

    async def finish(self, payment_id: str, status: str, **values: Any) -> bool:
        """Mark final and notified; True only for the caller that flips it (tell the user once)."""
        for key in ("debit", "receive"):
            if key in values:
                values[key] = st.to_json(values[key])
        async with self.store._write() as conn:
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
        return st.rowcount(result) == 1

    async def recent(self, wa_id: str, limit: int = 5) -> list[Payment]:
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(payments)
                    .where(payments.c.wa_id == wa_id)
                    .order_by(payments.c.created_at.desc())
                    .limit(limit)
                )
            ).all()
        return [_payment(r) for r in rows]

    async def received(self, wa_id: str, limit: int = 5) -> list[Payment]:
        """Completed payments to this user from other Paguito users, newest first."""
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(payments)
                    .where(payments.c.receiver_wa_id == wa_id, payments.c.status == "completed")
                    .order_by(payments.c.created_at.desc())
                    .limit(limit)
                )
            ).all()
        return [_payment(r) for r in rows]

    async def active(self, wa_id: str) -> list[Payment]:
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(payments).where(
                        and_(payments.c.wa_id == wa_id, payments.c.notified == 0)
                    )
                )
            ).all()
        return [_payment(r) for r in rows]

    async def release_leases(self, owner: str) -> None:
        """Drop the leases `owner` holds (a previous run under the same replica id left them
        behind, or this run stops following payments by watching)."""
        async with self.store._write() as conn:
            await conn.execute(
                update(payments).where(payments.c.lease_owner == owner).values(lease_until=None)
            )
