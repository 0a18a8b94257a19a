"""Onboarding: the language list, then the user's own wallet, checked before it is kept."""

from __future__ import annotations

from ws_bot import store as st
from ws_bot.dialog import DialogBase
from ws_bot.incoming import Incoming
from ws_bot.texts import normalize_language, t
from ws_bot.wallets import find_wallet

_LANGUAGE_WORDS = {
    "es": {"es", "español", "espanol", "spanish", "castellano"},
    "en": {"en", "english", "inglés", "ingles"},
}


class Onboarding(DialogBase):
    @staticmethod
    def _language_from_text(text: str) -> str | None:
        word = text.strip().lower().strip("¡!¿?.")
        for code, words in _LANGUAGE_WORDS.items():
            if word in words:
                return code
        return None

    async def _ask_language(self, user: st.User) -> None:
        await self.store.update_user(user.wa_id, state="language")
        lang = user.language or "es"
        await self.say.choice_list(
            user.wa_id,
            t(lang, "welcome", name=user.name or ""),
            t(lang, "language_button"),
            t(lang, "language_section"),
            [("lang:es", "Español", "Spanish"), ("lang:en", "English", "Inglés")],
        )

    async def _set_language(self, user: st.User, code: str) -> None:
        lang = normalize_language(code)
        if user.wallet_url is None:
            await self.store.update_user(user.wa_id, language=lang, state="wallet")
            await self.say.text(
                user.wa_id, t(lang, "language_set") + "\n\n" + t(lang, "ask_wallet")
            )
        else:
            await self.store.update_user(user.wa_id, language=lang)
            await self._menu(user, t(lang, "language_set"), lang=lang)

    async def _onboard_wallet(self, user: st.User, inc: Incoming) -> None:
        lang = user.language
        pointer = find_wallet(inc.text) if inc.kind == "text" else None
        if pointer is None:
            await self.say.text(user.wa_id, t(lang, "ask_wallet"))
            return
        info = await self._check_wallet(user, pointer)
        if info is None:
            return
        await self.store.update_user(
            user.wa_id, wallet_url=info.url, wallet_asset=info.asset_code, state="ready"
        )
        await self.say.text(user.wa_id, t(lang, "wallet_ok", url=info.url, asset=info.asset_code))
        await self._menu(user, t(lang, "menu"))

    async def _change_wallet(self, user: st.User, pointer: str) -> None:
        info = await self._check_wallet(user, pointer)
        if info is not None:
            await self.store.update_user(
                user.wa_id, wallet_url=info.url, wallet_asset=info.asset_code
            )
            await self.say.text(
                user.wa_id, t(user.language, "wallet_ok", url=info.url, asset=info.asset_code)
            )
