"""The payment dialogue: ask what is missing, quote, one confirmation, cancel, history."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from shared.contracts import (
    FINAL_STATUSES,
    MoneyView,
    PaymentView,
    SendPaymentRequest,
    UnderstandResponse,
)
from shared.money import MoneyError, parse_decimal
from ws_bot import lateness
from ws_bot import store as st
from ws_bot.backends import Refused, Unavailable
from ws_bot.dialog import DialogBase
from ws_bot.incoming import Incoming
from ws_bot.metrics import BACKEND_UNAVAILABLE
from ws_bot.texts import t
from ws_bot.wallets import WalletError, find_wallet, normalize

logger = logging.getLogger(__name__)

_AMOUNT_RE = re.compile(r"^\s*\$?\s*(?P<n>\d{1,9}(?:[.,]\d{1,2})?)\s*(?:[A-Za-z]{3})?\s*$")
_NAME_RE = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+){0,3}$")
_PHONE_RE = re.compile(r"^\+?[\d\s\-().]{7,20}$")


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


def _quote_of(view: PaymentView, lang: str) -> dict[str, Any]:
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


class Paying(DialogBase):
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

    async def _payment_intent(
        self, user: st.User, inc: Incoming, answer: UnderstandResponse
    ) -> None:
        lang = user.language
        if await lateness.refuse(self.say, lang, inc):  # ws_bot.lateness: late → not acted on
            return
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
        quote = _quote_of(view, lang or "es")
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
                if not await self.op.cancel_payment(payment.payment_id):
                    continue
                # The poller may notice the cancellation first; whichever of us finishes the
                # payment tells the user, so they hear "cancelled" exactly once.
                if await self.store.finish_payment(payment.payment_id, "cancelled"):
                    await self.say.react(user.wa_id, payment.react_message_id, "✖️")
                    await self.say.text(user.wa_id, t(lang, "cancelled"))
                return
            if active:
                await self.say.text(user.wa_id, t(lang, "cannot_cancel_confirmed"))
                return
        key = "nothing_to_cancel" if draft_id is None else "draft_gone"
        await self.say.text(user.wa_id, t(lang, key))
