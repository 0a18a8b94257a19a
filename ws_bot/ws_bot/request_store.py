"""Money requests as the gateway remembers them (`ws_money_requests`): who asked whom for what,
op_api's request id, and where the request is. The wallet holds the truth (op_api reads the
incoming payment); this row is what the chat needs: who to tell, and both users' histories.
Status moves only forward, by conditional updates, so each outcome is told exactly once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, or_, select, update

from ws_bot import store as st
from ws_bot.schema import money_requests


class RequestStatus(StrEnum):
    ASKED = "asked"  # created at the requester's wallet; the payer asked (or the link shared)
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"


OPEN = (RequestStatus.ASKED,)


@dataclass
class MoneyRequest:
    id: str
    requester: str
    payer: str | None
    payer_label: str
    amount: dict[str, Any]
    op_request_id: str
    incoming_payment_url: str
    status: RequestStatus
    created_at: float
    expires_at: float

    @property
    def amount_text(self) -> str:
        return f"{self.amount.get('value', '?')} {self.amount.get('assetCode', '')}".strip()


def _row(r: Any) -> MoneyRequest:
    return MoneyRequest(
        id=r.id,
        requester=r.requester,
        payer=r.payer,
        payer_label=r.payer_label,
        amount=json.loads(r.amount),
        op_request_id=r.op_request_id,
        incoming_payment_url=r.incoming_payment_url,
        status=RequestStatus(r.status),
        created_at=r.created_at,
        expires_at=r.expires_at,
    )


class RequestStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.engine = store.engine

    async def add(self, request: MoneyRequest, next_check_at: float) -> None:
        async with self.store._write() as conn:  # the gateway's one writer queue
            await conn.execute(
                insert(money_requests).values(
                    id=request.id,
                    requester=request.requester,
                    payer=request.payer,
                    payer_label=request.payer_label[:256],
                    amount=json.dumps(request.amount),
                    op_request_id=request.op_request_id,
                    incoming_payment_url=request.incoming_payment_url,
                    status=request.status.value,
                    created_at=request.created_at,
                    expires_at=request.expires_at,
                    next_check_at=next_check_at,
                    offered=0,
                )
            )

    async def get(self, request_id: str) -> MoneyRequest | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(money_requests).where(money_requests.c.id == request_id))
            ).first()
        return _row(row) if row is not None else None

    async def finish(self, request_id: str, status: RequestStatus) -> bool:
        """Move an open request to its outcome; True for the one caller that did."""
        async with self.store._write() as conn:  # the gateway's one writer queue
            result = await conn.execute(
                update(money_requests)
                .where(money_requests.c.id == request_id, money_requests.c.status.in_(OPEN))
                .values(status=status.value)
            )
        return bool(result.rowcount == 1)

    async def mark_offered(self, request_id: str) -> bool:
        """True for the one caller that shows the payer the buttons."""
        async with self.store._write() as conn:  # the gateway's one writer queue
            result = await conn.execute(
                update(money_requests)
                .where(money_requests.c.id == request_id, money_requests.c.offered == 0)
                .values(offered=1)
            )
        return bool(result.rowcount == 1)

    async def not_offered(self, payer: str) -> list[MoneyRequest]:
        """Open requests to `payer` whose buttons were never shown (the template went out)."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(money_requests)
                    .where(
                        money_requests.c.payer == payer,
                        money_requests.c.status.in_(OPEN),
                        money_requests.c.offered == 0,
                    )
                    .order_by(money_requests.c.created_at)
                    .limit(3)
                )
            ).all()
        return [_row(r) for r in rows]

    async def due(self, now: float, next_check_at: float, limit: int = 20) -> list[MoneyRequest]:
        """Open requests whose check is due; each is pushed back to `next_check_at`."""
        async with self.store._write() as conn:  # the gateway's one writer queue
            rows = (
                await conn.execute(
                    select(money_requests)
                    .where(money_requests.c.status.in_(OPEN), money_requests.c.next_check_at <= now)
                    .order_by(money_requests.c.next_check_at)
                    .limit(limit)
                )
            ).all()
            if rows:
                await conn.execute(
                    update(money_requests)
                    .where(money_requests.c.id.in_([r.id for r in rows]))
                    .values(next_check_at=next_check_at)
                )
        return [_row(r) for r in rows]

    async def of_user(self, wa_id: str, limit: int = 5) -> list[MoneyRequest]:
        """The latest requests a user made or was asked to pay."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(money_requests)
                    .where(
                        or_(money_requests.c.requester == wa_id, money_requests.c.payer == wa_id)
                    )
                    .order_by(money_requests.c.created_at.desc())
                    .limit(limit)
                )
            ).all()
        return [_row(r) for r in rows]
