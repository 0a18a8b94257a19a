"""The conversation: a router over onboarding, the address book and payments.

One `Incoming` at a time per user (the worker serialises them). ws_bot owns the dialogue's
state (drafts, the open question, recent turns) and sends llm_back what it needs with each
message. Every branch answers the user: a service being down, a bad wallet or an unexpected
error all end in a clear message.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from shared.contracts import (
    DraftContext,
    MediaItem,
    TurnContext,
    UnderstandRequest,
    UnderstandResponse,
)
from ws_bot import lateness, phrases, user_store
from ws_bot import store as st
from ws_bot.addressbook import AddressBook
from ws_bot.backends import LlmClient, OpClient, Unavailable
from ws_bot.buttons import (
    AllowancePick,
    AnswerTap,
    ButtonData,
    ContactPick,
    LanguagePick,
    MenuAction,
    MenuTap,
    PayTap,
    ScheduleTap,
    StopSchedule,
    parse,
)
from ws_bot.confirming import Confirmations
from ws_bot.dialog import YES_NO, Context, Question, question
from ws_bot.graph import Messenger
from ws_bot.incoming import Incoming
from ws_bot.limits import RateLimiter
from ws_bot.linking import Linking
from ws_bot.metrics import BACKEND_UNAVAILABLE, RATE_LIMITED
from ws_bot.onboarding import Onboarding, language_from_text
from ws_bot.paying import Payments
from ws_bot.readings import Readings
from ws_bot.records import Records
from ws_bot.settings import Settings
from ws_bot.texts import normalize_language, t
from ws_bot.wallets import WalletResolver, find_wallet

logger = logging.getLogger(__name__)
_ASSET = re.compile(r"[A-Z0-9]{1,12}")  # what UnderstandRequest.asset_code accepts

# llm_back refuses longer texts (its MAX_TEXT_CHARS default); nobody pays with an essay.
MAX_UNDERSTAND_CHARS = 2000
Handler = Callable[[user_store.User], Awaitable[object]]


class Conversation:
    """Routes each user action to the part that handles it."""

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
        self.ctx = Context(settings, store, messenger, llm, op, wallets, wake_poller)
        self.limiter = RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_seconds)
        self.linking = Linking(self.ctx)  # issue 17: wallets proven theirs, allowances
        self.onboarding = Onboarding(self.ctx, self.linking)
        self.book = AddressBook(self.ctx)
        self.payments = Payments(self.ctx, self.book)
        self.confirmations = Confirmations(self.ctx, self.payments)
        self.records = Records(self.ctx)
        # issue 16: several recipients, repeats, requests
        self.readings = Readings(self.ctx, self.payments, self.confirmations, self.records)
        # Typed commands and understood intents go through one table.
        self.commands: dict[str, Handler] = {
            "cancel": self.readings.cancel,
            "history": self.readings.history,
            "status": self.records.status,
            "balance": self.records.balance,
            "help": lambda user: self.ctx.menu(user, t(user.language, "help")),
            "greeting": lambda user: self.ctx.menu(user, t(user.language, "help")),
            "contacts": self.book.show,
            "thanks": lambda user: self.ctx.say.text(user.wa_id, t(user.language, "thanks")),
            "language": self.onboarding.ask_language,
            "link": self.linking.change_allowance,
            "unlink": self.linking.unlink,
            "allowance": self.linking.change_allowance,
            "schedules": self.readings.schedules.show,  # issue 17: "mis pagos programados"
            "wallet": self.linking.show_wallet,
        }
        self.menu_actions: dict[MenuAction, Handler] = {
            MenuAction.SEND: lambda user: self.ctx.say.text(
                user.wa_id, t(user.language, "ask_send")
            ),
            MenuAction.HISTORY: self.readings.history,
            MenuAction.HELP: self.commands["help"],
        }

    async def handle(self, inc: Incoming) -> None:
        ctx = self.ctx
        if inc.kind == "reaction":
            return  # a user's emoji on one of our messages needs no answer
        allowed, warn = self.limiter.hit(inc.wa_id)
        if not allowed:
            if warn:
                user = await ctx.store.users.get(inc.wa_id)
                await ctx.say.text(inc.wa_id, t(user.language if user else None, "rate_limited"))
            RATE_LIMITED.inc()
            logger.info("rate limited")
            return
        ctx.say.start_reading(inc.wa_id, inc.message_id)
        user = await ctx.store.users.ensure(inc.wa_id, inc.name)
        try:
            await self._route(user, inc)
        except Exception:
            logger.exception("conversation step failed")
            try:
                await ctx.say.text(inc.wa_id, t(user.language, "error"))
            except Exception:
                logger.exception("could not even apologise (Graph API unreachable?)")

    async def apologise(self, wa_id: str) -> None:
        """Tell a user their message could not be handled (it failed again and again)."""
        user = await self.ctx.store.users.get(wa_id)
        await self.ctx.say.text(wa_id, t(user.language if user else None, "error"))

    async def _route(self, user: user_store.User, inc: Incoming) -> None:
        tapped = parse(inc.data) if inc.kind in ("button", "selection") else None
        if isinstance(tapped, LanguagePick):
            await self.onboarding.set_language(user, tapped.code)
            return
        picked = language_from_text(inc.text) if inc.kind == "text" else None
        if user.state == "language" and picked:
            await self.onboarding.set_language(user, picked)
            return
        if user.language is None:
            first = user.state == "new" and inc.kind == "text"
            await self.onboarding.ask_language(
                user, await self._language_of(user, inc) if first else None
            )
            return
        if user.wallet_url is None:
            await self.onboarding.onboard_wallet(user, inc)
            return
        if inc.kind in ("button", "selection"):
            await self._tap(user, inc, tapped)
        elif inc.kind == "contacts":
            await self.book.contact_cards(user, inc)
        elif inc.kind in ("audio", "image"):
            await self._media(user, inc)
        elif inc.kind == "text":
            await self._text(user, inc, phrases.cap(inc.text).strip())
        else:
            await self.ctx.menu(user, t(user.language, "unsupported"))

    async def _tap(self, user: user_store.User, inc: Incoming, tapped: ButtonData | None) -> None:
        if isinstance(tapped, MenuTap):
            await self.menu_actions[tapped.action](user)
        elif isinstance(tapped, AllowancePick):
            await self.linking.pick(user, inc, tapped.code)
        elif isinstance(tapped, PayTap) and self.readings.owns(tapped.draft_id):
            await self.readings.tap(user, inc, tapped.draft_id, tapped.confirm)
        elif isinstance(tapped, PayTap) and tapped.confirm:
            await self.confirmations.confirm(user, inc, tapped.draft_id)
        elif isinstance(tapped, PayTap):
            await self.confirmations.cancel_draft(user, tapped.draft_id)
        elif isinstance(tapped, ScheduleTap):
            await self.readings.schedules.tap(user, inc, tapped)
        elif isinstance(tapped, StopSchedule):
            await self.readings.schedules.stop(user, tapped)
        elif isinstance(tapped, AnswerTap) and question(user) in YES_NO:
            await self._answer(user, inc, tapped.yes)
        elif isinstance(tapped, AnswerTap):  # an old question, already answered: never a "yes"
            await self.ctx.say.text(user.wa_id, t(user.language, "question_gone"))
        elif isinstance(tapped, ContactPick) and question(user) == Question.PICK_CONTACT:
            await self.payments.pick_contact(user, inc, tapped.alias)
        else:
            await self.ctx.menu(user, t(user.language, "menu"))

    async def _answer(self, user: user_store.User, inc: Incoming, yes: bool) -> None:
        """Yes/No to the open yes/no question (typed or tapped)."""
        if question(user) == Question.OVERWRITE:
            await self.book.answer_overwrite(user, yes)
        else:
            await self.payments.answer_again(user, inc, yes)

    async def _text(self, user: user_store.User, inc: Incoming, text: str) -> None:
        if await self.readings.requests.offer_waiting(user, text):
            return  # the reply to a money request's template: its Pay / Decline buttons
        asked = question(user)
        command = phrases.command(text)
        acts = phrases.is_yes(text) or command == "cancel"
        if acts and await lateness.refuse(self.ctx.say, user.language, inc):
            return  # ws_bot.lateness: an old "yes" or "cancel" never acts on today's payment
        if asked in YES_NO and (phrases.is_yes(text) or phrases.is_no(text)):
            await self._answer(user, inc, phrases.is_yes(text))
            return
        if phrases.is_yes(text):
            if not await self.readings.confirm_typed(user, inc):
                await self.confirmations.confirm_live(user, inc)
            return
        if command:
            await self.commands[command](user)
            return
        wallet = phrases.parse_my_wallet(text)
        if wallet and (pointer := find_wallet(wallet) or phrases.bare_wallet(wallet)):
            await self.onboarding.change_wallet(user, pointer)
            return
        if saved := phrases.parse_save(text):
            await self.book.save(user, *saved)
            return
        if (name := phrases.parse_delete(text)) and await self.book.delete(user, name):
            return
        pointer = find_wallet(text) or phrases.bare_wallet(text)
        if pointer and asked == Question.CONTACT_WALLET:
            await self.book.answer_card_wallet(user, pointer)
            return
        if pointer and asked == Question.RECIPIENT_WALLET:
            await self.payments.answer_recipient_wallet(user, inc, pointer)
            return
        if asked == Question.PICK_CONTACT and await self.ctx.store.contacts.find(user.wa_id, text):
            await self.payments.pick_contact(user, inc, text)  # the choice typed, not tapped
            return
        if pointer and await self.readings.several.answer_wallet(user, inc, pointer):
            return  # the wallet of a batch's recipient the book lacked
        if await self._correction(user, inc, text):
            return
        if await self.payments.fill_draft(user, inc, text):
            return
        await self._understand(user, inc, text, [])

    async def _correction(self, user: user_store.User, inc: Incoming, text: str) -> bool:
        """'no, mejor 30', 'wait, make it 25', 'mándale 20 a Bob… no espera, mejor a Alice'."""
        fix = phrases.correction(text)
        if fix is None:
            return False
        if fix.head:
            answer = await self._ask_llm(user, inc, fix.head, [])
            if answer is None:
                return True  # llm_back is away and the user has been told
            if answer.intent == "send_payment":
                update: dict[str, Any] = {}
                if fix.amount:
                    update["monto"] = fix.amount
                if fix.recipient:
                    update["destinatario"] = fix.recipient
                await self.payments.on_intent(user, inc, answer.model_copy(update=update))
                return True
        return await self.payments.correct(user, inc, fix.amount, fix.recipient)

    async def _media(self, user: user_store.User, inc: Incoming) -> None:
        ctx, lang = self.ctx, user.language
        assert inc.media_id is not None
        # Media takes a while (download, transcription or vision): show it was received.
        await ctx.say.react(user.wa_id, inc.message_id, "👀")
        try:
            data, mime = await ctx.say.media_bytes(inc.media_id, ctx.settings.max_media_bytes)
        except Exception:
            logger.warning("media download failed", exc_info=True)
            await ctx.say.text(user.wa_id, t(lang, "media_failed"))
            return
        item = MediaItem(
            type="audio" if inc.kind == "audio" else "image",
            mime_type=(mime or inc.mime_type or "application/octet-stream").split(";")[0].strip(),
            data=base64.b64encode(data).decode(),
        )
        await self._understand(user, inc, inc.text, [item])

    async def _language_of(self, user: user_store.User, inc: Incoming) -> str | None:
        """The language llm_back reads in a newcomer's first message (a "+1" number writing
        "hi" is English), for the welcome; None when it cannot tell or is not answering."""
        text = phrases.cap(inc.text).strip()
        if not text:
            return None
        request = UnderstandRequest(
            wa_id=user.wa_id, name=user.name[:256], message=text[:MAX_UNDERSTAND_CHARS]
        )
        try:
            answer = await self.ctx.llm.understand(request)
        except Unavailable:
            return None
        return answer.language if answer.language in ("es", "en") else None

    async def _ask_llm(
        self, user: user_store.User, inc: Incoming, text: str, media: list[MediaItem]
    ) -> UnderstandResponse | None:
        """llm_back's reading of a message, given the draft and the recent turns; None (and
        the user told) when it cannot answer."""
        ctx = self.ctx
        draft = await ctx.store.drafts.current(user.wa_id)
        turns = await ctx.store.turns.recent(user.wa_id)
        request = UnderstandRequest(
            wa_id=user.wa_id,
            name=user.name[:256],
            message=text[:MAX_UNDERSTAND_CHARS],
            media=media,
            language="en" if normalize_language(user.language) == "en" else "es",
            # The user's own asset: "$" is their peso, and its decimals bound the amounts.
            asset_code=user.wallet_asset if _ASSET.fullmatch(user.wallet_asset or "") else None,
            draft=DraftContext(
                monto=draft.amount,
                currency=draft.currency,
                destinatario=(draft.recipient_label or "")[:512] or None,
            )
            if draft is not None
            else None,
            recent=turns,
        )
        try:
            answer = await ctx.llm.understand(request)
        except Unavailable:
            BACKEND_UNAVAILABLE.labels("llm_back").inc()
            logger.warning("llm_back unavailable")
            await ctx.say.text(user.wa_id, t(user.language, "llm_down"))
            return None
        heard = answer.transcript or text or "[media]"
        turn = TurnContext(
            text=heard[:500],
            intent=answer.intent[:32],
            monto=answer.monto if answer.monto and len(answer.monto) <= 64 else None,
            currency=(answer.currency or "")[:8] or None,
            destinatario=(answer.destinatario or "")[:512] or None,
        )
        await ctx.store.turns.add(user.wa_id, turn)
        return answer

    async def _understand(
        self, user: user_store.User, inc: Incoming, text: str, media: list[MediaItem]
    ) -> None:
        answer = await self._ask_llm(user, inc, text, media)
        if answer is None:
            return
        intent = answer.intent
        if await self.readings.take(user, inc, answer):
            pass
        elif intent == "send_payment":
            await self.payments.on_intent(user, inc, answer)
        elif intent == "allowance":  # issue 17: the new limit, when the user said one
            await self.linking.set_allowance(user, inc, answer)
        elif intent == "confirm":
            if not await self.readings.confirm_typed(user, inc):
                await self.confirmations.confirm_live(user, inc)
        elif intent in self.commands:
            await self.commands[intent](user)
        else:  # "other", and any intent this version does not know yet
            await self.ctx.menu(user, answer.response or t(user.language, "help"))
        if inc.voice and answer.audio:
            await self._voice_reply(user, answer)

    async def _voice_reply(self, user: user_store.User, answer: UnderstandResponse) -> None:
        try:
            audio = base64.b64decode(answer.audio or "", validate=True)
        except ValueError:
            return
        mime = answer.audio_mime_type or "audio/ogg"
        await self.ctx.say.voice(user.wa_id, audio, "audio/ogg" if "ogg" in mime else mime)
