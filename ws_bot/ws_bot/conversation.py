"""The conversation: routes each user action to onboarding, commands, the address book,
understanding (llm_back) and the payment dialogue.

One `Incoming` at a time per user (the worker serialises them). Every branch answers the user:
a service being down, a bad wallet or an unexpected error all end in a clear message.
"""

from __future__ import annotations

import base64
import logging
import re

from shared.contracts import (
    MediaItem,
    UnderstandRequest,
    UnderstandResponse,
)
from ws_bot import lateness
from ws_bot import store as st
from ws_bot.addressbook import AddressBook
from ws_bot.backends import Unavailable
from ws_bot.incoming import Incoming
from ws_bot.metrics import BACKEND_UNAVAILABLE, RATE_LIMITED
from ws_bot.onboarding import Onboarding
from ws_bot.paying import Paying
from ws_bot.texts import normalize_language, t
from ws_bot.wallets import find_wallet

logger = logging.getLogger(__name__)

_SAVE_RE = re.compile(
    r"^\s*(?:guarda(?:r)?|agrega(?:r)?|save|add)\s+(?:a\s+|al\s+)?(?P<name>.+?)\s+"
    r"(?:como|as|=|:)\s+(?P<wallet>\S+)\s*$",
    re.IGNORECASE,
)
_MY_WALLET_RE = re.compile(
    r"^\s*(?:my\s+wallet(?:\s+is)?|mi\s+billetera(?:\s+es)?|mi\s+wallet(?:\s+es)?)\s*:?\s*"
    r"(?P<wallet>\S+)\s*$",
    re.IGNORECASE,
)
_DELETE_RE = re.compile(
    r"^\s*(?:borra(?:r)?|elimina(?:r)?|delete|remove)\s+(?:a\s+)?(?P<name>.+?)\s*$", re.IGNORECASE
)
# llm_back refuses longer texts (its MAX_TEXT_CHARS default); nobody pays with an essay.
MAX_UNDERSTAND_CHARS = 2000

_WORDS = {
    "cancel": {"cancel", "cancelar", "cancela", "stop", "alto", "no"},
    "history": {"history", "historial", "pagos", "payments", "mis pagos", "my payments"},
    "help": {"help", "ayuda", "menu", "menú", "hola", "hi", "hello", "buenas", "start", "inicio"},
    "contacts": {"contacts", "contactos", "agenda", "libreta", "address book"},
    "language": {"language", "idioma", "lang", "languages", "idiomas"},
    "wallet": {"wallet", "billetera", "mi billetera", "my wallet", "cartera"},
}


def _command(text: str) -> str | None:
    word = " ".join(text.strip().lower().strip("¡!¿?.").split())
    for command, words in _WORDS.items():
        if word in words:
            return command
    return None


