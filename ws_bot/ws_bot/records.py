"""What people ask about their payments: history (sent and received), the last one's status,
and their balance (which Open Payments does not let anyone read: they are sent to their wallet).
"""

from __future__ import annotations

from ws_bot import draft_store, user_store
from ws_bot.dialog import Context
from ws_bot.phrases import clean_name
from ws_bot.summary import day, status_word, what
from ws_bot.texts import t

D = draft_store.DraftStatus


class Records:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def history(self, user: user_store.User) -> None:
        ctx, lang = self.ctx, user.language
        sent = await ctx.store.payments.recent(user.wa_id)
        received = await ctx.store.payments.received(user.wa_id)
        if not sent and not received:
            await ctx.menu(user, t(lang, "history_empty"))
            return
        lines = [t(lang, "history_header")] if sent else []
        for p in sent:
            amount = (p.debit or {}).get("text") or "—"
            lines.append(f"• {day(p.created_at)} · {amount} → {p.recipient_label} · "
                         f"{status_word(lang, p)}")  # fmt: skip
        if received:
            lines.append(t(lang, "history_received"))
        for p in received:
            sender = await ctx.store.users.get(p.wa_id)
            name = clean_name(sender.name) if sender and sender.name else f"+{p.wa_id}"
            amount = (p.receive or {}).get("text") or "—"
            lines.append(f"• {day(p.created_at)} · {amount} ← {name}")
        await ctx.say.text(user.wa_id, "\n".join(lines))

    async def status(self, user: user_store.User) -> None:
        ctx, lang = self.ctx, user.language
        last = await ctx.store.payments.recent(user.wa_id, limit=1)
        if not last:
            draft = await ctx.store.drafts.current(user.wa_id)
            if draft is not None and draft.status == D.QUOTED:
                await ctx.say.text(user.wa_id, t(lang, "already_waiting", what=what(lang, draft)))
            else:
                await ctx.say.text(user.wa_id, t(lang, "status_none"))
            return
        p = last[0]
        amount = (p.receive or {}).get("text") or (p.debit or {}).get("text") or "—"
        payment = t(lang, "what", amount=amount, recipient=p.recipient_label)
        body = t(
            lang, "status_last", what=payment, status=status_word(lang, p), when=day(p.created_at)
        )
        await ctx.say.text(user.wa_id, body)

    async def balance(self, user: user_store.User) -> None:
        await self.ctx.say.text(user.wa_id, t(user.language, "balance", url=user.wallet_url))
