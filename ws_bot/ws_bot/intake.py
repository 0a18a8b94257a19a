"""Between pywa's handlers and the conversation: what every user message goes through first.

It records when the user last wrote (the 24-hour window, see window.py) before the
conversation sees the message.
"""

from __future__ import annotations

import time

from ws_bot import store as st
from ws_bot.conversation import Conversation
from ws_bot.incoming import Incoming


class Intake:
    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.store: st.Store = conversation.store

    async def handle(self, inc: Incoming) -> None:
        await st.record_inbound(self.store, inc.wa_id, inc.timestamp or time.time())
        await self.conversation.handle(inc)
