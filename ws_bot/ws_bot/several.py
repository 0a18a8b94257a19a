"""Several recipients in one message ("20 a Bob y 10 a Alice", "split 60 between Bob, Alice and
me"): every share quoted at op_api, one summary listing each, one confirmation, then each
payment followed to its own result by the poller. Nothing is dropped: when a share cannot be
paid (no amount, unknown recipient, refused quote) nothing is paid and the user is told why.

The batch waits for its confirmation in `users.pending` (kind "several"): like every open
question it is replaced by the next one, and a tap on a replaced batch is refused. The shares are
quoted with one op_api /send-batch, which asks the wallet for one grant covering their total: one
approval link for all of them. When the wallet refuses such a grant (or op_api has no
/send-batch) each payment has its own grant: one approval link each.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from decimal import Decimal
from typing import Any

from shared.contracts import (
    FINAL_STATUSES,
    MAX_BATCH_PAYMENTS,
    BatchItem,
    BatchView,
    PaymentView,
    SendBatchRequest,
    SendPaymentRequest,
    Share,
    UnderstandResponse,
)
from shared.money import MoneyError, parse_decimal
from ws_bot import draft_store, payment_store, phrases, user_store
from ws_bot.addressbook import Recipient
from ws_bot.backends import Refused, Unavailable
from ws_bot.buttons import PayTap
from ws_bot.dialog import Context
from ws_bot.incoming import Incoming
from ws_bot.metrics import BACKEND_UNAVAILABLE
from ws_bot.paying import Payments
from ws_bot.phrases import clean_name
from ws_bot.summary import amount_text, quote_of, what
from ws_bot.texts import plain_reason, t

logger = logging.getLogger(__name__)
KIND = "several"
PREFIX = "several-"  # batch ids, so a tap on a batch summary is told apart from a draft's
MAX_SHARES = MAX_BATCH_PAYMENTS  # what one op_api /send-batch takes
NAMED_SHARE = re.compile(r"^payments\[(\d+)\]: ")  # how op_api names the share it refused


def owns(draft_id: str) -> bool:
    """Whether a summary's PayTap belongs to a batch (not to a single draft)."""
    return draft_id.startswith(PREFIX)


def _batch(user: user_store.User) -> dict[str, Any] | None:
    pending = user.pending or {}
    return pending if pending.get("kind") == KIND else None


def _value(text: str | None) -> Decimal:
    try:
        return parse_decimal(text or "0")
    except MoneyError:
        return Decimal(0)


def _line(lang: str | None, share: dict[str, Any]) -> str:
    return t(lang, "what", amount=share["quote"]["receive"], recipient=share["label"])


def _items(lang: str | None, shares: list[dict[str, Any]]) -> str:
    return "; ".join(_line(lang, s) for s in shares)


