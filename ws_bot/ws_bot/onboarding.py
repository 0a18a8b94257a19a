"""Onboarding: the language list, then the user's own wallet, checked before it is kept, then
linking it (the allowance list; `linking`). "idioma" later switches the language without
starting over."""

from __future__ import annotations

from ws_bot import user_store
from ws_bot.buttons import LanguagePick
from ws_bot.dialog import Context
from ws_bot.incoming import Incoming
from ws_bot.linking import Linking
from ws_bot.phrases import bare_wallet, clean_name, fold, is_phone
from ws_bot.texts import normalize_language, t
from ws_bot.wallets import find_wallet

_LANGUAGE_WORDS = {
    "es": {"es", "espanol", "spanish", "castellano"},
    "en": {"en", "english", "ingles"},
}


def language_from_text(text: str) -> str | None:
    word = fold(text).strip("¡!¿?.")
    for code, words in _LANGUAGE_WORDS.items():
        if word in words:
            return code
    return None


class Onboarding:
    def __init__(self, ctx: Context, linking: Linking) -> None:
        self.ctx = ctx
        self.linking = linking

    async def ask_language(self, user: user_store.User, detected: str | None = None) -> None:
        """The language list: with the welcome for a newcomer (in the language their first
        message was written in, when that could be told), plainly for everyone else."""
        ctx = self.ctx
        await ctx.store.users.update(user.wa_id, state="language")
        lang = user.language or detected or "es"
        name = clean_name(user.name)
        name = "" if is_phone(name) else name  # a profile without a name shows the number
        body = (
            t(lang, "choose_language")
            if user.wallet_url
            else t(lang, "welcome", name=f" {name}" if name else "")
        )
        await ctx.say.choice_list(
            user.wa_id,
            body,
            t(lang, "language_button"),
            t(lang, "language_section"),
            [
                (LanguagePick("es").to_str(), "Español", "Spanish"),
                (LanguagePick("en").to_str(), "English", "Inglés"),
            ],
        )

    async def set_language(self, user: user_store.User, code: str) -> None:
        ctx = self.ctx
        lang = normalize_language(code)
        if user.wallet_url is None:
            await ctx.store.users.update(user.wa_id, language=lang, state="wallet")
            await ctx.say.text(user.wa_id, t(lang, "language_set") + "\n\n" + t(lang, "ask_wallet"))
        else:
            await ctx.store.users.update(user.wa_id, language=lang, state="ready")
            await ctx.menu(user, t(lang, "language_set"), lang=lang)

    async def onboard_wallet(self, user: user_store.User, inc: Incoming) -> None:
        ctx = self.ctx
        lang = user.language
        pointer = (find_wallet(inc.text) or bare_wallet(inc.text)) if inc.kind == "text" else None
        if pointer is None:
            await ctx.say.text(user.wa_id, t(lang, "ask_wallet"))
            return
        info = await ctx.check_wallet(user, pointer)
        if info is None:
            return
        await self._keep(user, info.url, info.asset_code, state="ready")

    async def change_wallet(self, user: user_store.User, pointer: str) -> None:
        info = await self.ctx.check_wallet(user, pointer)
        if info is not None:
            await self._keep(user, info.url, info.asset_code)

    async def _keep(self, user: user_store.User, url: str, asset: str, **values: str) -> None:
        """The wallet is the user's address from now on, unverified until they link it (their
        older links are revoked once the new one is approved)."""
        await self.ctx.store.users.update(user.wa_id, wallet_url=url, wallet_asset=asset, **values)
        user.wallet_url, user.wallet_asset = url, asset
        lead = t(user.language, "wallet_ok", url=url, asset=asset)
        await self.linking.offer(user, lead=lead)
