"""Recent dialogue turns (`ws_turns`): the user's last understood messages, which llm_back gets
as context with the next one ("y a Juan también" after "manda 50 a Pedro"). Only the last
`TURNS_KEPT` within `TURN_TTL_SECONDS` are read; older rows are deleted as new ones arrive.
Rows are only ever added and deleted: nothing here needs an exactly-once rule."""

from __future__ import annotations

import time

from shared.contracts import TurnContext
from ws_bot import store as st

TURNS_KEPT = 6  # recent understood messages sent to llm_back as context
TURN_TTL_SECONDS = 24 * 3600.0


class TurnStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.db = store.db

    async def add(self, wa_id: str, turn: TurnContext) -> None:
        """Remember one understood message (the context llm_back gets with the next ones)."""
        now = time.time()
        await self.db.batch(
            [
                (
                    "INSERT INTO ws_turns (wa_id, at, text, intent, monto, currency, destinatario)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    [
                        wa_id,
                        now,
                        turn.text[:500],
                        turn.intent[:32],
                        st.clip(turn.monto, 64),
                        st.clip(turn.currency, 8),
                        st.clip(turn.destinatario, 512),
                    ],
                ),
                ("DELETE FROM ws_turns WHERE at < $1", [now - TURN_TTL_SECONDS]),
            ]
        )

    async def recent(self, wa_id: str) -> list[TurnContext]:
        """The user's last understood messages within a day, oldest first."""
        since = time.time() - TURN_TTL_SECONDS
        rows = await self.db.read(
            "SELECT text, intent, monto, currency, destinatario FROM ws_turns"
            " WHERE wa_id = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3",
            wa_id,
            since,
            TURNS_KEPT,
        )
        return [
            TurnContext(
                text=r["text"],
                intent=r["intent"],
                monto=r["monto"],
                currency=r["currency"],
                destinatario=r["destinatario"],
            )
            for r in reversed(rows)
        ]
