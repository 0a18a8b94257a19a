"""The address book: saved names, shared contact cards, and wallet addresses asked for.

Saving over a name already in the book asks first. A card of someone already on Paguito is
saved by phone number: their wallet is used for payments but never shown (a phone number
alone must not reveal where someone keeps their money).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ws_bot import contact_store, phrases, user_store
from ws_bot.dialog import Context, Question
from ws_bot.incoming import Incoming
from ws_bot.phrases import clean_name
from ws_bot.texts import t
from ws_bot.wallets import find_wallet, normalize


@dataclass
class Recipient:
    """Who a payment goes to: their wallet, their WhatsApp id when on Paguito, and a label."""

    wallet_url: str
    wa_id: str | None
    label: str


class AddressBook:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def show(self, user: user_store.User) -> None:
        ctx, lang = self.ctx, user.language
        book = await ctx.store.contacts.book(user.wa_id)
        if not book:
            await ctx.say.text(user.wa_id, t(lang, "contacts_empty"))
            return
        lines = [t(lang, "contacts_header")]
        lines += [f"• {c.alias}: {c.wallet_url or c.phone or '—'}" for c in book]
        await ctx.say.text(user.wa_id, "\n".join(lines))

    async def save(
        self, user: user_store.User, name: str, pointer: str, phone: str | None = None
    ) -> str | None:
        """Check the wallet and save it under `name`; the wallet URL, or None when it was not
        saved (a bad wallet, or a question about replacing the saved one is now open)."""
        ctx = self.ctx
        name = clean_name(name)
        info = await ctx.check_wallet(user, pointer)
        if info is None:
            return None
        saved = await ctx.store.contacts.find(user.wa_id, name)
        conflict = (
            saved is not None
            and saved.wallet_url != info.url
            and (saved.wallet_url is not None or saved.phone != phone)
        )
        if saved is not None and conflict:
            old = saved.wallet_url or saved.phone or "—"
            body = t(user.language, "overwrite_contact", name=saved.alias, old=old, new=info.url)
            await ctx.ask(user, Question.OVERWRITE, body, name=name, wallet=info.url, phone=phone)
            return None
        await ctx.store.contacts.save(user.wa_id, name, info.url, phone)
        await ctx.say.text(
            user.wa_id, t(user.language, "contact_saved", name=name, wallet=info.url)
        )
        return str(info.url)

    async def answer_overwrite(self, user: user_store.User, yes: bool) -> None:
        ctx, pending = self.ctx, dict(user.pending or {})
        await ctx.forget_question(user)
        name = str(pending.get("name") or "")
        if not yes:
            await ctx.say.text(user.wa_id, t(user.language, "contact_kept", name=name))
            return
        wallet = str(pending.get("wallet") or "")
        phone = pending.get("phone")
        await ctx.store.contacts.save(user.wa_id, name, wallet, str(phone) if phone else None)
        await ctx.say.text(user.wa_id, t(user.language, "contact_saved", name=name, wallet=wallet))

    async def delete(self, user: user_store.User, name: str) -> bool:
        if not await self.ctx.store.contacts.delete(user.wa_id, name):
            return False
        await self.ctx.say.text(user.wa_id, t(user.language, "contact_deleted", name=name))
        return True

    async def contact_cards(self, user: user_store.User, inc: Incoming) -> None:
        ctx = self.ctx
        waiting: list[dict[str, str | None]] = []  # cards without a wallet: asked one by one
        for card in inc.contacts:
            name = clean_name(card.name) or (card.phones[0] if card.phones else "?")
            phone = next((p for p in card.phones if p), None)
            known = await ctx.store.users.find_by_phone(phone) if phone else None
            if known is not None and known.wallet_url:
                await ctx.store.contacts.save(user.wa_id, name, None, known.wa_id)
                await ctx.say.text(user.wa_id, t(user.language, "contact_saved_user", name=name))
                continue
            pointer = next((w for u in card.urls if (w := find_wallet(u))), None)
            if pointer and await self.save(user, name, pointer, phone):
                continue
            if await ctx.store.contacts.find(user.wa_id, name) is None:
                await ctx.store.contacts.save(user.wa_id, name, None, phone)
            waiting.append({"name": name, "phone": phone})
        if waiting:
            await self._ask_card_wallet(user, waiting)

    async def _ask_card_wallet(
        self, user: user_store.User, waiting: Sequence[dict[str, str | None]]
    ) -> None:
        """Ask for the first card's wallet; the others wait their turn in `pending`."""
        first, rest = waiting[0], waiting[1:]
        pending = {"kind": Question.CONTACT_WALLET.value, **first, "queue": [*rest]}
        await self.ctx.store.users.update(user.wa_id, pending=pending)
        name = first["name"]
        await self.ctx.say.text(user.wa_id, t(user.language, "contact_needs_wallet", name=name))

    async def answer_card_wallet(self, user: user_store.User, pointer: str) -> None:
        """The wallet of a shared card the bot asked for."""
        pending = dict(user.pending or {})
        phone = pending.get("phone")
        name = str(pending.get("name") or "")
        if await self.save(user, name, pointer, str(phone) if phone else None):
            queue = pending.get("queue")
            if isinstance(queue, list) and queue:
                await self._ask_card_wallet(user, queue)  # the next card of the same message
            else:
                await self.ctx.forget_question(user)

    async def find_recipient(
        self, user: user_store.User, label: str
    ) -> Recipient | list[contact_store.Contact] | None:
        """Who `label` is: a recipient, several saved contacts to choose from, or unknown."""
        ctx = self.ctx
        pointer = find_wallet(label) or phrases.bare_wallet(label)
        if pointer:
            url = normalize(pointer, ctx.settings.allow_insecure_http)
            known = await ctx.links.verified_owner(url)
            return Recipient(url, known.wa_id if known else None, pointer)
        if phrases.is_phone(label):
            known = await self._verified_by_phone(label)
            if known and known.wallet_url:
                return Recipient(known.wallet_url, known.wa_id, clean_name(known.name) or label)
        matches = await ctx.store.contacts.match(user.wa_id, label)
        if len(matches) > 1:
            return matches
        contact = matches[0] if matches else None
        if contact is None:
            return None
        if contact.wallet_url:
            known = await ctx.links.verified_owner(contact.wallet_url)
            if known is None and contact.phone:
                known = await self._verified_by_phone(contact.phone)
                known = known if known and known.wallet_url == contact.wallet_url else None
            return Recipient(contact.wallet_url, known.wa_id if known else None, contact.alias)
        if contact.phone:
            known = await self._verified_by_phone(contact.phone)
            if known and known.wallet_url:
                return Recipient(known.wallet_url, known.wa_id, contact.alias)
        return None

    async def _verified_by_phone(self, phone: str) -> user_store.User | None:
        """The user with this number, if their wallet is proven theirs (issue 17): paying "a
        number" never pays a wallet its user merely claimed."""
        known = await self.ctx.store.users.find_by_phone(phone)
        owner = await self.ctx.links.verified_owner(known.wallet_url if known else None)
        return known if known and owner and owner.wa_id == known.wa_id else None
