"""Notices sent as free-form messages that may need their template (`ws_sent_notices`).

A notice outside the 24-hour window fails at Meta after it was accepted; the status webhook
names the message, and the notice is sent again as its template (see notices.py and
statuses.py). Each row falls back at most once: `claim_fallback` is a conditional UPDATE of
`fell_back` from 0 to 1, and only the caller whose update changed the row gets the notice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from ws_bot import store as st
from ws_bot.schema import sent_notices


@dataclass(frozen=True)
class SentNotice:
    message_id: str
    wa_id: str
    template: str
    language: str
    params: dict[str, str]


class NoticeStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store

    async def remember(self, notice: SentNotice) -> None:
        async with self.store._write() as conn:
            await conn.execute(
                self.store._insert_ignore(sent_notices).values(
                    message_id=notice.message_id[:256],
                    wa_id=notice.wa_id,
                    template=notice.template,
                    language=notice.language,
                    params=json.dumps(notice.params, ensure_ascii=False),
                    fell_back=0,
                    created_at=time.time(),
                )
            )

    async def claim_fallback(self, message_id: str) -> SentNotice | None:
        """The notice behind a failed message, exactly once (a conditional update decides)."""
        async with self.store._write() as conn:
            result = await conn.execute(
                update(sent_notices)
                .where(sent_notices.c.message_id == message_id, sent_notices.c.fell_back == 0)
                .values(fell_back=1)
            )
            if st.rowcount(result) == 0:
                return None
            row = (
                await conn.execute(
                    select(sent_notices).where(sent_notices.c.message_id == message_id)
                )
            ).one()
        return SentNotice(
            row.message_id, row.wa_id, row.template, row.language, json.loads(row.params)
        )

    async def prune(self, older_than: float) -> None:
        async with self.store._write() as conn:
            await conn.execute(delete(sent_notices).where(sent_notices.c.created_at < older_than))
