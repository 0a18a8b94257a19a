"""Money requests as the gateway remembers them (`ws_money_requests`): who asked whom for what,
op_api's request id, and where the request is. The wallet holds the truth (op_api reads the
incoming payment); this row is what the chat needs: who to tell, and both users' histories.
Status moves only forward, by conditional updates, so each outcome is told exactly once."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from shared.sql import Row, from_json, to_json
from ws_bot import store as st


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


def _row(r: Row) -> MoneyRequest:
    # The dataclass's fields are the table's columns, by the same names.
    values = {f.name: r[f.name] for f in fields(MoneyRequest)}
    values.update(amount=from_json(r["amount"]), status=RequestStatus(r["status"]))
    return MoneyRequest(**values)


# The f-strings below assemble SQL from this module's constants and the database's dialect
# spellings only (hence the S608 waivers); every value travels as a parameter.
class RequestStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.db = store.db
        self._open = self.db.array(s.value for s in OPEN)

    async def add(self, request: MoneyRequest, next_check_at: float) -> None:
        await self.db.execute(
            "INSERT INTO ws_money_requests (id, requester, payer, payer_label, amount,"
            " op_request_id, incoming_payment_url, status, created_at, expires_at, next_check_at,"
            " offered) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)",
            request.id,
            request.requester,
            request.payer,
            request.payer_label[:256],
            to_json(request.amount),
            request.op_request_id,
            request.incoming_payment_url,
            request.status.value,
            request.created_at,
            request.expires_at,
            next_check_at,
        )

    async def get(self, request_id: str) -> MoneyRequest | None:
        rows = await self.db.read("SELECT * FROM ws_money_requests WHERE id = $1", request_id)
        return _row(rows[0]) if rows else None

    async def finish(self, request_id: str, status: RequestStatus) -> bool:
        """Move an open request to its outcome; True for the one caller that did."""
        changed = await self.db.execute(
            "UPDATE ws_money_requests SET status = $2"  # noqa: S608
            f" WHERE id = $1 AND status {self.db.one_of('$3')}",
            request_id,
            status.value,
            self._open,
        )
        return changed == 1

    async def mark_offered(self, request_id: str) -> bool:
        """True for the one caller that shows the payer the buttons."""
        changed = await self.db.execute(
            "UPDATE ws_money_requests SET offered = 1 WHERE id = $1 AND offered = 0", request_id
        )
        return changed == 1

    async def not_offered(self, payer: str) -> list[MoneyRequest]:
        """Open requests to `payer` whose buttons were never shown (the template went out)."""
        rows = await self.db.read(
            "SELECT * FROM ws_money_requests"  # noqa: S608
            f" WHERE payer = $1 AND status {self.db.one_of('$2')} AND offered = 0"
            " ORDER BY created_at LIMIT 3",
            payer,
            self._open,
        )
        return [_row(r) for r in rows]

    async def due(self, now: float, next_check_at: float, limit: int = 20) -> list[MoneyRequest]:
        """Open requests whose check is due; each is pushed back to `next_check_at` (one claim:
        replicas sweeping together never both take a request)."""
        rows = await self.db.fetch(
            "UPDATE ws_money_requests SET next_check_at = $2 WHERE id IN ("  # noqa: S608
            f"SELECT id FROM ws_money_requests WHERE status {self.db.one_of('$3')}"
            f" AND next_check_at <= $1 ORDER BY next_check_at LIMIT $4{self.db.skip_locked})"
            " RETURNING *",
            now,
            next_check_at,
            self._open,
            limit,
        )
        return sorted((_row(r) for r in rows), key=lambda r: r.created_at)

    async def of_user(self, wa_id: str, limit: int = 5) -> list[MoneyRequest]:
        """The latest requests a user made or was asked to pay."""
        rows = await self.db.read(
            "SELECT * FROM ws_money_requests WHERE requester = $1 OR payer = $1"
            " ORDER BY created_at DESC LIMIT $2",
            wa_id,
            limit,
        )
        return [_row(r) for r in rows]
