"""The conversation: onboarding, address book, commands, and the payment dialogue.

One `Incoming` at a time per user (the worker serialises them). Every branch answers the user:
a service being down, a bad wallet or an unexpected error all end in a clear message.
"""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from shared.contracts import (
    FINAL_STATUSES,
    MediaItem,
    MoneyView,
    PaymentView,
    SendPaymentRequest,
    UnderstandRequest,
    UnderstandResponse,
)
from shared.money import MoneyError, parse_decimal
from ws_bot import store as st
from ws_bot.backends import LlmClient, OpClient, Refused, Unavailable
from ws_bot.graph import Messenger
from ws_bot.incoming import Incoming
from ws_bot.limits import RateLimiter
from ws_bot.metrics import BACKEND_UNAVAILABLE, RATE_LIMITED
from ws_bot.settings import Settings
from ws_bot.texts import normalize_language, t
from ws_bot.wallets import WalletError, WalletInfo, WalletResolver, find_wallet, normalize

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
_AMOUNT_RE = re.compile(r"^\s*\$?\s*(?P<n>\d{1,9}(?:[.,]\d{1,2})?)\s*(?:[A-Za-z]{3})?\s*$")
# llm_back refuses longer texts (its MAX_TEXT_CHARS default); nobody pays with an essay.
MAX_UNDERSTAND_CHARS = 2000
_NAME_RE = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+){0,3}$")
_PHONE_RE = re.compile(r"^\+?[\d\s\-().]{7,20}$")

_WORDS = {
    "cancel": {"cancel", "cancelar", "cancela", "stop", "alto", "no"},
    "history": {"history", "historial", "pagos", "payments", "mis pagos", "my payments"},
    "help": {"help", "ayuda", "menu", "menú", "hola", "hi", "hello", "buenas", "start", "inicio"},
    "contacts": {"contacts", "contactos", "agenda", "libreta", "address book"},
    "language": {"language", "idioma", "lang", "languages", "idiomas"},
    "wallet": {"wallet", "billetera", "mi billetera", "my wallet", "cartera"},
}
_LANGUAGE_WORDS = {
    "es": {"es", "español", "espanol", "spanish", "castellano"},
    "en": {"en", "english", "inglés", "ingles"},
}


def _command(text: str) -> str | None:
    word = " ".join(text.strip().lower().strip("¡!¿?.").split())
    for command, words in _WORDS.items():
        if word in words:
            return command
    return None


def _money(view: MoneyView | None) -> str:
    return f"{view.value} {view.asset_code}" if view else "—"


def _fee(view: PaymentView, lang: str) -> str:
    if view.fee is not None:
        return _money(view.fee)
    debit, receive = view.debit_amount, view.receive_amount
    if debit and receive and debit.asset_code == receive.asset_code:
        try:
            fee = parse_decimal(debit.value) - parse_decimal(receive.value)
        except MoneyError:
            return "—"
        return t(lang, "fee_none") if fee == 0 else f"{fee} {debit.asset_code}"
    return "—"


def _quote(view: PaymentView, lang: str) -> dict[str, Any]:
    return {
        "confirmationUrl": view.confirmation_url,
        "debit": _money(view.debit_amount),
        "receive": _money(view.receive_amount),
        "fee": _fee(view, lang),
        "debitView": view.debit_amount.model_dump(by_alias=True) if view.debit_amount else None,
        "receiveView": view.receive_amount.model_dump(by_alias=True)
        if view.receive_amount
        else None,
    }


@dataclass
class Recipient:
    wallet_url: str
    wa_id: str | None
    label: str


