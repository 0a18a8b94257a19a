"""The address book: saved names, shared contact cards, and wallet addresses asked for."""

from __future__ import annotations

from ws_bot import store as st
from ws_bot.dialog import DialogBase
from ws_bot.incoming import Incoming
from ws_bot.texts import t
from ws_bot.wallets import find_wallet


class AddressBook(DialogBase):
    async def _list_contacts(self, user: st.User) -> None:
        lang = user.language
        book = await self.store.list_contacts(user.wa_id)
        if not book:
            await self.say.text(user.wa_id, t(lang, "contacts_empty"))
            return
        lines = [t(lang, "contacts_header")]
        lines += [f"• {c.alias}: {c.wallet_url or c.phone or '—'}" for c in book]
        await self.say.text(user.wa_id, "\n".join(lines))

    async def _save_contact(
        self, user: st.User, name: str, pointer: str, phone: str | None = None
    ) -> str | None:
        info = await self._check_wallet(user, pointer)
        if info is None:
            return None
        await self.store.save_contact(user.wa_id, name, info.url, phone)
        await self.say.text(
            user.wa_id, t(user.language, "contact_saved", name=name, wallet=info.url)
        )
        return str(info.url)

    async def _contact_cards(self, user: st.User, inc: Incoming) -> None:
        waiting: list[dict[str, str | None]] = []  # cards without a wallet: asked one by one
        for card in inc.contacts:
            name = card.name.strip() or (card.phones[0] if card.phones else "?")
            phone = next((p for p in card.phones if p), None)
            known = await self.store.find_user_by_phone(phone) if phone else None
            if known is not None and known.wallet_url:
                await self.store.save_contact(user.wa_id, name, known.wallet_url, known.wa_id)
                await self.say.text(
                    user.wa_id,
                    t(user.language, "contact_saved", name=name, wallet=known.wallet_url),
                )
                continue
            pointer = next((w for u in card.urls if (w := find_wallet(u))), None)
            if pointer and await self._save_contact(user, name, pointer, phone):
                continue
            await self.store.save_contact(user.wa_id, name, None, phone)
            waiting.append({"name": name, "phone": phone})
        if waiting:
            await self._ask_card_wallet(user, waiting)

    async def _ask_card_wallet(self, user: st.User, waiting: list[dict[str, str | None]]) -> None:
        """Ask for the first card's wallet; the others wait their turn in `pending`."""
        first, rest = waiting[0], waiting[1:]
        pending = {"kind": "contact_wallet", **first, "queue": rest}
        await self.store.update_user(user.wa_id, pending=pending)
        name = first["name"]
        await self.say.text(user.wa_id, t(user.language, "contact_needs_wallet", name=name))

    async def _pending(self, user: st.User, inc: Incoming, text: str) -> bool:
        """A wallet address the bot asked for (for a contact card or an unknown recipient)."""
        pending = user.pending or {}
        pointer = find_wallet(text)
        if pointer is None:
            return False
        name = str(pending.get("name") or "")
        wallet = await self._save_contact(user, name, pointer, pending.get("phone"))
        if wallet is None:
            return True
        queue = pending.get("queue") if pending.get("kind") == "contact_wallet" else None
        if isinstance(queue, list) and queue:
            await self._ask_card_wallet(user, queue)  # the next card of the same message
            return True
        await self.store.update_user(user.wa_id, pending=None)
        if pending.get("kind") == "recipient_wallet":
            draft = await self.store.get_draft(str(pending.get("draft")))
            if draft is not None and draft.status == st.COLLECTING:
                # The recipient may be a registered user: remember it so they are told when paid.
                known = await st.find_user_by_wallet(self.store, wallet)
                receiver_wa_id = known.wa_id if known else None
                await self.store.update_draft(
                    draft.id,
                    (st.COLLECTING,),
                    receiver_wallet=wallet,
                    receiver_wa_id=receiver_wa_id,
                    recipient_label=name,
                )
                draft.receiver_wallet, draft.recipient_label = wallet, name
                draft.receiver_wa_id = receiver_wa_id
                await self._advance(user, draft, inc)
        return True
