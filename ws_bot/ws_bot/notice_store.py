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

from ws_bot import store as st


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
        self.db = store.db

    async def remember(self, notice: SentNotice) -> None:
        await self.db.execute(
            "INSERT INTO ws_sent_notices"
            " (message_id, wa_id, template, language, params, fell_back, created_at)"
            " VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT DO NOTHING",
            notice.message_id[:256],
            notice.wa_id,
            notice.template,
            notice.language,
            json.dumps(notice.params, ensure_ascii=False),
            time.time(),
        )

    async def claim_fallback(self, message_id: str) -> SentNotice | None:
        """The notice behind a failed message, exactly once (a conditional update decides: only
        the caller whose update changed the row gets it back)."""
        row = await self.db.fetchrow(
            "UPDATE ws_sent_notices SET fell_back = 1 WHERE message_id = $1 AND fell_back = 0"
            " RETURNING message_id, wa_id, template, language, params",
            message_id,
        )
        if row is None:
            return None
        return SentNotice(
            row["message_id"], row["wa_id"], row["template"], row["language"],
            json.loads(row["params"]),
        )  # fmt: skip

    async def prune(self, older_than: float) -> None:
        await self.db.execute("DELETE FROM ws_sent_notices WHERE created_at < $1", older_than)
