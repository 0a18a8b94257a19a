"""What llm_back reads beyond "pay one person once" (issue 16), so nothing is silently dropped or
misread: several recipients, a repeat ("cada mes"), a money request ("cóbrale 50 a Bob") and an
amount that cannot be used ("manda -5 a Bob"). `Readings.take` handles such a reading, or says
it is an ordinary payment for `Payments.on_intent`.
"""

from __future__ import annotations

from shared.contracts import Intent, UnderstandResponse
from ws_bot import lateness, several, user_store
from ws_bot.cadence import every
from ws_bot.confirming import Confirmations
from ws_bot.dialog import Context
from ws_bot.incoming import Incoming
from ws_bot.paying import Payments
from ws_bot.records import Records
from ws_bot.requests_flow import MoneyRequests
from ws_bot.requests_flow import owns as request_owns
from ws_bot.schedules import Schedules
from ws_bot.several import Several
from ws_bot.texts import t

PAYMENT_INTENTS = (Intent.SEND_PAYMENT.value, Intent.REQUEST_PAYMENT.value)


class Readings:
    def __init__(
        self, ctx: Context, payments: Payments, confirmations: Confirmations, records: Records
    ) -> None:
        self.ctx = ctx
        self.payments = payments
        self.confirmations = confirmations
        self.records = records
        self.several = Several(ctx, payments)
        self.requests = MoneyRequests(ctx, payments)
        self.schedules = Schedules(ctx, payments.book)

    async def take(self, user: user_store.User, inc: Incoming, answer: UnderstandResponse) -> bool:
        """Handle a reading the single-payment dialogue would misread; False: not one of those.
        A repeating payment is a schedule (issue 17); a repeating request is one request now,
        after saying so."""
        if answer.intent not in PAYMENT_INTENTS:
            return False
        ctx, lang = self.ctx, user.language
        if await lateness.refuse(ctx.say, lang, inc):  # an old message never starts money moving
            return True
        if answer.recurrence and answer.intent == Intent.SEND_PAYMENT:
            await self.schedules.start(user, inc, answer)  # issue 17: a scheduled payment
            return True
        if answer.recurrence:
            # No repeating requests: say so plainly; what follows is one request, now,
            # behind the usual summary and its Confirm button (the user's choice).
            text = t(lang, "no_recurrence", every=every(lang, answer.recurrence))
            await ctx.say.text(user.wa_id, text)
        if answer.intent == Intent.REQUEST_PAYMENT:  # Bob is asked to pay; never a payment
            await self.requests.start(user, inc, answer)
            return True
        if answer.amount_issue is not None:
            await self._amount_issue(user, inc, answer)
            return True
        if answer.recipients and len(answer.recipients) > 1:
            await self.several.start(user, inc, answer)
            return True
        return False

    async def _amount_issue(
        self, user: user_store.User, inc: Incoming, answer: UnderstandResponse
    ) -> None:
        """llm_back's explanation and question ("-5 is negative: how much?"); the recipient is
        kept in a new draft, so the next bare amount goes on with the payment."""
        await self.payments._new_draft(user, inc, None, answer.destinatario)
        await self.ctx.say.text(user.wa_id, answer.response)

    @staticmethod
    def owns(tap_id: str) -> bool:
        """Whether a PayTap is one of ours (a batch summary, a request) rather than a draft's."""
        return several.owns(tap_id) or request_owns(tap_id)

    async def tap(self, user: user_store.User, inc: Incoming, tap_id: str, yes: bool) -> None:
        if several.owns(tap_id):
            await self.several.tap(user, tap_id, yes)
        else:
            await self.requests.tap(user, inc, tap_id, yes)

    async def _newest_is_a_draft(self, user: user_store.User) -> bool:
        """Whether a single payment's summary came after our batch / request summary (then a
        typed "sí" is for that payment, as the newest summary always is)."""
        draft = await self.ctx.store.drafts.current(user.wa_id)
        asked_at = float((user.pending or {}).get("at") or 0)
        return draft is not None and draft.updated_at > asked_at

    async def confirm_typed(self, user: user_store.User, inc: Incoming) -> bool:
        """'sí' at a batch, request or schedule summary: its Confirm; False when none is
        waiting."""
        if await self.schedules.confirm_typed(user, inc):  # when it is the newest summary
            return True
        if await self._newest_is_a_draft(user):
            return False
        return await self.several.confirm_typed(user) or await self.requests.answer_typed(
            user, True
        )

    async def cancel(self, user: user_store.User) -> None:
        """'cancel': a batch, request or schedule summary waiting for its confirmation, and
        the usual (an open draft, payments awaiting approval)."""
        scheduled = await self.schedules.cancel_proposed(user)
        ours = await self.several.cancel(user) or await self.requests.answer_typed(user, False)
        if not (ours or scheduled) or await self.ctx.store.drafts.current(user.wa_id) is not None:
            await self.confirmations.cancel(user)

    async def history(self, user: user_store.User) -> None:
        """The payments' history, then the money requests made and received."""
        await self.records.history(user)
        lines = await self.requests.history_lines(user)
        if lines:
            await self.ctx.say.text(user.wa_id, "\n".join(lines))
