"""Status webhooks (sent / delivered / read / failed) about messages ws_bot sent.

Only failures need work: a notice refused with 131047 (the user's 24-hour window had closed) is
re-sent once as its template. Every failure is logged and counted; the others are just counted
where the webhook counts them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ws_bot import notice_store
from ws_bot import store as st
from ws_bot.metrics import DELIVERY_FAILURES, TEMPLATE_FALLBACKS
from ws_bot.notices import Notifier

logger = logging.getLogger(__name__)

REENGAGEMENT = 131047  # "more than 24 hours have passed since the customer last replied"


def error_codes(status: dict[str, Any]) -> list[int]:
    codes = []
    for error in status.get("errors") or []:
        try:
            codes.append(int(error.get("code")))
        except (TypeError, ValueError, AttributeError):
            continue
    return codes


async def handle(store: st.Store, notifier: Notifier, status: dict[str, Any]) -> None:
    """Act on one entry of a webhook's `statuses` list."""
    if status.get("status") != "failed":
        return
    message_id = str(status.get("id") or "")
    codes = error_codes(status)
    for code in codes or [0]:
        DELIVERY_FAILURES.labels(str(code)).inc()
    logger.warning("message delivery failed", extra={"message_id": message_id, "codes": codes})
    if REENGAGEMENT not in codes:
        return
    notice = await _claim(store, message_id)
    if notice is None:
        return  # not a notice (an answer to a user), or already re-sent: once is enough
    sent = await notifier.fall_back(notice)
    TEMPLATE_FALLBACKS.labels(notice.template).inc()
    logger.info(
        "notice re-sent as its template (window closed)",
        extra={"template": notice.template, "failed": message_id, "sent": sent},
    )


# The failed status can overtake the notice's own bookkeeping (Meta answers the send, then
# reports the failure within milliseconds): look again a few times before concluding.
CLAIM_RETRIES = (0.2, 0.5, 1.0, 2.0)


async def _claim(store: st.Store, message_id: str) -> notice_store.SentNotice | None:
    notice = await store.notices.claim_fallback(message_id)
    for pause in CLAIM_RETRIES:
        if notice is not None:
            break
        await asyncio.sleep(pause)
        notice = await store.notices.claim_fallback(message_id)
    return notice


class StatusFeed:
    """Takes status webhooks off the request path: the webhook answers Meta at once."""

    def __init__(self, store: st.Store, notifier: Notifier) -> None:
        self.store = store
        self.notifier = notifier
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, statuses: list[dict[str, Any]]) -> None:
        """Handle the failures among a webhook's status entries, off the worker's path."""
        for status in statuses:
            if status.get("status") == "failed":
                task = asyncio.create_task(self._handle(status))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _handle(self, status: dict[str, Any]) -> None:
        try:
            await handle(self.store, self.notifier, status)
        except Exception:
            logger.exception("status handling failed")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