class Conversation:
    def __init__(
        self,
        settings: Settings,
        store: st.Store,
        messenger: Messenger,
        llm: LlmClient,
        op: OpClient,
        wallets: WalletResolver,
        wake_poller: Any,
    ) -> None:
        self.settings = settings
        self.store = store
        self.say = messenger
        self.llm = llm
        self.op = op
        self.wallets = wallets
        self.wake_poller = wake_poller
        self.limiter = RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_seconds)

    # ------------------------------------------------------------------ entry point

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

    # ------------------------------------------------------------------ onboarding

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

    # ------------------------------------------------------------------ menus and commands

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

    async def _history(self, user: st.User) -> None:
        lang = user.language
        rows = await self.store.recent_payments(user.wa_id)
        if not rows:
            await self._menu(user, t(lang, "history_empty"))
            return
        lines = [t(lang, "history_header")]
        for p in rows:
            when = time.strftime("%Y-%m-%d", time.gmtime(p.created_at))
            amount = (p.debit or {}).get("text") or "—"
            status_key = f"status_{p.status}" if p.notified else "status_pending"
            try:
                status = t(lang, status_key)
            except KeyError:
                status = p.status
            lines.append(f"• {when} · {p.recipient_label} · {amount} · {status}")
        await self.say.text(user.wa_id, "\n".join(lines))

    # ------------------------------------------------------------------ address book

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
        for card in inc.contacts[:5]:
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
            await self.store.update_user(
                user.wa_id, pending={"kind": "contact_wallet", "name": name, "phone": phone}
            )
            await self.say.text(user.wa_id, t(user.language, "contact_needs_wallet", name=name))

    # ------------------------------------------------------------------ text and media

    async def _text(self, user: st.User, inc: Incoming) -> None:
        text = inc.text.strip()
        command = _command(text)
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

    async def _fill_draft(self, user: st.User, inc: Incoming, text: str) -> bool:
        """A bare amount or recipient answering the bot's question, without asking llm_back."""
        draft = await self.store.open_draft(user.wa_id)
        if draft is None or draft.status != st.COLLECTING:
            return False
        if draft.amount is None and (m := _AMOUNT_RE.match(text)):
            amount = m.group("n").replace(",", ".")
            await self.store.update_draft(draft.id, (st.COLLECTING,), amount=amount)
            draft.amount = amount
            await self._advance(user, draft, inc)
            return True
        if draft.recipient_label is None:
            pointer = find_wallet(text)
            contact = await self.store.find_contact(user.wa_id, text)
            # A bare name answering "who?" is taken as the recipient's name, known or not.
            bare_name = text if _NAME_RE.match(text) else None
            label = pointer or (contact.alias if contact else None) or bare_name
            if label:
                await self.store.update_draft(draft.id, (st.COLLECTING,), recipient_label=label)
                draft.recipient_label = label
                await self._advance(user, draft, inc)
                return True
        return False

    async def _media(self, user: st.User, inc: Incoming) -> None:
        lang = user.language
        assert inc.media_id is not None
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

    # ------------------------------------------------------------------ paying

    async def _payment_intent(
        self, user: st.User, inc: Incoming, answer: UnderstandResponse
    ) -> None:
        lang = user.language
        amount = answer.monto
        # A wallet address typed in the message is the recipient even if the parser missed it.
        recipient = answer.destinatario or find_wallet(inc.text)
        if answer.currency and user.wallet_asset and answer.currency.upper() != user.wallet_asset:
            amount = None
            await self.say.text(user.wa_id, t(lang, "currency_mismatch", asset=user.wallet_asset))
        draft = await self.store.open_draft(user.wa_id)
        if draft is not None and draft.status == st.COLLECTING:
            updates: dict[str, Any] = {}
            if amount:
                updates["amount"] = draft.amount = amount
            if recipient:
                updates["recipient_label"] = draft.recipient_label = recipient
                updates["receiver_wallet"] = draft.receiver_wallet = None
            if updates:
                await self.store.update_draft(draft.id, (st.COLLECTING,), **updates)
        else:
            draft = st.Draft(
                id=uuid.uuid4().hex,
                wa_id=user.wa_id,
                status=st.COLLECTING,
                amount=amount,
                currency=user.wallet_asset,
                recipient_label=recipient,
                receiver_wallet=None,
                receiver_wa_id=None,
                source_message_id=inc.message_id,
                payment_id=None,
                quote=None,
                confirmed_by=None,
            )
            await self.store.create_draft(draft)
        if answer.currency and amount is None and draft.amount is None:
            return  # the currency question above already asked for the amount
        await self._advance(user, draft, inc)

    async def _resolve_recipient(self, user: st.User, label: str) -> Recipient | None:
        pointer = find_wallet(label)
        if pointer:
            url = normalize(pointer, self.settings.allow_insecure_http)
            known = await st.find_user_by_wallet(self.store, url)
            return Recipient(url, known.wa_id if known else None, pointer)
        if _PHONE_RE.match(label):
            known = await self.store.find_user_by_phone(label)
            if known and known.wallet_url:
                return Recipient(known.wallet_url, known.wa_id, known.name or label)
        contact = await self.store.find_contact(user.wa_id, label)
        if contact is None:
            return None
        if contact.wallet_url:
            known = await st.find_user_by_wallet(self.store, contact.wallet_url)
            if known is None and contact.phone:
                known = await self.store.find_user_by_phone(contact.phone)
            return Recipient(contact.wallet_url, known.wa_id if known else None, contact.alias)
        if contact.phone:
            known = await self.store.find_user_by_phone(contact.phone)
            if known and known.wallet_url:
                return Recipient(known.wallet_url, known.wa_id, contact.alias)
        return None

    async def _advance(self, user: st.User, draft: st.Draft, inc: Incoming) -> None:
        """Ask for what is missing; when nothing is, prepare the payment and show the quote."""
        lang = user.language
        if draft.recipient_label and not draft.receiver_wallet:
            try:
                recipient = await self._resolve_recipient(user, draft.recipient_label)
            except WalletError as exc:
                await self.store.update_draft(draft.id, (st.COLLECTING,), recipient_label=None)
                key = "wallet_insecure" if exc.code == "insecure" else "wallet_invalid"
                await self.say.text(user.wa_id, t(lang, key, url=exc.url))
                return
            if recipient is None:
                name = draft.recipient_label
                slug = re.sub(r"[^a-z0-9]+", "-", st.alias_key(name)).strip("-") or "name"
                await self.store.update_user(
                    user.wa_id,
                    pending={"kind": "recipient_wallet", "draft": draft.id, "name": name},
                )
                await self.say.text(user.wa_id, t(lang, "unknown_recipient", name=name, slug=slug))
                return
            draft.receiver_wallet, draft.receiver_wa_id = recipient.wallet_url, recipient.wa_id
            draft.recipient_label = recipient.label
            await self.store.update_draft(
                draft.id,
                (st.COLLECTING,),
                receiver_wallet=recipient.wallet_url,
                receiver_wa_id=recipient.wa_id,
                recipient_label=recipient.label,
            )
        if not draft.recipient_label:
            if draft.amount:
                amount = f"{draft.amount} {user.wallet_asset or ''}".strip()
                await self.say.text(user.wa_id, t(lang, "ask_recipient", amount=amount))
            else:
                await self.say.text(user.wa_id, t(lang, "ask_recipient_only"))
            return
        if not draft.amount:
            await self.say.text(
                user.wa_id,
                t(lang, "ask_amount", recipient=draft.recipient_label, asset=user.wallet_asset),
            )
            return
        await self._quote(user, draft, inc)

    async def _quote(self, user: st.User, draft: st.Draft, inc: Incoming) -> None:
        lang = user.language
        assert draft.receiver_wallet
        assert draft.amount
        assert user.wallet_url
        await self.say.react(user.wa_id, draft.source_message_id, "⏳")
        receiver = await self._check_wallet(user, draft.receiver_wallet)
        if receiver is None:
            await self.store.update_draft(draft.id, st.OPEN_DRAFT, status=st.CANCELLED)
            return
        try:
            request = SendPaymentRequest(
                sender_wallet_url=user.wallet_url,
                receiver_wallet_url=receiver.url,
                amount=draft.amount,
                idempotency_key=draft.source_message_id,
                description=f"Paguito: {user.name}"[:256] if user.name else None,
            )
        except ValueError:
            await self.store.update_draft(draft.id, (st.COLLECTING,), amount=None)
            await self.say.text(
                user.wa_id,
                t(lang, "ask_amount", recipient=draft.recipient_label, asset=user.wallet_asset),
            )
            return
        try:
            view = await self.op.send_payment(request)
        except Unavailable:
            BACKEND_UNAVAILABLE.labels("op_api").inc()
            logger.warning("op_api unavailable")
            await self.store.update_draft(draft.id, st.OPEN_DRAFT, status=st.CANCELLED)
            await self.say.react(user.wa_id, draft.source_message_id, "❌")
            await self.say.text(user.wa_id, t(lang, "op_down"))
            return
        except Refused as exc:
            await self.store.update_draft(draft.id, st.OPEN_DRAFT, status=st.CANCELLED)
            await self.say.react(user.wa_id, draft.source_message_id, "❌")
            await self.say.text(user.wa_id, t(lang, "payment_refused", reason=str(exc)))
            return
        if receiver.public_name and find_wallet(draft.recipient_label or ""):
            # A typed address says little to a person; the wallet's public name says who.
            draft.recipient_label = f"{receiver.public_name} ({draft.recipient_label})"
        quote = _quote(view, lang or "es")
        if view.status in FINAL_STATUSES or not view.confirmation_url:
            await self.store.update_draft(draft.id, st.OPEN_DRAFT, status=st.CANCELLED)
            reason = view.failure_reason or view.status.value
            await self.say.text(user.wa_id, t(lang, "payment_refused", reason=reason))
            return
        await self.store.update_draft(
            draft.id,
            (st.COLLECTING,),
            status=st.QUOTED,
            recipient_label=draft.recipient_label,
            payment_id=view.payment_id,
            quote=quote,
            receiver_wallet=receiver.url,
        )
        await self.say.buttons(
            user.wa_id,
            t(
                lang,
                "summary",
                recipient=draft.recipient_label,
                debit=quote["debit"],
                receive=quote["receive"],
                fee=quote["fee"],
            ),
            [
                (t(lang, "btn_confirm"), f"pay:ok:{draft.id}"),
                (t(lang, "btn_cancel"), f"pay:no:{draft.id}"),
            ],
        )

    async def _confirm(self, user: st.User, inc: Incoming, draft_id: str) -> None:
        """Exactly one tap wins the conditional update; the others are told it is done."""
        lang = user.language
        draft = await self.store.get_draft(draft_id)
        if draft is None or draft.wa_id != user.wa_id:
            await self.say.text(user.wa_id, t(lang, "draft_gone"))
            return
        won = await self.store.update_draft(
            draft_id, (st.QUOTED,), status=st.CONFIRMED, confirmed_by=inc.message_id
        )
        if not won:
            draft = await self.store.get_draft(draft_id)
            assert draft is not None
            # The same tap processed again after a crash is still the winner.
            if not (draft.status == st.CONFIRMED and draft.confirmed_by == inc.message_id):
                key = "already_confirmed" if draft.status == st.CONFIRMED else "draft_gone"
                await self.say.text(user.wa_id, t(lang, key))
                return
        assert draft.payment_id
        assert draft.quote is not None
        now = time.time()
        await self.store.add_payment(
            st.Payment(
                payment_id=draft.payment_id,
                wa_id=user.wa_id,
                draft_id=draft.id,
                status="awaiting_approval",
                recipient_label=draft.recipient_label or "",
                receiver_wallet=draft.receiver_wallet or "",
                receiver_wa_id=draft.receiver_wa_id,
                debit={"text": draft.quote.get("debit"), "view": draft.quote.get("debitView")},
                receive={
                    "text": draft.quote.get("receive"),
                    "view": draft.quote.get("receiveView"),
                },
                react_message_id=draft.source_message_id,
                deadline=now + self.settings.poll_deadline_seconds,
                next_poll_at=now + self.settings.poll_initial_seconds,
                attempts=0,
                notified=False,
                created_at=now,
            )
        )
        await self.say.url_button(
            user.wa_id, t(lang, "approve"), t(lang, "btn_approve"), draft.quote["confirmationUrl"]
        )
        self.wake_poller()

    async def _cancel(self, user: st.User, draft_id: str | None) -> None:
        lang = user.language
        await self.store.update_user(user.wa_id, pending=None)
        draft = (
            await self.store.get_draft(draft_id)
            if draft_id
            else await self.store.open_draft(user.wa_id)
        )
        mine = draft is not None and draft.wa_id == user.wa_id and draft.status in st.OPEN_DRAFT
        if (
            draft is not None
            and mine
            and await self.store.update_draft(draft.id, st.OPEN_DRAFT, status=st.CANCELLED)
        ):
            if draft.payment_id:
                await self.op.cancel_payment(draft.payment_id)
            await self.say.react(user.wa_id, draft.source_message_id, "✖️")
            await self.say.text(user.wa_id, t(lang, "cancelled"))
            return
        if draft_id is None:
            active = await self.store.active_payments(user.wa_id)
            for payment in active:
                if await self.op.cancel_payment(
                    payment.payment_id
                ) and await self.store.finish_payment(payment.payment_id, "cancelled"):
                    await self.say.react(user.wa_id, payment.react_message_id, "✖️")
                    await self.say.text(user.wa_id, t(lang, "cancelled"))
                    return
            if active:
                await self.say.text(user.wa_id, t(lang, "cannot_cancel_confirmed"))
                return
        key = "nothing_to_cancel" if draft_id is None else "draft_gone"
        await self.say.text(user.wa_id, t(lang, key))
