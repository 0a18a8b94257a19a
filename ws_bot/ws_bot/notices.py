"""Messages the business starts (payment notices, staff notices, late results): free-form
inside the user's 24-hour window, the matching template outside it.

A free-form notice is remembered by its message id, so that if WhatsApp later reports it
`failed` with 131047 (the window had closed after all), statuses.py sends the template once.
"""

from __future__ import annotations

import logging
import time

from ws_bot import notice_store, templates, window
from ws_bot import store as st
from ws_bot.graph import Messenger
from ws_bot.metrics import NOTICES

logger = logging.getLogger(__name__)


# A 131047 failure arrives within seconds or minutes; after this, no fallback is expected.
REMEMBER_SECONDS = 3 * 24 * 3600.0


class Notifier:
    def __init__(self, store: st.Store, say: Messenger) -> None:
        self.store = store
        self.say = say
        self._pruned_at = 0.0

    async def notify(
        self, to: str, lang: str | None, text: str, template: str, values: dict[str, str]
    ) -> str | None:
        """Send `text`, or the template filled with `values`; the message id (None if lost)."""
        chosen = templates.get(template, lang)
        try:
            last = await self.store.users.last_inbound(to)
            if not window.is_open(last, time.time()):
                NOTICES.labels(template, "template").inc()
                return await self.send_template(to, chosen, values)
            message_id = await self.say.text(to, text)
            NOTICES.labels(template, "text").inc()
            notice = notice_store.SentNotice(message_id, to, chosen.name, chosen.language, values)
            await self.store.notices.remember(notice)
            await self._prune()
            return message_id
        except Exception:
            logger.warning("notice not delivered", exc_info=True, extra={"template": template})
            return None

    async def _prune(self) -> None:
        now = time.time()
        if now - self._pruned_at > 3600:
            self._pruned_at = now
            await self.store.notices.prune(now - REMEMBER_SECONDS)

    async def send_template(
        self, to: str, template: templates.Template, values: dict[str, str]
    ) -> str:
        return await self.say.template(
            to, template.name, template.language, templates.components(template, values)
        )

    async def fall_back(self, notice: notice_store.SentNotice) -> str:
        """The template for a free-form notice WhatsApp refused (outside the window)."""
        chosen = templates.get(notice.template, notice.language)
        return await self.send_template(notice.wa_id, chosen, notice.params)
