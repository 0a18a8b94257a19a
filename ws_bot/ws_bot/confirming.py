"""Confirming and cancelling: the Confirm button and a typed "sí" win the same conditional
update exactly once; a replaced, cancelled or expired summary is refused naming the payment;
"cancel" cancels the draft and every payment still awaiting approval, naming each.

A one-tap payment (issue 17: within the link's allowance) is paid by the winner of that same
update with `POST /payments/{id}/authorize`, so one Confirm authorizes it once however many
taps, replays or replicas race; op_api's authorize is idempotent for the replay of a crash."""

from __future__ import annotations

import logging
import time
from typing import Any

from shared.contracts import PaymentStatus
from ws_bot import draft_store, payment_store, user_store
from ws_bot.backends import Refused, Unavailable
from ws_bot.dialog import Context
from ws_bot.incoming import Incoming
from ws_bot.metrics import BACKEND_UNAVAILABLE
from ws_bot.paying import Payments
from ws_bot.summary import link_line, one_tap, what
from ws_bot.texts import plain_reason, short_ref, t

logger = logging.getLogger(__name__)

D = draft_store.DraftStatus


class Confirmations:
    def __init__(self, ctx: Context, payments: Payments) -> None:
        self.ctx = ctx
        self.payments = payments

    async def confirm(self, user: user_store.User, inc: Incoming, draft_id: str) -> None:
        """Exactly one confirmation wins the conditional update; the others are told why not."""
        ctx, lang = self.ctx, user.language
        draft = await ctx.store.drafts.get(draft_id)
        if draft is None or draft.wa_id != user.wa_id:
            await ctx.say.text(user.wa_id, t(lang, "draft_gone"))
            return
        expires = (draft.quote or {}).get("expiresAt")
        if draft.status == D.QUOTED and (draft.stale or (expires and expires < time.time())):
            if await ctx.store.drafts.update(draft.id, (D.QUOTED,), status=D.CANCELLED):
                await self.ctx.cancel_at_op(draft.payment_id)
            await ctx.say.text(user.wa_id, t(lang, "draft_expired", what=what(lang, draft)))
            return
        if draft.status == D.QUOTED and await ctx.linked(user) is None:
            return  # issue 17: unlinked since the summary; the user is offered the link
        won = await ctx.store.drafts.update(
            draft_id, (D.QUOTED,), status=D.CONFIRMED, confirmed_by=inc.message_id
        )
        if not won:
            draft = await ctx.store.drafts.get(draft_id)
            assert draft is not None
            # The same tap processed again after a crash is still the winner.
            if not (draft.status == D.CONFIRMED and draft.confirmed_by == inc.message_id):
                await self._not_confirmable(user, draft)
                return
        assert draft.payment_id
        assert draft.quote is not None
        await ctx.forget_question(user)
        now = time.time()
        row = payment_store.Payment(
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
            deadline=now + ctx.settings.poll_deadline_seconds,
            next_poll_at=now + ctx.settings.poll_initial_seconds,
            attempts=0,
            notified=False,
            created_at=now,
        )
        if one_tap(draft.quote):
            # Followed from the status authorize leaves it in, so that op_api sending it back
            # to its own approval later (the wallet refused the grant) is a change the poller
            # sees. A crash before `add` replays this tap: authorize answers the same again.
            status = await self._authorize(user, draft)
            if status is None:
                return
            row.status = status
            await ctx.store.payments.add(row)
        else:
            await ctx.store.payments.add(row)
            await self._send_approval(user, draft, draft.quote)
        ctx.wake_poller()

    async def _send_approval(
        self, user: user_store.User, draft: draft_store.Draft, quote: dict[str, Any]
    ) -> None:
        """The approve button, saying why the wallet must approve when a link was asked."""
        lang = user.language
        body = t(lang, "approve", what=what(lang, draft))
        if line := link_line(lang, quote):
            body = f"{line}\n{body}"
        await self.ctx.say.url_button(
            user.wa_id, body, t(lang, "btn_approve"), quote["confirmationUrl"]
        )

    async def _authorize(self, user: user_store.User, draft: draft_store.Draft) -> str | None:
        """Pay a one-tap payment now; op_api may answer that the wallet must approve it after
        all (the allowance was used up or revoked meanwhile): then the approve button. The
        status to follow the payment from; None when op_api refused it (nothing to follow)."""
        ctx, lang = self.ctx, user.language
        assert draft.payment_id
        try:
            view = await ctx.op.authorize(draft.payment_id)
        except Unavailable:
            # Perhaps authorized before the answer was lost: followed, and its end told.
            BACKEND_UNAVAILABLE.labels("op_api").inc()
            await ctx.say.text(user.wa_id, t(lang, "paying_unsure", what=what(lang, draft)))
            return PaymentStatus.AWAITING_APPROVAL.value
        except Refused as exc:
            logger.warning("authorize refused", extra={"detail": str(exc)})
            reason = plain_reason(lang, str(exc))
            text = t(
                lang,
                "payment_refused",
                what=what(lang, draft),
                reason=reason,
                ref=short_ref(draft.id),
            )
            await ctx.say.text(user.wa_id, text)
            return None
        await ctx.heed_fallback(user, view.link_id or (draft.quote or {}).get("linkId"), view)
        if view.confirmation_url:
            quote = {**(draft.quote or {}), "confirmationUrl": view.confirmation_url}
            quote.update(fallback=view.fallback_reason.value if view.fallback_reason else None)
            await self._send_approval(user, draft, quote)
            return PaymentStatus.AWAITING_APPROVAL.value
        await ctx.say.text(user.wa_id, t(lang, "paying_now", what=what(lang, draft)))
        # Never a final status: the poller must see the final one as news, to tell it.
        sending = view.status == PaymentStatus.SENDING
        return (PaymentStatus.SENDING if sending else PaymentStatus.APPROVED).value

    async def _not_confirmable(self, user: user_store.User, draft: draft_store.Draft) -> None:
        lang = user.language
        key = {
            D.CONFIRMED: "already_confirmed",
            D.SUPERSEDED: "draft_superseded",
            D.CANCELLED: "draft_cancelled",
        }.get(draft.status)
        if key is None:  # still collecting: nothing was quoted yet
            await self.ctx.say.text(user.wa_id, t(lang, "nothing_to_confirm"))
            return
        await self.ctx.say.text(user.wa_id, t(lang, key, what=what(lang, draft)))

    async def confirm_live(self, user: user_store.User, inc: Incoming) -> None:
        """'sí' / 'ok' typed at a summary: the same confirmation as the button."""
        draft = await self.ctx.store.drafts.current(user.wa_id)
        if draft is not None and draft.status == D.QUOTED:
            await self.confirm(user, inc, draft.id)
        elif draft is not None:
            await self.payments.advance(user, draft, inc)  # asks again for what is still missing
        else:
            await self.ctx.say.text(user.wa_id, t(user.language, "nothing_to_confirm"))

    async def cancel_draft(self, user: user_store.User, draft_id: str) -> None:
        """The Cancel button of one summary."""
        ctx, lang = self.ctx, user.language
        draft = await ctx.store.drafts.get(draft_id)
        if draft is None or draft.wa_id != user.wa_id:
            await ctx.say.text(user.wa_id, t(lang, "draft_gone"))
            return
        if await ctx.store.drafts.update(draft.id, draft_store.OPEN_DRAFT, status=D.CANCELLED):
            await self.ctx.cancel_at_op(draft.payment_id)
            await ctx.say.react(user.wa_id, draft.source_message_id, "✖️")
            await ctx.say.text(user.wa_id, t(lang, "cancelled_items", items=what(lang, draft)))
            return
        payment = await ctx.store.payments.get(draft.payment_id) if draft.payment_id else None
        if draft.status == D.CONFIRMED and payment is not None and not payment.notified:
            # Confirmed: the payment itself, waiting at the wallet, is what to cancel.
            cancelled, waiting, told = await self._cancel_payments([payment], lang)
            await self._report(user, cancelled, waiting, told=told)
            return
        await self._not_confirmable(user, draft)

    async def cancel(self, user: user_store.User) -> None:
        """Cancel everything in flight: the open draft and every payment not yet approved,
        naming each; a payment that can no longer be cancelled is named as still waiting."""
        ctx, lang = self.ctx, user.language
        await ctx.forget_question(user)
        cancelled: list[str] = []
        draft = await ctx.store.drafts.current(user.wa_id)
        if draft is not None and await ctx.store.drafts.update(
            draft.id, draft_store.OPEN_DRAFT, status=D.CANCELLED
        ):
            await self.ctx.cancel_at_op(draft.payment_id)
            await ctx.say.react(user.wa_id, draft.source_message_id, "✖️")
            if draft.amount or draft.recipient_label:
                cancelled.append(what(lang, draft))
        more, waiting, told = await self._cancel_payments(
            await ctx.store.payments.active(user.wa_id), lang
        )
        await self._report(
            user, cancelled + more, waiting, nothing="cancelled" if draft else None, told=told
        )

    async def _cancel_payments(
        self, payments: list[payment_store.Payment], lang: str | None
    ) -> tuple[list[str], list[str], bool]:
        """Cancel payments awaiting approval: (those cancelled, those still waiting), named,
        and whether the poller already told the user of a cancellation made here."""
        cancelled: list[str] = []
        waiting: list[str] = []
        told = False
        for payment in payments:
            amount = (payment.receive or {}).get("text") or (payment.debit or {}).get("text")
            named = t(lang, "what", amount=amount or "?", recipient=payment.recipient_label)
            if await self.ctx.cancel_at_op(payment.payment_id):
                # The poller may notice the cancellation first; whichever of us finishes the
                # payment tells the user, so they hear "cancelled" exactly once.
                if await self.ctx.store.payments.finish(payment.payment_id, "cancelled"):
                    await self.ctx.say.react(payment.wa_id, payment.react_message_id, "✖️")
                    cancelled.append(named)
                else:
                    told = True
            else:
                waiting.append(named)
        return cancelled, waiting, told

    async def _report(
        self,
        user: user_store.User,
        cancelled: list[str],
        waiting: list[str],
        nothing: str | None = None,
        *,
        told: bool = False,
    ) -> None:
        """One message for what was cancelled, one naming what still waits at the wallet."""
        ctx, lang = self.ctx, user.language
        if cancelled:
            key = "cancelled_some" if waiting else "cancelled_items"
            await ctx.say.text(user.wa_id, t(lang, key, items="; ".join(cancelled)))
        if waiting:
            await ctx.say.text(user.wa_id, t(lang, "still_waiting", items="; ".join(waiting)))
        elif not cancelled and not told:  # `told`: the poller's "cancelled" was the answer
            await ctx.say.text(user.wa_id, t(lang, nothing or "nothing_to_cancel"))