class Several:
    def __init__(self, ctx: Context, payments: Payments) -> None:
        self.ctx = ctx
        self.payments = payments

    async def start(self, user: user_store.User, inc: Incoming, answer: UnderstandResponse) -> None:
        ctx, lang = self.ctx, user.language
        if await ctx.linked(user) is None:  # issue 17: only a verified wallet pays
            return
        shares: list[Share] = list(answer.recipients or [])
        if len(shares) > MAX_SHARES:  # never a silent cut: say how many at most
            await ctx.say.text(user.wa_id, t(lang, "several_too_many", most=MAX_SHARES))
            return
        if any(s.monto is None for s in shares):
            names = ", ".join(clean_name(s.destinatario) for s in shares)
            await ctx.say.text(user.wa_id, t(lang, "several_amounts", names=names))
            return
        asset = user.wallet_asset
        if any(s.currency and asset and s.currency.upper() != asset for s in shares):
            await ctx.say.text(user.wa_id, t(lang, "several_currency", asset=asset))
            return
        wanted: list[dict[str, Any]] = []
        ambiguous: list[str] = []
        for share in shares:
            who = await self.payments.book.find_recipient(user, share.destinatario)
            if isinstance(who, list):
                ambiguous.append(clean_name(share.destinatario))
            known = who if isinstance(who, Recipient) else None
            wanted.append(
                {
                    "label": clean_name(known.label if known else share.destinatario),
                    "amount": share.monto,
                    "wallet": known.wallet_url if known else None,
                    "waId": known.wa_id if known else None,
                }
            )
        if ambiguous:
            names = ", ".join(ambiguous)
            await ctx.say.text(user.wa_id, t(lang, "several_ambiguous", names=names))
            return
        pending = {"kind": KIND, "wanted": wanted, "split": answer.split_total}
        await self._go_on(user, inc, pending)

    async def _go_on(self, user: user_store.User, inc: Incoming, pending: dict[str, Any]) -> None:
        """Ask for the next recipient's wallet (as for one payment), or quote every share and
        show the one summary."""
        ctx, lang = self.ctx, user.language
        pending["at"] = time.time()
        missing = next((w for w in pending["wanted"] if not w["wallet"]), None)
        if missing is not None:
            await ctx.store.users.update(user.wa_id, pending=pending)
            user.pending = pending
            name = missing["label"]
            slug = "-".join(phrases.fold(name).replace("'", "").split()) or "name"
            await ctx.say.text(user.wa_id, t(lang, "unknown_recipient", name=name, slug=slug))
            return
        wanted, split = pending["wanted"], pending.get("split")
        shares = [Share(destinatario=w["label"], monto=w["amount"]) for w in wanted]
        found = [Recipient(w["wallet"], w["waId"], w["label"]) for w in wanted]
        await self._replace_open_draft(user)
        await ctx.say.react(user.wa_id, inc.message_id, "⏳")
        answer = await self._quote_all(user, inc, shares, found)
        if answer is None:
            await ctx.forget_question(user)
            return
        quoted, op_batch = answer
        batch_id = PREFIX + uuid.uuid4().hex
        pending = {
            "kind": KIND,
            "batch": batch_id,
            "source": inc.message_id,
            "shares": quoted,
            "at": time.time(),
            # The batch at op_api, and its one approval link when one grant covers it all.
            "opBatch": op_batch.batch_id if op_batch else None,
            "approval": op_batch.confirmation_url if op_batch and op_batch.shared_grant else None,
        }
        await ctx.store.users.update(user.wa_id, pending=pending)
        user.pending = pending
        await ctx.say.buttons(
            user.wa_id,
            self._summary(lang, quoted, split, once=bool(pending["approval"])),
            [
                (t(lang, "btn_confirm"), PayTap(batch_id, True).to_str()),
                (t(lang, "btn_cancel"), PayTap(batch_id, False).to_str()),
            ],
        )

    async def answer_wallet(self, user: user_store.User, inc: Incoming, pointer: str) -> bool:
        """A wallet address answering "who is Zoe?" for a batch: saved, then the batch goes on."""
        batch = _batch(user)
        if batch is None or "batch" in batch:
            return False
        missing = next((w for w in batch["wanted"] if not w["wallet"]), None)
        if missing is None:
            return False
        wallet = await self.payments.book.save(user, missing["label"], pointer)
        if wallet is None:
            return True  # the user was told why (a bad wallet)
        known = await self.ctx.links.verified_owner(wallet)
        missing["wallet"], missing["waId"] = wallet, known.wa_id if known else None
        await self._go_on(user, inc, batch)
        return True

    async def _replace_open_draft(self, user: user_store.User) -> None:
        """One live payment dialogue per user: the batch replaces an unconfirmed draft."""
        draft = await self.ctx.store.drafts.current(user.wa_id)
        if draft is None or not draft.payment_id:
            if draft is not None:
                await self.ctx.store.drafts.update(
                    draft.id, draft_store.OPEN_DRAFT, status=draft_store.SUPERSEDED
                )
            return
        if await self.ctx.store.drafts.update(
            draft.id, draft_store.OPEN_DRAFT, status=draft_store.SUPERSEDED
        ):
            await self._cancel_at_op([draft.payment_id])
            replaced = t(user.language, "replaced", what=what(user.language, draft))
            await self.ctx.say.text(user.wa_id, replaced)

    async def _quote_one(
        self, user: user_store.User, inc: Incoming, i: int, share: Share, who: Recipient
    ) -> PaymentView | str:
        """The quoted payment of one share, or why it could not be quoted."""
        assert share.monto
        assert user.wallet_url
        try:
            view = await self.ctx.op.send_payment(
                SendPaymentRequest(
                    sender_wallet_url=user.wallet_url,
                    receiver_wallet_url=who.wallet_url,
                    amount=share.monto,
                    amount_type="receive",
                    idempotency_key=f"{inc.message_id}:{i}"[:256],
                    description=f"Paguito: {user.name}"[:256] if user.name else None,
                )
            )
        except Unavailable:
            BACKEND_UNAVAILABLE.labels("op_api").inc()
            return t(user.language, "op_down")
        except Refused as exc:
            return plain_reason(user.language, str(exc))
        if view.status in FINAL_STATUSES or not view.confirmation_url:
            return plain_reason(user.language, view.failure_reason or view.status.value)
        return view

    async def _quote_batch(
        self, user: user_store.User, inc: Incoming, shares: list[Share], found: list[Recipient]
    ) -> BatchView | tuple[int, str] | None:
        """Every share quoted by one /send-batch (one grant for the total when the wallet
        allows); or (the share refused, why); None when op_api has no /send-batch."""
        assert user.wallet_url
        description = f"Paguito: {user.name}"[:256] if user.name else None
        items = []
        for share, who in zip(shares, found, strict=True):
            assert share.monto  # `start` asked for the missing ones
            items.append(
                BatchItem(
                    receiver_wallet_url=who.wallet_url,
                    amount=share.monto,
                    amount_type="receive",
                    description=description,
                )
            )
        request = SendBatchRequest(
            sender_wallet_url=user.wallet_url,
            payments=items,
            idempotency_key=f"{inc.message_id}:batch"[:256],
        )
        try:
            return await self.ctx.op.send_batch(request)
        except Unavailable:
            BACKEND_UNAVAILABLE.labels("op_api").inc()
            return 0, t(user.language, "op_down")
        except Refused as exc:
            if exc.status in {404, 405}:
                return None
            named = NAMED_SHARE.match(str(exc))
            index = int(named.group(1)) if named and int(named.group(1)) < len(shares) else 0
            reason = str(exc)[named.end() :] if named else str(exc)
            return index, plain_reason(user.language, reason)

    async def _quote_all(
        self, user: user_store.User, inc: Incoming, shares: list[Share], found: list[Recipient]
    ) -> tuple[list[dict[str, Any]], BatchView | None] | None:
        """Every share quoted, or none: the quoted ones are cancelled and the user is told
        which share failed and why. With the op_api batch when there is one."""
        ctx, lang = self.ctx, user.language
        batch = await self._quote_batch(user, inc, shares, found)
        views: list[PaymentView | str]
        if isinstance(batch, tuple):
            index, reason = batch
            views = [reason if i == index else "" for i in range(len(shares))]  # "": not quoted
        elif batch is not None:
            views = [
                v
                if v.status not in FINAL_STATUSES and v.confirmation_url
                else plain_reason(lang, v.failure_reason or v.status.value)
                for v in batch.payments
            ]
        else:  # an op_api without /send-batch: one payment (and one grant) each
            views = list(
                await asyncio.gather(
                    *(
                        self._quote_one(user, inc, i, share, who)
                        for i, (share, who) in enumerate(zip(shares, found, strict=True))
                    )
                )
            )
        failed = [(who, v) for who, v in zip(found, views, strict=True) if isinstance(v, str) and v]
        if failed:
            if isinstance(batch, BatchView):
                await self._cancel_batch(batch.batch_id)
            else:
                await self._cancel_at_op([v.payment_id for v in views if not isinstance(v, str)])
            await ctx.say.react(user.wa_id, inc.message_id, "❌")
            who, reason = failed[0]
            text = t(lang, "several_refused", recipient=clean_name(who.label), reason=reason)
            await ctx.say.text(user.wa_id, text)
            return None
        return [
            {
                "paymentId": view.payment_id,
                "label": clean_name(who.label),
                "wallet": who.wallet_url,
                "waId": who.wa_id,
                "quote": quote_of(view, lang or "es"),
            }
            for who, view in zip(found, views, strict=True)
            if not isinstance(view, str)
        ], batch if isinstance(batch, BatchView) else None

    @staticmethod
    def _summary(
        lang: str | None, shares: list[dict[str, Any]], split_total: str | None, *, once: bool
    ) -> str:
        lines = [t(lang, "several_header", count=len(shares))]
        for share in shares:
            quote = share["quote"]
            lines.append(
                t(
                    lang,
                    "several_line",
                    what=_line(lang, share),
                    debit=quote["debit"],
                    fee=quote["fee"],
                )
            )
        total = Several._total(shares)
        if total:
            lines.append(t(lang, "several_total", total=total))
        if split_total:
            lines.append(t(lang, "several_split", total=split_total))
        lines.append(t(lang, "several_confirm_once" if once else "several_confirm"))
        return "\n".join(lines)

    @staticmethod
    def _total(shares: list[dict[str, Any]]) -> str | None:
        """What leaves the wallet for all the shares, when they are in one asset."""
        debits = [s["quote"].get("debitView") or {} for s in shares]
        assets = {d.get("assetCode") for d in debits}
        if len(assets) != 1 or None in assets:
            return None
        total = sum((_value(d.get("value")) for d in debits), Decimal(0))
        return f"{total} {assets.pop()}"

    async def tap(self, user: user_store.User, batch_id: str, confirm: bool) -> None:
        """Confirm or Cancel on a batch summary (or a typed yes while one waits)."""
        ctx, lang = self.ctx, user.language
        batch = _batch(user)
        if batch is None or batch.get("batch") != batch_id:
            await ctx.say.text(user.wa_id, t(lang, "several_gone"))
            return
        shares: list[dict[str, Any]] = list(batch["shares"])
        await ctx.forget_question(user)
        expired = any((s["quote"].get("expiresAt") or 0) < time.time() for s in shares)
        if not confirm or expired:
            await self._cancel_shares(batch)
            await ctx.say.react(user.wa_id, batch.get("source"), "✖️")
            key = "several_expired" if confirm else "cancelled_items"
            await ctx.say.text(user.wa_id, t(lang, key, items=_items(lang, shares)))
            return
        now = time.time()
        for share in shares:
            quote = share["quote"]
            await ctx.store.payments.add(
                payment_store.Payment(
                    payment_id=share["paymentId"],
                    wa_id=user.wa_id,
                    draft_id=batch_id,
                    status="awaiting_approval",
                    recipient_label=share["label"],
                    receiver_wallet=share["wallet"],
                    receiver_wa_id=share["waId"],
                    debit={"text": quote.get("debit"), "view": quote.get("debitView")},
                    receive={"text": quote.get("receive"), "view": quote.get("receiveView")},
                    react_message_id=batch.get("source"),
                    deadline=now + ctx.settings.poll_deadline_seconds,
                    next_poll_at=now + ctx.settings.poll_initial_seconds,
                    attempts=0,
                    notified=False,
                    created_at=now,
                )
            )
        if batch.get("approval"):  # one grant for the batch: one approval for all
            items = t(lang, "several_all", count=len(shares), total=self._total(shares) or "")
            await ctx.say.url_button(
                user.wa_id,
                t(lang, "several_approve", what=items),
                t(lang, "btn_approve"),
                batch["approval"],
            )
            ctx.wake_poller()
            return
        for share in shares:  # one grant per payment: one approval each
            await ctx.say.url_button(
                user.wa_id,
                t(lang, "several_approve", what=_line(lang, share)),
                t(lang, "btn_approve"),
                share["quote"]["confirmationUrl"],
            )
        ctx.wake_poller()

    async def confirm_typed(self, user: user_store.User) -> bool:
        """'sí' while a batch summary waits: the same as its Confirm button."""
        batch = _batch(user)
        if batch is None or "batch" not in batch:  # still asking for a wallet: no summary yet
            return False
        await self.tap(user, str(batch.get("batch")), True)
        return True

    async def cancel(self, user: user_store.User) -> bool:
        """'cancel' while a batch summary waits: every quoted share is cancelled and named."""
        batch = _batch(user)
        if batch is None:
            return False
        if "batch" not in batch:  # still asking for a wallet: nothing quoted yet
            await self.ctx.forget_question(user)
            lang, asset = user.language, user.wallet_asset
            items = "; ".join(
                t(lang, "what", amount=amount_text(w["amount"], asset), recipient=w["label"])
                for w in batch["wanted"]
            )
            await self.ctx.say.text(user.wa_id, t(lang, "cancelled_items", items=items))
            return True
        await self.tap(user, str(batch.get("batch")), False)
        return True

    async def _cancel_shares(self, batch: dict[str, Any]) -> None:
        """Cancel a summary's payments at op_api: the batch (with its grant), or each one."""
        if batch.get("opBatch"):
            await self._cancel_batch(str(batch["opBatch"]))
        else:
            await self._cancel_at_op([s["paymentId"] for s in batch["shares"]])

    async def _cancel_batch(self, batch_id: str) -> None:
        try:
            await self.ctx.op.cancel_batch(batch_id)
        except Unavailable:
            logger.warning("op_api unavailable while cancelling a batch")

    async def _cancel_at_op(self, payment_ids: list[str]) -> None:
        for payment_id in payment_ids:
            try:
                await self.ctx.op.cancel_payment(payment_id)
            except Unavailable:
                logger.warning("op_api unavailable while cancelling a batch quote")
