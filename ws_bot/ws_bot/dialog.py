"""What every part of the conversation shares: its collaborators, the menu, wallet checks.

The conversation is split by concern (`onboarding`, `addressbook`, `paying`, `conversation`);
each part is a class over this base, and `Conversation` combines them.
"""

from __future__ import annotations

from collections.abc import Callable

from ws_bot import store as st
from ws_bot.backends import LlmClient, OpClient
from ws_bot.graph import Messenger
from ws_bot.incoming import Incoming
from ws_bot.limits import RateLimiter
from ws_bot.settings import Settings
from ws_bot.texts import t
from ws_bot.wallets import WalletError, WalletInfo, WalletResolver


class DialogBase:
    """The collaborators and the helpers every part of the conversation uses."""

    def __init__(
        self,
        settings: Settings,
        store: st.Store,
        messenger: Messenger,
        llm: LlmClient,
        op: OpClient,
        wallets: WalletResolver,
        wake_poller: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.say = messenger
        self.llm = llm
        self.op = op
        self.wallets = wallets
        self.wake_poller = wake_poller
        self.limiter = RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_seconds)

    async def _menu(self, user: st.User, body: str, lang: str | None = None) -> None:
        lang = lang or user.language
        await self.say.buttons(
            user.wa_id,
            body,
            [
                (t(lang, "btn_send"), "menu:send"),
                (t(lang, "btn_history"), "menu:history"),
                (t(lang, "btn_help"), "menu:help"),
            ],
        )

    async def _check_wallet(self, user: st.User, pointer: str) -> WalletInfo | None:
        """Resolve a wallet address, telling the user what is wrong when it is not one."""
        try:
            return await self.wallets.resolve(pointer)
        except WalletError as exc:
            key = {"invalid": "wallet_invalid", "insecure": "wallet_insecure"}.get(
                exc.code, "wallet_unreachable"
            )
            await self.say.text(user.wa_id, t(user.language, key, url=exc.url))
            return None

    async def _advance(self, user: st.User, draft: st.Draft, inc: Incoming) -> None:
        """Move a payment draft on (implemented in `paying`)."""
        raise NotImplementedError
