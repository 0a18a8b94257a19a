"""What every part of the conversation shares: its collaborators, the menu, yes/no questions
and wallet checks. Each part (onboarding, address book, payments) is an object over one
`Context`; `conversation.Conversation` routes to them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.contracts import FallbackReason, PaymentView
from ws_bot import allowances, user_store
from ws_bot import store as st
from ws_bot.backends import LlmClient, OpClient, Unavailable
from ws_bot.buttons import AnswerTap, MenuAction, MenuTap
from ws_bot.graph import Messenger
from ws_bot.link_store import Link, LinkStore
from ws_bot.settings import Settings
from ws_bot.texts import t
from ws_bot.wallets import WalletError, WalletInfo, WalletResolver

logger = logging.getLogger(__name__)


class Question(StrEnum):
    """The question the bot is waiting on (kept in `users.pending["kind"]`)."""

    CONTACT_WALLET = "contact_wallet"  # the wallet of a shared contact card
    RECIPIENT_WALLET = "recipient_wallet"  # the wallet of a recipient the book lacks
    OVERWRITE = "overwrite"  # replace a saved contact? (yes/no)
    AGAIN = "again"  # send the same payment again? (yes/no)
    PICK_CONTACT = "pick_contact"  # which of several contacts (a list)


YES_NO = (Question.OVERWRITE, Question.AGAIN)


def question(user: user_store.User) -> Question | None:
    kind = (user.pending or {}).get("kind")
    try:
        return Question(str(kind)) if kind else None
    except ValueError:
        return None


@dataclass
class Context:
    """The collaborators every part of the conversation uses."""

    settings: Settings
    store: st.Store
    say: Messenger
    llm: LlmClient
    op: OpClient
    wallets: WalletResolver
    wake_poller: Callable[[], None]

    async def menu(self, user: user_store.User, body: str, lang: str | None = None) -> None:
        lang = lang or user.language
        await self.say.buttons(
            user.wa_id,
            body,
            [
                (t(lang, "btn_send"), MenuTap(MenuAction.SEND).to_str()),
                (t(lang, "btn_history"), MenuTap(MenuAction.HISTORY).to_str()),
                (t(lang, "btn_help"), MenuTap(MenuAction.HELP).to_str()),
            ],
        )

    async def ask(self, user: user_store.User, kind: Question, body: str, **data: Any) -> None:
        """Ask a yes/no question and remember what it is about."""
        await self.store.users.update(user.wa_id, pending={"kind": kind.value, **data})
        user.pending = {"kind": kind.value, **data}
        await self.say.buttons(
            user.wa_id,
            body,
            [
                (t(user.language, "btn_yes"), AnswerTap(True).to_str()),
                (t(user.language, "btn_no"), AnswerTap(False).to_str()),
            ],
        )

    async def forget_question(self, user: user_store.User) -> None:
        if user.pending is not None:
            await self.store.users.update(user.wa_id, pending=None)
            user.pending = None

    @property
    def links(self) -> LinkStore:
        return LinkStore(self.store)

    async def linked(self, user: user_store.User) -> Link | None:
        """The link that verifies the user's wallet; None (and the user offered to link it)
        when there is none: no payment or money request leaves an unverified wallet."""
        link = await self.links.current(user)
        if link is None:
            await allowances.offer(
                self.say, user, t(user.language, "link_first", url=user.wallet_url or "")
            )
        return link

    async def heed_fallback(
        self, user: user_store.User, link_id: str | None, view: PaymentView
    ) -> None:
        """op_api found the link's grant revoked at the wallet (`fallbackReason`): the wallet
        stays verified (its owner approved it once) but nothing is paid with one tap any more;
        the user is told once."""
        if view.fallback_reason != FallbackReason.LINK_REVOKED or not link_id:
            return
        if await self.links.wallet_revoked(link_id):
            await self.say.text(user.wa_id, t(user.language, "allowance_revoked"))

    async def cancel_at_op(self, payment_id: str | None) -> bool:
        """Cancel a payment's grant at op_api; False when op_api said no or is away."""
        if not payment_id:
            return True
        try:
            return await self.op.cancel_payment(payment_id)
        except Unavailable:
            logger.warning("op_api unavailable while cancelling a payment")
            return False

    async def check_wallet(self, user: user_store.User, pointer: str) -> WalletInfo | None:
        """Resolve a wallet address, telling the user what is wrong when it is not one."""
        try:
            return await self.wallets.resolve(pointer)
        except WalletError as exc:
            key = {"invalid": "wallet_invalid", "insecure": "wallet_insecure"}.get(
                exc.code, "wallet_unreachable"
            )
            await self.say.text(user.wa_id, t(user.language, key, url=exc.url))
            return None
