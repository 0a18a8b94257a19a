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

from shared.sql import Row, from_json, to_json
from ws_bot import store as st


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


def _payment(row: Row) -> Payment:
    return Payment(
        payment_id=row["payment_id"],
        wa_id=row["wa_id"],
        draft_id=row["draft_id"],
        status=row["status"],
        recipient_label=row["recipient_label"],
        receiver_wallet=row["receiver_wallet"],
        receiver_wa_id=row["receiver_wa_id"],
        debit=from_json(row["debit"]),
        receive=from_json(row["receive"]),
        react_message_id=row["react_message_id"],
        deadline=row["deadline"],
        next_poll_at=row["next_poll_at"],
        attempts=row["attempts"],
        notified=bool(row["notified"]),
        created_at=row["created_at"],
    )


# The SQL here is put together only from our own placeholders and these checked column
# names, never from values (hence the S608 waivers).
# What `reschedule` and `finish` may set besides what they set themselves (the keyword names go
# into the SQL, so only these).
_EXTRA = frozenset({"recipient_label", "receiver_wallet", "receiver_wa_id", "debit", "receive"})


def _assignments(values: dict[str, Any], first: int) -> tuple[str, list[Any]]:
    """`, column = $n` for each of `values` (numbered from `first`), and their arguments."""
    unknown = set(values) - _EXTRA
    if unknown:
        raise ValueError(f"not a payment column to set: {sorted(unknown)}")
    names = list(values)
    sql = "".join(f", {name} = ${i}" for i, name in enumerate(names, start=first))
    json_columns = ("debit", "receive")
    return sql, [to_json(values[n]) if n in json_columns else values[n] for n in names]


class PaymentStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def add(self, payment: Payment) -> bool:
        now = time.time()
        added = await self.store.db.execute(
            "INSERT INTO ws_payments (payment_id, wa_id, draft_id, status, recipient_label,"
            " receiver_wallet, receiver_wa_id, debit, receive, react_message_id, deadline,"
            " next_poll_at, attempts, notified, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, $13, $13)"
            " ON CONFLICT DO NOTHING",
            payment.payment_id,
            payment.wa_id,
            payment.draft_id,
            payment.status,
            st.clip(payment.recipient_label, 256),
            payment.receiver_wallet,
            payment.receiver_wa_id,
            to_json(payment.debit),
            to_json(payment.receive),
            payment.react_message_id,
            payment.deadline,
            payment.next_poll_at,
            now,
        )
        return added == 1

    async def get(self, payment_id: str) -> Payment | None:
        rows = await self.store.db.read(
            "SELECT * FROM ws_payments WHERE payment_id = $1", payment_id
        )
        return _payment(rows[0]) if rows else None

    async def claim_due(
        self, owner: str, lease: float, limit: int = 20, *, ahead: float = 0.0
    ) -> list[Payment]:
        """Claim payments whose next poll is due (within `ahead` seconds) and whose lease is
        free (replica-safe)."""
        now = time.time()
        db = self.store.db
        # One statement: on PostgreSQL the inner SELECT locks the rows it picks and skips those
        # another replica is claiming; a row leased meanwhile is re-checked after its lock and
        # left out. SQLite has one writer, so the SELECT and the UPDATE see the same rows.
        rows = await db.fetch(
            "UPDATE ws_payments SET lease_owner = $1, lease_until = $2"  # noqa: S608
            " WHERE payment_id IN (SELECT payment_id FROM ws_payments"
            " WHERE notified = 0 AND next_poll_at <= $3"
            " AND (lease_until IS NULL OR lease_until < $4)"
            " ORDER BY next_poll_at LIMIT $5" + db.skip_locked + ") RETURNING *",
            owner,
            now + lease,
            now + ahead,
            now,
            limit,
        )
        # RETURNING keeps no order: most overdue first, as claimed.
        return sorted((_payment(row) for row in rows), key=lambda p: p.next_poll_at)

    async def reschedule(
        self, payment_id: str, owner: str, status: str, next_poll_at: float, **values: Any
    ) -> None:
        extra, args = _assignments(values, 6)
        await self.store.db.execute(
            "UPDATE ws_payments SET status = $3, next_poll_at = $4, attempts = attempts + 1,"  # noqa: S608
            f" lease_owner = NULL, lease_until = NULL, updated_at = $5{extra}"
            " WHERE payment_id = $1 AND lease_owner = $2",
            payment_id,
            owner,
            status,
            next_poll_at,
            time.time(),
            *args,
        )

    async def renew_leases(self, owner: str, payment_ids: list[str], lease: float) -> set[str]:
        """Extend this owner's leases on `payment_ids`; the ids it still holds (a payment
        finished meanwhile, or taken over after a lapsed lease, is no longer among them)."""
        if not payment_ids:
            return set()
        db = self.store.db
        rows = await db.fetch(
            "UPDATE ws_payments SET lease_until = $1 WHERE payment_id "  # noqa: S608
            + db.one_of("$2")
            + " AND lease_owner = $3 AND notified = 0 RETURNING payment_id",
            time.time() + lease,
            db.array(payment_ids),
            owner,
        )
        return {row["payment_id"] for row in rows}

    async def note_status(self, payment_id: str, owner: str, status: str) -> None:
        """Record a status op_api reported (not final), keeping this owner's lease."""
        await self.store.db.execute(
            "UPDATE ws_payments SET status = $3, updated_at = $4"
            " WHERE payment_id = $1 AND lease_owner = $2 AND notified = 0",
            payment_id,
            owner,
            status,
            time.time(),
        )

    async def finish(self, payment_id: str, status: str, **values: Any) -> bool:
        """Mark final and notified; True only for the caller that flips it (tell the user once)."""
        extra, args = _assignments(values, 4)
        changed = await self.store.db.execute(
            "UPDATE ws_payments SET status = $2, notified = 1, lease_owner = NULL,"  # noqa: S608
            f" lease_until = NULL, updated_at = $3{extra}"
            " WHERE payment_id = $1 AND notified = 0",
            payment_id,
            status,
            time.time(),
            *args,
        )
        return changed == 1

    async def recent(self, wa_id: str, limit: int = 5) -> list[Payment]:
        rows = await self.store.db.read(
            "SELECT * FROM ws_payments WHERE wa_id = $1 ORDER BY created_at DESC LIMIT $2",
            wa_id,
            limit,
        )
        return [_payment(row) for row in rows]

    async def received(self, wa_id: str, limit: int = 5) -> list[Payment]:
        """Completed payments to this user from other Paguito users, newest first."""
        rows = await self.store.db.read(
            "SELECT * FROM ws_payments WHERE receiver_wa_id = $1 AND status = 'completed'"
            " ORDER BY created_at DESC LIMIT $2",
            wa_id,
            limit,
        )
        return [_payment(row) for row in rows]

    async def active(self, wa_id: str) -> list[Payment]:
        rows = await self.store.db.read(
            "SELECT * FROM ws_payments WHERE wa_id = $1 AND notified = 0", wa_id
        )
        return [_payment(row) for row in rows]

    async def release_leases(self, owner: str) -> None:
        """Drop the leases `owner` holds (a previous run under the same replica id left them
        behind, or this run stops following payments by watching)."""
        await self.store.db.execute(
            "UPDATE ws_payments SET lease_until = NULL WHERE lease_owner = $1", owner
        )
