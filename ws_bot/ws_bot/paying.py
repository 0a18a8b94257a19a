"""The payment dialogue: build the draft (asking what is missing, taking corrections), quote it
at op_api and show the summary.

One live payment per user: a new request replaces the unconfirmed one (and says so); the same
payment again within minutes asks "again?" first. Confirming and cancelling are in `confirming`.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from shared.contracts import FINAL_STATUSES, SendPaymentRequest, UnderstandResponse
from ws_bot import contact_store, draft_store, lateness, phrases, user_store
from ws_bot.addressbook import AddressBook
from ws_bot.backends import Refused, Unavailable
from ws_bot.buttons import ContactPick, PayTap, safe
from ws_bot.dialog import Context, Question
from ws_bot.incoming import Incoming
from ws_bot.metrics import BACKEND_UNAVAILABLE
from ws_bot.phrases import clean_name
from ws_bot.summary import amount_text, decimal, link_line, quote_of, what
from ws_bot.texts import plain_reason, short_ref, t
from ws_bot.wallets import WalletError, find_wallet, normalize

logger = logging.getLogger(__name__)
MAX_AMOUNT_CHARS = 24
AGAIN_WINDOW_SECONDS = 600.0  # the same payment again within this asks "again?" first
D = draft_store.DraftStatus


def _same_recipient(a: str | None, b: str | None) -> bool:
    return bool(a and b) and phrases.fold(a or "") == phrases.fold(b or "")


def _same_person(recipient: str, draft: draft_store.Draft, allow_insecure: bool) -> bool:
    """Whether `recipient` (as just asked) is who `draft` pays: the same name or wallet."""
    if _same_recipient(recipient, draft.recipient_label):
        return True
    pointer = find_wallet(recipient)
    try:
        return bool(pointer) and normalize(pointer or "", allow_insecure) == draft.receiver_wallet
    except WalletError:
        return False


class Payments:
    def __init__(self, ctx: Context, book: AddressBook) -> None:
        self.ctx = ctx
        self.book = book

    # ------------------------------------------------------------------ building the draft

    async def _new_draft(
        self,
        user: user_store.User,
        inc: Incoming,
        amount: str | None,
        label: str | None,
        **known: Any,
    ) -> draft_store.Draft:
        """The user's one open draft from now on; a quoted one it replaces is cancelled."""
        draft = draft_store.Draft(
            id=uuid.uuid4().hex,
            wa_id=user.wa_id,
            status=D.COLLECTING,
            amount=amount,
            currency=user.wallet_asset,
            recipient_label=label,
            receiver_wallet=known.get("receiver_wallet"),
            receiver_wa_id=known.get("receiver_wa_id"),
            source_message_id=inc.message_id,
            payment_id=None,
            quote=None,
            confirmed_by=None,
        )
        replaced = await self.ctx.store.drafts.create(draft)
        for old in replaced:
            if old.status == D.QUOTED:
                await self.ctx.cancel_at_op(old.payment_id)
                if known.get("tell", True):
                    text = t(user.language, "replaced", what=what(user.language, old))
                    await self.ctx.say.text(user.wa_id, text)
        return draft

    async def fill_draft(self, user: user_store.User, inc: Incoming, text: str) -> bool:
        """A bare amount or recipient answering the bot's question, without asking llm_back."""
        ctx = self.ctx
        draft = await ctx.store.drafts.current(user.wa_id)
        if draft is None or draft.status != D.COLLECTING:
            return False
        if draft.amount is None and (amount := phrases.amount(text)):
            await ctx.store.drafts.update(draft.id, (D.COLLECTING,), amount=amount)
            draft.amount = amount
            await self.advance(user, draft, inc)
            return True
        if draft.recipient_label is None:
            answer = phrases.recipient_answer(text)
            pointer = find_wallet(answer) or phrases.bare_wallet(answer)
            # A bare name answering "who?" is taken as the recipient's name, known or not.
            label = pointer or (answer if phrases.is_name(answer) else None)
            if label:
                await ctx.store.drafts.update(draft.id, (D.COLLECTING,), recipient_label=label)
                draft.recipient_label = label
                await self.advance(user, draft, inc)
                return True
        return False

    async def on_intent(
        self, user: user_store.User, inc: Incoming, answer: UnderstandResponse
    ) -> None:
        ctx, lang = self.ctx, user.language
        if await lateness.refuse(ctx.say, lang, inc):  # ws_bot.lateness: late → not acted on
            return
        if await ctx.linked(user) is None:  # issue 17: only a verified wallet pays
            return
        # An amount no wallet could hold (hundreds of digits) is asked for again, not stored.
        amount = answer.monto if answer.monto and len(answer.monto) <= MAX_AMOUNT_CHARS else None
        # A wallet address typed in the message is the recipient even if the parser missed it.
        recipient = answer.destinatario or find_wallet(inc.text)
        if answer.currency and user.wallet_asset and answer.currency.upper() != user.wallet_asset:
            amount = None
            await ctx.say.text(user.wa_id, t(lang, "currency_mismatch", asset=user.wallet_asset))
        draft = await ctx.store.drafts.current(user.wa_id)
        if draft is not None and draft.status == D.QUOTED:
            same_amount = amount is None or decimal(amount) == decimal(draft.amount)
            same_person = recipient is None or _same_person(
                recipient, draft, ctx.settings.allow_insecure_http
            )
            if same_amount and same_person:
                await ctx.say.text(user.wa_id, t(lang, "already_waiting", what=what(lang, draft)))
                return
            draft = None
        if draft is not None:
            updates: dict[str, Any] = {}
            if amount:
                updates["amount"] = draft.amount = amount
            if recipient:
                updates["recipient_label"] = draft.recipient_label = recipient
                updates["receiver_wallet"] = draft.receiver_wallet = None
            if updates:
                await ctx.store.drafts.update(draft.id, (D.COLLECTING,), **updates)
        else:
            draft = await self._new_draft(user, inc, amount, recipient)
        if answer.currency and amount is None and draft.amount is None:
            return  # the currency question above already asked for the amount
        await self.advance(user, draft, inc)

    async def correct(
        self, user: user_store.User, inc: Incoming, amount: str | None, recipient: str | None
    ) -> bool:
        """'no, mejor 30' / 'mejor a Alice': edit the live draft and quote it again."""
        ctx = self.ctx
        draft = await ctx.store.drafts.current(user.wa_id)
        if draft is None:
            return False
        values: dict[str, Any] = {"amount": amount or draft.amount}
        if recipient and not _same_recipient(recipient, draft.recipient_label):
            values.update(recipient_label=recipient, receiver_wallet=None, receiver_wa_id=None)
        else:
            values.update(
                recipient_label=draft.recipient_label,
                receiver_wallet=draft.receiver_wallet,
                receiver_wa_id=draft.receiver_wa_id,
            )
        if draft.status == D.COLLECTING:
            await ctx.store.drafts.update(draft.id, (D.COLLECTING,), **values)
            for key, value in values.items():
                setattr(draft, key, value)
        else:
            # A quoted payment is fixed at op_api: a new draft (and quote) replaces it.
            draft = await self._new_draft(
                user, inc, values.pop("amount"), values.pop("recipient_label"), tell=False, **values
            )
        await self.advance(user, draft, inc)
        return True

    async def advance(
        self, user: user_store.User, draft: draft_store.Draft, inc: Incoming, again_ok: bool = False
    ) -> None:
        """Ask for what is missing; when nothing is, prepare the payment and show the quote."""
        ctx, lang = self.ctx, user.language
        if draft.recipient_label and not draft.receiver_wallet:
            try:
                found = await self.book.find_recipient(user, draft.recipient_label)
            except WalletError as exc:
                await ctx.store.drafts.update(draft.id, (D.COLLECTING,), recipient_label=None)
                key = "wallet_insecure" if exc.code == "insecure" else "wallet_invalid"
                await ctx.say.text(user.wa_id, t(lang, key, url=exc.url))
                return
            if isinstance(found, list):
                await self._ask_which(user, draft, found)
                return
            if found is None:
                name = clean_name(draft.recipient_label)
                slug = "-".join(phrases.fold(name).replace("'", "").split()) or "name"
                await ctx.store.users.update(
                    user.wa_id,
                    pending={"kind": Question.RECIPIENT_WALLET.value, "draft": draft.id,
                             "name": name},
                )  # fmt: skip
                await ctx.say.text(user.wa_id, t(lang, "unknown_recipient", name=name, slug=slug))
                return
            draft.receiver_wallet, draft.receiver_wa_id = found.wallet_url, found.wa_id
            draft.recipient_label = found.label
            await ctx.store.drafts.update(
                draft.id,
                (D.COLLECTING,),
                receiver_wallet=found.wallet_url,
                receiver_wa_id=found.wa_id,
                recipient_label=found.label,
            )
        if not draft.recipient_label:
            if draft.amount:
                amount = amount_text(draft.amount, user.wallet_asset)
                await ctx.say.text(user.wa_id, t(lang, "ask_recipient", amount=amount))
            else:
                await ctx.say.text(user.wa_id, t(lang, "ask_recipient_only"))
            return
        if not draft.amount:
            await ctx.say.text(
                user.wa_id,
                t(lang, "ask_amount", recipient=draft.recipient_label, asset=user.wallet_asset),
            )
            return
        if not again_ok and await self._sent_lately(user, draft):
            await ctx.ask(
                user, Question.AGAIN, t(lang, "again", what=what(lang, draft)), draft=draft.id
            )
            return
        await self._quote(user, draft)

    async def _sent_lately(self, user: user_store.User, draft: draft_store.Draft) -> bool:
        assert draft.receiver_wallet
        since = time.time() - AGAIN_WINDOW_SECONDS
        earlier = await self.ctx.store.drafts.recent_confirmed(
            user.wa_id, draft.receiver_wallet, since
        )
        for d in earlier:
            if decimal(d.amount) != decimal(draft.amount) or not d.payment_id:
                continue
            payment = await self.ctx.store.payments.get(d.payment_id)
            # A payment rejected, expired, failed or cancelled was not sent: no "again?".
            if (
                payment is None
                or payment.status in ("completed", "awaiting_approval")
                or (not payment.notified)
            ):
                return True
        return False

    async def _ask_which(
        self, user: user_store.User, draft: draft_store.Draft, matches: list[contact_store.Contact]
    ) -> None:
        ctx, lang = self.ctx, user.language
        name = clean_name(draft.recipient_label or "")
        await ctx.store.users.update(
            user.wa_id, pending={"kind": Question.PICK_CONTACT.value, "draft": draft.id}
        )
        rows = [
            (ContactPick(safe(c.alias)).to_str(), c.alias, c.wallet_url or c.phone or "")
            for c in matches[:10]
        ]
        await ctx.say.choice_list(
            user.wa_id, t(lang, "which_contact", name=name), t(lang, "btn_choose"), name, rows
        )

    async def _quote(self, user: user_store.User, draft: draft_store.Draft) -> None:
        ctx, lang = self.ctx, user.language
        assert draft.receiver_wallet
        assert draft.amount
        assert user.wallet_url
        link = await ctx.linked(user)
        if link is None:  # issue 17: an unverified wallet never pays (the user offered a link)
            await ctx.store.drafts.update(draft.id, draft_store.OPEN_DRAFT, status=D.CANCELLED)
            return
        await ctx.say.react(user.wa_id, draft.source_message_id, "⏳")
        receiver = await ctx.check_wallet(user, draft.receiver_wallet)
        if receiver is None:
            await ctx.store.drafts.update(draft.id, draft_store.OPEN_DRAFT, status=D.CANCELLED)
            return
        try:
            request = SendPaymentRequest(
                sender_wallet_url=user.wallet_url,
                receiver_wallet_url=receiver.url,
                amount=draft.amount,
                amount_type="receive",  # "send Bob 20" means Bob gets 20; the fee is on top
                idempotency_key=draft.source_message_id,
                description=f"Paguito: {user.name}"[:256] if user.name else None,
                # Within the allowance, the chat's Confirm is all it takes (issue 17).
                link_id=link.id if link.one_tap else None,
            )
        except ValueError:
            await ctx.store.drafts.update(draft.id, (D.COLLECTING,), amount=None)
            await ctx.say.text(
                user.wa_id,
                t(lang, "ask_amount", recipient=draft.recipient_label, asset=user.wallet_asset),
            )
            return
        try:
            view = await ctx.op.send_payment(request)
        except Unavailable:
            BACKEND_UNAVAILABLE.labels("op_api").inc()
            logger.warning("op_api unavailable")
            await ctx.store.drafts.update(draft.id, draft_store.OPEN_DRAFT, status=D.CANCELLED)
            await ctx.say.react(user.wa_id, draft.source_message_id, "❌")
            await ctx.say.text(user.wa_id, t(lang, "op_down"))
            return
        except Refused as exc:
            await self._refused(user, draft, str(exc))
            return
        if receiver.public_name and find_wallet(draft.recipient_label or ""):
            # A typed address says little to a person; the wallet's public name says who.
            name = clean_name(receiver.public_name, 48)
            if name:
                draft.recipient_label = f"{name} ({draft.recipient_label})"
        if view.status in FINAL_STATUSES or not (view.confirmation_url or view.link_id):
            await self._refused(user, draft, view.failure_reason or view.status.value)
            return
        await ctx.heed_fallback(user, link.id, view)
        quote = quote_of(view, lang or "es", (link.allowance or {}).get("interval"))
        quoted = await ctx.store.drafts.update(
            draft.id,
            (D.COLLECTING,),
            status=D.QUOTED,
            recipient_label=draft.recipient_label,
            payment_id=view.payment_id,
            quote=quote,
            receiver_wallet=receiver.url,
        )
        if not quoted:  # replaced or cancelled while op_api was quoting
            await self.ctx.cancel_at_op(view.payment_id)
            return
        body = t(
            lang,
            "summary",
            recipient=clean_name(draft.recipient_label or ""),
            debit=quote["debit"],
            receive=quote["receive"],
            fee=quote["fee"],
            rate=quote["rate"],
            wallet=await self._wallet_line(user, draft, receiver.url),
        )
        if line := link_line(lang, quote):
            body = f"{body}\n{line}"
        await ctx.say.buttons(
            user.wa_id,
            body,
            [
                (t(lang, "btn_confirm"), PayTap(draft.id, True).to_str()),
                (t(lang, "btn_cancel"), PayTap(draft.id, False).to_str()),
            ],
        )

    async def _wallet_line(self, user: user_store.User, draft: draft_store.Draft, url: str) -> str:
        """The receiving wallet when the user gave it; someone found through Paguito (by phone
        number, or a shared card of a Paguito user) keeps their wallet theirs to tell."""
        if find_wallet(draft.recipient_label or ""):
            return ""  # the address is already in the label
        contact = await self.ctx.store.contacts.find(user.wa_id, draft.recipient_label or "")
        given = contact is not None and contact.wallet_url == url
        return f" · {url}" if given or not draft.receiver_wa_id else ""

    async def _refused(self, user: user_store.User, draft: draft_store.Draft, detail: str) -> None:
        ctx, lang = self.ctx, user.language
        ref = short_ref(draft.id)
        logger.warning("payment refused", extra={"ref": ref, "draft": draft.id, "detail": detail})
        await ctx.store.drafts.update(draft.id, draft_store.OPEN_DRAFT, status=D.CANCELLED)
        await ctx.say.react(user.wa_id, draft.source_message_id, "❌")
        reason = plain_reason(lang, detail)
        await ctx.say.text(
            user.wa_id, t(lang, "payment_refused", what=what(lang, draft), reason=reason, ref=ref)
        )

    # ------------------------------------------------------------------ answers to questions

    async def answer_recipient_wallet(
        self, user: user_store.User, inc: Incoming, pointer: str
    ) -> None:
        """The wallet of a recipient the book did not have: saved, then the payment goes on."""
        ctx, pending = self.ctx, dict(user.pending or {})
        name = str(pending.get("name") or "")
        wallet = await self.book.save(user, name, pointer)
        if wallet is None:
            return
        await ctx.forget_question(user)
        draft = await ctx.store.drafts.get(str(pending.get("draft")))
        if draft is None or draft.status != D.COLLECTING or draft.wa_id != user.wa_id:
            return
        # The recipient may be a registered user: remember it so they are told when paid.
        known = await ctx.links.verified_owner(wallet)
        draft.receiver_wallet, draft.recipient_label = wallet, name
        draft.receiver_wa_id = known.wa_id if known else None
        await ctx.store.drafts.update(
            draft.id,
            (D.COLLECTING,),
            receiver_wallet=wallet,
            receiver_wa_id=draft.receiver_wa_id,
            recipient_label=name,
        )
        await self.advance(user, draft, inc)

    async def answer_again(self, user: user_store.User, inc: Incoming, yes: bool) -> None:
        ctx, lang = self.ctx, user.language
        draft_id = str((user.pending or {}).get("draft"))
        await ctx.forget_question(user)
        draft = await ctx.store.drafts.get(draft_id)
        if draft is None or draft.wa_id != user.wa_id or draft.status != D.COLLECTING:
            await ctx.say.text(user.wa_id, t(lang, "draft_gone"))
            return
        if yes:
            await self.advance(user, draft, inc, again_ok=True)
            return
        await ctx.store.drafts.update(draft.id, (D.COLLECTING,), status=D.CANCELLED)
        await ctx.say.text(user.wa_id, t(lang, "not_again", what=what(lang, draft)))

    async def pick_contact(self, user: user_store.User, inc: Incoming, alias: str) -> None:
        ctx = self.ctx
        draft_id = str((user.pending or {}).get("draft"))
        await ctx.forget_question(user)
        draft = await ctx.store.drafts.get(draft_id)
        contact = await ctx.store.contacts.find(user.wa_id, alias)
        if draft is None or draft.status != D.COLLECTING or contact is None:
            await ctx.say.text(user.wa_id, t(user.language, "draft_gone"))
            return
        draft.recipient_label, draft.receiver_wallet = contact.alias, None
        await ctx.store.drafts.update(
            draft.id, (D.COLLECTING,), recipient_label=contact.alias, receiver_wallet=None
        )
        await self.advance(user, draft, inc)
