"""Recent dialogue turns (`ws_turns`): the user's last understood messages, which llm_back gets
as context with the next one ("y a Juan también" after "manda 50 a Pedro"). Only the last
`TURNS_KEPT` within `TURN_TTL_SECONDS` are read; older rows are deleted as new ones arrive.
Rows are only ever added and deleted: nothing here needs an exactly-once rule."""

from __future__ import annotations

import time

from sqlalchemy import delete, insert, select

from shared.contracts import TurnContext
from ws_bot import store as st
from ws_bot.schema import turns

TURNS_KEPT = 6  # recent understood messages sent to llm_back as context
TURN_TTL_SECONDS = 24 * 3600.0


class TurnStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def add(self, wa_id: str, turn: TurnContext) -> None:
        """Remember one understood message (the context llm_back gets with the next ones)."""
        now = time.time()
        async with self.store._write() as conn:
            await conn.execute(
                insert(turns).values(
                    wa_id=wa_id,
                    at=now,
                    text=turn.text[:500],
                    intent=turn.intent[:32],
                    monto=st.clip(turn.monto, 64),
                    currency=st.clip(turn.currency, 8),
                    destinatario=st.clip(turn.destinatario, 512),
                )
            )
            await conn.execute(delete(turns).where(turns.c.at < now - TURN_TTL_SECONDS))

    async def recent(self, wa_id: str) -> list[TurnContext]:
        """The user's last understood messages within a day, oldest first."""
        since = time.time() - TURN_TTL_SECONDS
        async with self.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(turns)
                    .where(turns.c.wa_id == wa_id, turns.c.at >= since)
                    .order_by(turns.c.at.desc(), turns.c.id.desc())
                    .limit(TURNS_KEPT)
                )
            ).all()
        return [
            TurnContext(
                text=r.text,
                intent=r.intent,
                monto=r.monto,
                currency=r.currency,
                destinatario=r.destinatario,
            )
            for r in reversed(rows)
        ]
