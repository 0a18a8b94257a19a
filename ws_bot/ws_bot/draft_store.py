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

from sqlalchemy import insert, select, update

from ws_bot import store as st
from ws_bot.schema import drafts


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


def _draft(row: Any) -> Draft:
    return Draft(
        id=row.id,
        wa_id=row.wa_id,
        status=DraftStatus(row.status),
        amount=row.amount,
        currency=row.currency,
        recipient_label=row.recipient_label,
        receiver_wallet=row.receiver_wallet,
        receiver_wa_id=row.receiver_wa_id,
        source_message_id=row.source_message_id,
        payment_id=row.payment_id,
        quote=st.from_json(row.quote),
        confirmed_by=row.confirmed_by,
        updated_at=row.updated_at,
    )


class DraftStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def current(self, wa_id: str) -> Draft | None:
        """The user's open draft, unless it went stale (a question from an hour ago is not
        what today's "Maria" answers)."""
        fresh = time.time() - DRAFT_TTL_SECONDS
        async with self.store.engine.connect() as conn:
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
        return _draft(row) if row else None

    async def get(self, draft_id: str) -> Draft | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(drafts).where(drafts.c.id == draft_id))).first()
        return _draft(row) if row else None

    async def create(self, draft: Draft) -> list[Draft]:
        """Store a new draft as the user's one open draft; the drafts it replaced (quoted ones
        need their payment cancelled and the user told) are returned."""
        now = time.time()
        async with self.store._write() as conn:
            replaced = [
                _draft(r)
                for r in (
                    await conn.execute(
                        select(drafts).where(
                            drafts.c.wa_id == draft.wa_id, drafts.c.status.in_(OPEN_DRAFT)
                        )
                    )
                ).all()
            ]
            await conn.execute(
                update(drafts)
                .where(drafts.c.wa_id == draft.wa_id, drafts.c.status.in_(OPEN_DRAFT))
                .values(status=SUPERSEDED, updated_at=now)
            )
            await conn.execute(
                insert(drafts).values(
                    id=draft.id,
                    wa_id=draft.wa_id,
                    status=draft.status,
                    amount=draft.amount,
                    currency=draft.currency,
                    recipient_label=st.clip(draft.recipient_label, 256),
                    receiver_wallet=st.clip(draft.receiver_wallet, 2048),
                    receiver_wa_id=draft.receiver_wa_id,
                    source_message_id=draft.source_message_id,
                    payment_id=draft.payment_id,
                    quote=st.to_json(draft.quote),
                    confirmed_by=draft.confirmed_by,
                    created_at=now,
                    updated_at=now,
                )
            )
        draft.updated_at = now
        return [d for d in replaced if not d.stale]

    async def recent_confirmed(self, wa_id: str, receiver_wallet: str, since: float) -> list[Draft]:
        """The user's confirmed drafts to `receiver_wallet` updated after `since`."""
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(drafts).where(
                        drafts.c.wa_id == wa_id,
                        drafts.c.status == CONFIRMED,
                        drafts.c.receiver_wallet == receiver_wallet,
                        drafts.c.updated_at > since,
                    )
                )
            ).all()
        return [_draft(r) for r in rows]

    async def update(self, draft_id: str, expect: tuple[str, ...], **values: Any) -> bool:
        """Conditional update: only when the draft is still in one of `expect` statuses; True
        for the one caller whose update moved it."""
        if "quote" in values:
            values["quote"] = st.to_json(values["quote"])
        if "recipient_label" in values:
            values["recipient_label"] = st.clip(values["recipient_label"], 256)
        values["updated_at"] = time.time()
        async with self.store._write() as conn:
            result = await conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.status.in_(expect))
                .values(**values)
            )
        return st.rowcount(result) == 1
