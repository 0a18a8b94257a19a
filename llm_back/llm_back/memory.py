"""Recent turns per wa_id, kept 24 h in the service database so follow-ups survive a restart.

A turn is what was understood from one message (plus a short copy of its text, given to the
model as context). Rows older than the TTL are ignored on read and deleted on write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_tables

_metadata = MetaData()
_turns = Table(
    "llm_turns",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),
    # Text, not String(n): PostgreSQL enforces lengths, and a recipient URL can be long.
    Column("text", Text, nullable=False),
    Column("intent", String(32), nullable=False),
    Column("monto", Text),
    Column("currency", String(8)),
    Column("destinatario", Text),
)
TEXT_KEPT = 500


@dataclass(frozen=True)
class Turn:
    text: str
    intent: str
    monto: str | None
    currency: str | None
    destinatario: str | None
    at: float = 0.0

    @property
    def complete(self) -> bool:
        return self.monto is not None and self.destinatario is not None


class Memory:
    def __init__(self, engine: AsyncEngine, ttl_seconds: int, max_turns: int) -> None:
        self.engine = engine
        self.ttl = ttl_seconds
        self.max_turns = max_turns

    async def start(self) -> None:
        await create_tables(self.engine, _metadata)

    async def recent(self, wa_id: str) -> list[Turn]:
        """The last turns of this user within the TTL, oldest first."""
        since = time.time() - self.ttl
        query = (
            select(_turns)
            .where(_turns.c.wa_id == wa_id, _turns.c.at >= since)
            .order_by(_turns.c.at.desc(), _turns.c.id.desc())
            .limit(self.max_turns)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            Turn(r["text"], r["intent"], r["monto"], r["currency"], r["destinatario"], r["at"])
            for r in reversed(rows)
        ]

    async def remember(self, wa_id: str, turn: Turn) -> None:
        now = time.time()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(_turns).values(
                    wa_id=wa_id,
                    at=now,
                    text=turn.text[:TEXT_KEPT],
                    intent=turn.intent,
                    monto=turn.monto,
                    currency=turn.currency,
                    destinatario=turn.destinatario,
                )
            )
            await conn.execute(delete(_turns).where(_turns.c.at < now - self.ttl))

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
        return True