class Conversation(Onboarding, AddressBook, Paying):
    """Onboarding, address book and payments combined, plus routing and understanding."""

    async def handle(self, inc: Incoming) -> None:
        if inc.kind == "reaction":
            return  # a user's emoji on one of our messages needs no answer
        allowed, warn = self.limiter.hit(inc.wa_id)
        if not allowed:
            if warn:
                user = await self.store.get_user(inc.wa_id)
                await self.say.text(inc.wa_id, t(user.language if user else None, "rate_limited"))
            RATE_LIMITED.inc()
            logger.info("rate limited")
            return
        await self.say.mark_read(inc.message_id)
        user = await self.store.ensure_user(inc.wa_id, inc.name)
        try:
            await self._route(user, inc)
        except Exception:
            logger.exception("conversation step failed")
            try:
                await self.say.text(inc.wa_id, t(user.language, "error"))
            except Exception:
                logger.exception("could not even apologise (Graph API unreachable?)")

    async def apologise(self, wa_id: str) -> None:
        """Tell a user their message could not be handled (it failed again and again)."""
        user = await self.store.get_user(wa_id)
        await self.say.text(wa_id, t(user.language if user else None, "error"))

    async def _route(self, user: st.User, inc: Incoming) -> None:
        if inc.kind == "selection" and inc.data.startswith("lang:"):
            await self._set_language(user, inc.data.removeprefix("lang:"))
            return
        if user.language is None:
            picked = self._language_from_text(inc.text) if user.state == "language" else None
            if picked:
                await self._set_language(user, picked)
            else:
                await self._ask_language(user)
            return
        lang = user.language
        if user.wallet_url is None:
            await self._onboard_wallet(user, inc)
            return
        if inc.kind == "button":
            await self._button(user, inc)
        elif inc.kind == "selection":
            await self._menu(user, t(lang, "menu"))
        elif inc.kind == "contacts":
            await self._contact_cards(user, inc)
        elif inc.kind in ("audio", "image"):
            await self._media(user, inc)
        elif inc.kind == "text":
            await self._text(user, inc)
        else:
            await self._menu(user, t(lang, "unsupported"))

    async def _button(self, user: st.User, inc: Incoming) -> None:
        lang = user.language
        data = inc.data
        if data == "menu:send":
            await self.say.text(user.wa_id, t(lang, "ask_send"))
        elif data == "menu:history":
            await self._history(user)
        elif data == "menu:help":
            await self._menu(user, t(lang, "help"))
        elif data.startswith("pay:ok:"):
            await self._confirm(user, inc, data.removeprefix("pay:ok:"))
        elif data.startswith("pay:no:"):
            await self._cancel(user, data.removeprefix("pay:no:"))
        else:
            await self._menu(user, t(lang, "menu"))

    async def _run_command(self, user: st.User, command: str) -> None:
        lang = user.language
        if command == "cancel":
            await self._cancel(user, None)
        elif command == "history":
            await self._history(user)
        elif command == "help":
            await self._menu(user, t(lang, "help"))
        elif command == "contacts":
            await self._list_contacts(user)
        elif command == "language":
            await self._ask_language(user)
        elif command == "wallet":
            await self.say.text(user.wa_id, t(lang, "your_wallet", url=user.wallet_url))

    async def _text(self, user: st.User, inc: Incoming) -> None:
        text = inc.text.strip()
        command = _command(text)
        if command == "cancel" and await lateness.refuse(self.say, user.language, inc):
            return  # ws_bot.lateness: an old "cancel" never undoes a newer payment
        if command:
            await self._run_command(user, command)
            return
        if (m := _MY_WALLET_RE.match(text)) and find_wallet(m.group("wallet")):
            await self._change_wallet(user, m.group("wallet"))
            return
        if m := _SAVE_RE.match(text):
            await self._save_contact(user, m.group("name").strip(), m.group("wallet"))
            return
        if (m := _DELETE_RE.match(text)) and await self.store.find_contact(
            user.wa_id, m.group("name")
        ):
            await self.store.delete_contact(user.wa_id, m.group("name"))
            await self.say.text(
                user.wa_id, t(user.language, "contact_deleted", name=m.group("name"))
            )
            return
        if user.pending and await self._pending(user, inc, text):
            return
        if await self._fill_draft(user, inc, text):
            return
        await self._understand(user, inc, text, [])

    async def _media(self, user: st.User, inc: Incoming) -> None:
        lang = user.language
        assert inc.media_id is not None
        # Media takes a while (download, transcription or vision): show it was received.
        await self.say.react(user.wa_id, inc.message_id, "👀")
        try:
            data, mime = await self.say.media_bytes(inc.media_id, self.settings.max_media_bytes)
        except Exception:
            logger.warning("media download failed", exc_info=True)
            await self.say.text(user.wa_id, t(lang, "media_failed"))
            return
        item = MediaItem(
            type="audio" if inc.kind == "audio" else "image",
            mime_type=(mime or inc.mime_type or "application/octet-stream").split(";")[0].strip(),
            data=base64.b64encode(data).decode(),
        )
        await self._understand(user, inc, inc.text, [item])

    async def _understand(
        self, user: st.User, inc: Incoming, text: str, media: list[MediaItem]
    ) -> None:
        lang = user.language
        request = UnderstandRequest(
            wa_id=user.wa_id,
            name=user.name[:256],
            message=text[:MAX_UNDERSTAND_CHARS],
            media=media,
            language="en" if normalize_language(lang) == "en" else "es",
        )
        try:
            answer = await self.llm.understand(request)
        except Unavailable:
            BACKEND_UNAVAILABLE.labels("llm_back").inc()
            logger.warning("llm_back unavailable")
            await self.say.text(user.wa_id, t(lang, "llm_down"))
            return
        intent = answer.intent
        if intent == "send_payment":
            await self._payment_intent(user, inc, answer)
        elif intent in ("history", "cancel", "help"):
            await self._run_command(user, intent)
        else:
            await self._menu(user, answer.response or t(lang, "help"))
        if inc.voice and answer.audio:
            await self._voice_reply(user, answer)

    async def _voice_reply(self, user: st.User, answer: UnderstandResponse) -> None:
        try:
            audio = base64.b64decode(answer.audio or "", validate=True)
        except ValueError:
            return
        mime = answer.audio_mime_type or "audio/ogg"
        await self.say.voice(user.wa_id, audio, "audio/ogg" if "ogg" in mime else mime)
