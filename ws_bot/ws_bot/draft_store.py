"""Payment drafts (`ws_drafts`): a payment being put together in the chat, from the first
"manda 50 a Maria" to the confirmation. At most one draft per user is open (collecting or
quoted): creating one supersedes the others. Every move after that is a conditional UPDATE
(`update` with the statuses it expects), so of two confirmations of one draft ("sí" and a
button tap, or two replicas) exactly one wins."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.sql import Row, from_json, to_json
from ws_bot import store as st


class DraftStatus(StrEnum):
    """Where a payment draft is. At most one draft per user is open (collecting or quoted)."""

    COLLECTING = "collecting"  # amount or recipient still missing
    QUOTED = "quoted"  # payment created at op_api, Confirm/Cancel shown
    CONFIRMED = "confirmed"  # the user confirmed (exactly one tap or "sí" wins)
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # a newer request replaced it before it was confirmed


COLLECTING = DraftStatus.COLLECTING
QUOTED = DraftStatus.QUOTED
CONFIRMED = DraftStatus.CONFIRMED
CANCELLED = DraftStatus.CANCELLED
SUPERSEDED = DraftStatus.SUPERSEDED
OPEN_DRAFT = (COLLECTING, QUOTED)
DRAFT_TTL_SECONDS = 1800.0


@dataclass
class Draft:
    id: str
    wa_id: str
    status: DraftStatus
    amount: str | None
    currency: str | None
    recipient_label: str | None
    receiver_wallet: str | None
    receiver_wa_id: str | None
    source_message_id: str
    payment_id: str | None
    quote: dict[str, Any] | None
    confirmed_by: str | None
    updated_at: float = 0.0

    @property
    def stale(self) -> bool:
        return self.updated_at < time.time() - DRAFT_TTL_SECONDS


def _draft(row: Row) -> Draft:
    return Draft(
        id=row["id"],
        wa_id=row["wa_id"],
        status=DraftStatus(row["status"]),
        amount=row["amount"],
        currency=row["currency"],
        recipient_label=row["recipient_label"],
        receiver_wallet=row["receiver_wallet"],
        receiver_wa_id=row["receiver_wa_id"],
        source_message_id=row["source_message_id"],
        payment_id=row["payment_id"],
        quote=from_json(row["quote"]),
        confirmed_by=row["confirmed_by"],
        updated_at=row["updated_at"],
    )


_OPEN = [status.value for status in OPEN_DRAFT]

# The SQL here is put together only from our own placeholders and these checked column
# names, never from values (hence the S608 waivers).
# What `update` may set (its keyword names go into the SQL, so only these).
_UPDATABLE = frozenset(
    {
        "status",
        "amount",
        "currency",
        "recipient_label",
        "receiver_wallet",
        "receiver_wa_id",
        "source_message_id",
        "payment_id",
        "quote",
        "confirmed_by",
    }
)


class DraftStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def current(self, wa_id: str) -> Draft | None:
        """The user's open draft, unless it went stale (a question from an hour ago is not
        what today's "Maria" answers)."""
        db = self.store.db
        rows = await db.read(
            "SELECT * FROM ws_drafts WHERE wa_id = $1 AND status "  # noqa: S608
            + db.one_of("$2")
            + " AND updated_at > $3 ORDER BY created_at DESC LIMIT 1",
            wa_id,
            db.array(_OPEN),
            time.time() - DRAFT_TTL_SECONDS,
        )
        return _draft(rows[0]) if rows else None

    async def get(self, draft_id: str) -> Draft | None:
        rows = await self.store.db.read("SELECT * FROM ws_drafts WHERE id = $1", draft_id)
        return _draft(rows[0]) if rows else None

    async def create(self, draft: Draft) -> list[Draft]:
        """Store a new draft as the user's one open draft; the drafts it replaced (quoted ones
        need their payment cancelled and the user told) are returned."""
        now = time.time()
        db = self.store.db
        open_draft = "wa_id = $1 AND status " + db.one_of("$2")
        # One batch (one transaction, one hop). The read comes first: whether a replaced draft
        # was stale is its old updated_at.
        found, _, _ = await db.batch(
            [
                (
                    "SELECT * FROM ws_drafts WHERE " + open_draft,  # noqa: S608
                    [draft.wa_id, db.array(_OPEN)],
                ),
                (
                    "UPDATE ws_drafts SET status = $3, updated_at = $4 WHERE "  # noqa: S608
                    + open_draft,
                    [draft.wa_id, db.array(_OPEN), SUPERSEDED.value, now],
                ),
                (
                    "INSERT INTO ws_drafts (id, wa_id, status, amount, currency, recipient_label,"
                    " receiver_wallet, receiver_wa_id, source_message_id, payment_id, quote,"
                    " confirmed_by, created_at, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
                    [
                        draft.id,
                        draft.wa_id,
                        DraftStatus(draft.status).value,
                        draft.amount,
                        draft.currency,
                        st.clip(draft.recipient_label, 256),
                        st.clip(draft.receiver_wallet, 2048),
                        draft.receiver_wa_id,
                        draft.source_message_id,
                        draft.payment_id,
                        to_json(draft.quote),
                        draft.confirmed_by,
                        now,
                    ],
                ),
            ]
        )
        replaced = [_draft(row) for row in found.rows]
        draft.updated_at = now
        return [d for d in replaced if not d.stale]

    async def recent_confirmed(self, wa_id: str, receiver_wallet: str, since: float) -> list[Draft]:
        """The user's confirmed drafts to `receiver_wallet` updated after `since`."""
        rows = await self.store.db.read(
            "SELECT * FROM ws_drafts WHERE wa_id = $1 AND status = $2 AND receiver_wallet = $3"
            " AND updated_at > $4",
            wa_id,
            CONFIRMED.value,
            receiver_wallet,
            since,
        )
        return [_draft(row) for row in rows]

    async def update(self, draft_id: str, expect: tuple[str, ...], **values: Any) -> bool:
        """Conditional update: only when the draft is still in one of `expect` statuses; True
        for the one caller whose update moved it."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not a draft column to update: {sorted(unknown)}")
        if "quote" in values:
            values["quote"] = to_json(values["quote"])
        if "recipient_label" in values:
            values["recipient_label"] = st.clip(values["recipient_label"], 256)
        if "status" in values:
            values["status"] = DraftStatus(values["status"]).value
        db = self.store.db
        names = list(values)
        assignments = "".join(f", {name} = ${i}" for i, name in enumerate(names, start=4))
        changed = await db.execute(
            f"UPDATE ws_drafts SET updated_at = $3{assignments}"  # noqa: S608
            " WHERE id = $1 AND status " + db.one_of("$2"),
            draft_id,
            db.array(str(status) for status in expect),
            time.time(),
            *(values[name] for name in names),
        )
        return changed == 1
