"""Money requests in the chat: "cóbrale 50 a Bob" / "request 20 from Alice".

1. The requester confirms a summary (kind "request" in `users.pending`).
2. op_api opens an incoming payment at the REQUESTER's wallet for exactly that amount.
3. A payer on Paguito is asked in WhatsApp (Pay / Decline buttons inside the 24-hour window,
   the `paguito_money_request` template outside it); for anyone else the requester gets the
   incoming payment's URL to share (any Open Payments wallet can pay it).
4. Pay: the usual summary, confirmation and approval (`Payments.confirm`), with that incoming
   payment as the receiver. Decline: op_api closes it.
5. A sweep reads each open request at op_api and tells the requester (and the payer) when it
   is paid, declined or expired — exactly once (`RequestStore.finish`).

Never a payment from the requester: nothing here sends their money.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx
from pydantic import ValidationError

from shared.contracts import (
    FINAL_STATUSES,
    PaymentRequestCreate,
    PaymentRequestStatus,
    PaymentRequestView,
    SendPaymentRequest,
    UnderstandResponse,
)
from shared.request_id import request_id_scope
from ws_bot import draft_store, phrases, templates, user_store, window
from ws_bot.addressbook import Recipient
from ws_bot.backends import Refused, Unavailable, _detail, _post
from ws_bot.buttons import PayTap
from ws_bot.dialog import Context
from ws_bot.incoming import Incoming
from ws_bot.notices import Notifier
from ws_bot.paying import Payments
from ws_bot.periodic import Periodic
from ws_bot.phrases import clean_name
from ws_bot.request_store import MoneyRequest, RequestStatus, RequestStore
from ws_bot.summary import amount_text, link_line, quote_of
from ws_bot.texts import plain_reason, t

logger = logging.getLogger(__name__)
KIND = "request"
ASK = "reqask-"  # the requester's Confirm / Cancel on the request summary
ANSWER = "reqpay-"  # the payer's Pay / Decline
_PAY_WORDS = frozenset({"pagar", "pago", "pay", "pay it", "rechazar", "decline"})
_OUTCOME = {
    PaymentRequestStatus.PAID: RequestStatus.PAID,
    PaymentRequestStatus.DECLINED: RequestStatus.DECLINED,
    PaymentRequestStatus.EXPIRED: RequestStatus.EXPIRED,
}


def owns(tap_id: str) -> bool:
    return tap_id.startswith((ASK, ANSWER))


def _asked(user: user_store.User) -> dict[str, Any] | None:
    pending = user.pending or {}
    return pending if pending.get("kind") == KIND else None


def _who(user: user_store.User | None, wa_id: str) -> str:
    return (clean_name(user.name) if user and user.name else "") or f"+{wa_id}"


class MoneyRequests:
    def __init__(self, ctx: Context, payments: Payments) -> None:
        self.ctx = ctx
        self.payments = payments
        self.rows = RequestStore(ctx.store)
        self.notices = Notifier(ctx.store, ctx.say)
        self.following = Periodic("money-requests", self.sweep, self._pause)

    # ------------------------------------------------------------------ op_api

    async def _op(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call to op_api's /payment-requests (Unavailable / Refused like OpClient's)."""
        http = self.ctx.op.http
        if method == "POST":
            response = await _post(http, path, body or {})
        else:
            try:
                response = await http.request(method, path)
            except httpx.HTTPError as exc:  # the service did not answer
                raise Unavailable(f"{path}: {type(exc).__name__}") from exc
            if response.status_code >= 500:
                raise Unavailable(f"{path}: HTTP {response.status_code}")
            if response.status_code >= 400:
                raise Refused(response.status_code, _detail(response))
        try:
            return PaymentRequestView.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise Unavailable("op_api answered something unreadable") from exc

    # ------------------------------------------------------------------ the requester

    async def start(self, user: user_store.User, inc: Incoming, answer: UnderstandResponse) -> None:
        """'cóbrale 50 a Bob': a summary to confirm; nothing is asked of Bob before that."""
        ctx, lang = self.ctx, user.language
        if await ctx.linked(user) is None:  # issue 17: only a verified wallet asks to be paid
            return
        payer = clean_name(answer.destinatario or "")
        if answer.recipients and len(answer.recipients) > 1:  # never ask only the first
            names = ", ".join(clean_name(s.destinatario) for s in answer.recipients)
            await ctx.say.text(user.wa_id, t(lang, "request_one_at_a_time", names=names))
            return
        if answer.monto is None or not payer:
            # llm_back's explanation names the problem (negative, too many decimals…).
            text = answer.response if answer.amount_issue else t(lang, "request_incomplete")
            await ctx.say.text(user.wa_id, text)
            return
        if answer.currency and user.wallet_asset and answer.currency.upper() != user.wallet_asset:
            await ctx.say.text(user.wa_id, t(lang, "request_currency", asset=user.wallet_asset))
            return
        found = await self.payments.book.find_recipient(user, answer.destinatario or payer)
        if isinstance(found, list):
            await ctx.say.text(user.wa_id, t(lang, "request_which", name=payer))
            return
        payer_wa = found.wa_id if isinstance(found, Recipient) else None
        if isinstance(found, Recipient):
            payer = clean_name(found.label) or payer
        if payer_wa == user.wa_id or (
            isinstance(found, Recipient) and found.wallet_url == user.wallet_url
        ):
            await ctx.say.text(user.wa_id, t(lang, "request_self"))
            return
        amount = amount_text(answer.monto, user.wallet_asset)
        tap_id = ASK + uuid.uuid4().hex
        pending = {
            "kind": KIND,
            "tap": tap_id,
            "amount": answer.monto,
            "payer": payer,
            "payerWa": payer_wa,
            "source": inc.message_id,
            "at": time.time(),
        }
        await ctx.store.users.update(user.wa_id, pending=pending)
        user.pending = pending
        how = t(lang, "request_how_chat" if payer_wa else "request_how_link", payer=payer)
        await ctx.say.buttons(
            user.wa_id,
            t(lang, "request_summary", amount=amount, payer=payer, how=how),
            [
                (t(lang, "btn_confirm"), PayTap(tap_id, True).to_str()),
                (t(lang, "btn_cancel"), PayTap(tap_id, False).to_str()),
            ],
        )

    async def tap(self, user: user_store.User, inc: Incoming, tap_id: str, yes: bool) -> None:
        if tap_id.startswith(ANSWER):
            await self._payer_answer(user, inc, tap_id.removeprefix(ANSWER), yes)
        else:
            await self._requester_answer(user, tap_id, yes)

    async def _requester_answer(self, user: user_store.User, tap_id: str, yes: bool) -> None:
        asked = _asked(user)
        if asked is None or asked.get("tap") != tap_id:
            await self.ctx.say.text(user.wa_id, t(user.language, "several_gone"))
            return
        await self.ctx.forget_question(user)
        if not yes:
            text = t(user.language, "request_not_sent", payer=asked.get("payer"))
            await self.ctx.say.text(user.wa_id, text)
            return
        await self._send(user, asked)

    async def answer_typed(self, user: user_store.User, yes: bool) -> bool:
        """'sí' / 'cancel' while a request summary waits: its Confirm / Cancel."""
        asked = _asked(user)
        if asked is None:
            return False
        await self._requester_answer(user, str(asked.get("tap")), yes)
        return True

    async def _send(self, user: user_store.User, asked: dict[str, Any]) -> None:
        ctx, lang = self.ctx, user.language
        assert user.wallet_url
        payer, payer_wa = str(asked.get("payer")), asked.get("payerWa")
        ttl = ctx.settings.payment_request_ttl_seconds
        try:
            body = PaymentRequestCreate(
                requester_wallet_url=user.wallet_url,
                amount=str(asked.get("amount")),
                description=f"Paguito: {_who(user, user.wa_id)} → {payer}"[:256],
                expires_in_seconds=ttl,
            )
            view = await self._op("POST", "/payment-requests", body.model_dump(by_alias=True))
        except (ValueError, ValidationError, Refused) as exc:
            reason = plain_reason(lang, str(exc))
            await ctx.say.text(user.wa_id, t(lang, "request_failed", reason=reason))
            return
        except Unavailable:
            await ctx.say.text(user.wa_id, t(lang, "op_down"))
            return
        now = time.time()
        row = MoneyRequest(
            id=uuid.uuid4().hex,
            requester=user.wa_id,
            payer=str(payer_wa) if payer_wa else None,
            payer_label=payer,
            amount=view.amount.model_dump(by_alias=True),
            op_request_id=view.request_id,
            incoming_payment_url=view.incoming_payment_url,
            status=RequestStatus.ASKED,
            created_at=now,
            expires_at=view.expires_at.timestamp() if view.expires_at else now + ttl,
        )
        await self.rows.add(row, now + self._every())
        await ctx.say.react(user.wa_id, asked.get("source"), "📨")
        if row.payer:
            await self._ask_payer(user, row)
            await ctx.say.text(
                user.wa_id, t(lang, "request_sent", amount=row.amount_text, payer=payer)
            )
        else:
            text = t(
                lang,
                "request_link",
                amount=row.amount_text,
                payer=payer,
                url=view.incoming_payment_url,
            )
            await ctx.say.text(user.wa_id, text)
        self.following.start()

    async def _ask_payer(self, requester: user_store.User, row: MoneyRequest) -> None:
        """Pay / Decline inside the payer's 24-hour window; the template outside it."""
        assert row.payer
        payer = await self.ctx.store.users.get(row.payer)
        lang = payer.language if payer else None
        values = {"requester": _who(requester, requester.wa_id), "amount": row.amount_text}
        last = await self.ctx.store.users.last_inbound(row.payer)
        if not window.is_open(last, time.time()):
            chosen = templates.get(templates.MONEY_REQUEST, lang)
            try:
                await self.notices.send_template(row.payer, chosen, values)
            except Exception:
                logger.warning("money request template not delivered", exc_info=True)
            return
        await self._offer(row, lang, values["requester"])

    async def _offer(self, row: MoneyRequest, lang: str | None, requester: str) -> None:
        """Pay / Decline, shown to the payer once."""
        assert row.payer
        if not await self.rows.mark_offered(row.id):
            return
        values = {"requester": requester, "amount": row.amount_text}
        await self.ctx.say.buttons(
            row.payer,
            t(lang, "request_to_payer", **values),
            [
                (t(lang, "btn_pay_request"), PayTap(ANSWER + row.id, True).to_str()),
                (t(lang, "btn_decline_request"), PayTap(ANSWER + row.id, False).to_str()),
            ],
        )

    async def offer_waiting(self, user: user_store.User, text: str) -> bool:
        """A payer writing after the template ("Reply to this message to pay"): the Pay /
        Decline buttons of their requests. True when the message was just that reply."""
        rows = await self.rows.not_offered(user.wa_id)
        for row in rows:
            requester = await self.ctx.store.users.get(row.requester)
            await self._offer(row, user.language, _who(requester, row.requester))
        return bool(rows) and (phrases.is_yes(text) or phrases.fold(text) in _PAY_WORDS)

    # ------------------------------------------------------------------ the payer

    async def _payer_answer(
        self, user: user_store.User, inc: Incoming, row_id: str, pay: bool
    ) -> None:
        ctx, lang = self.ctx, user.language
        row = await self.rows.get(row_id)
        if row is None or row.payer != user.wa_id:
            await ctx.say.text(user.wa_id, t(lang, "several_gone"))
            return
        requester = await ctx.store.users.get(row.requester)
        name = _who(requester, row.requester)
        if row.status != RequestStatus.ASKED:
            state = t(lang, f"request_status_{row.status.value}")
            await ctx.say.text(user.wa_id, t(lang, "request_closed", status=state))
            return
        if not pay:
            await self._decline(user, row, name)
            return
        if requester is None or not requester.wallet_url or not user.wallet_url:
            await ctx.say.text(user.wa_id, t(lang, "several_gone"))
            return
        await self._quote(user, inc, row, requester.wallet_url, name)

    async def _decline(self, user: user_store.User, row: MoneyRequest, name: str) -> None:
        lang = user.language
        try:
            await self._op("DELETE", f"/payment-requests/{row.op_request_id}")
        except (Refused, Unavailable) as exc:
            logger.warning("could not decline at op_api", extra={"detail": str(exc)})
            await self.ctx.say.text(user.wa_id, t(lang, "op_down"))
            return
        await self.ctx.say.text(
            user.wa_id, t(lang, "request_you_declined", requester=name, amount=row.amount_text)
        )
        await self._outcome(row, RequestStatus.DECLINED)

    async def _quote(
        self, user: user_store.User, inc: Incoming, row: MoneyRequest, wallet: str, name: str
    ) -> None:
        """The usual quoted draft and summary, paying the request's incoming payment; the
        confirmation and approval are `Payments.confirm`'s."""
        ctx, lang = self.ctx, user.language
        link = await ctx.linked(user)
        if link is None:  # issue 17: only a verified wallet pays
            return
        assert user.wallet_url
        try:
            view = await ctx.op.send_payment(
                SendPaymentRequest(
                    sender_wallet_url=user.wallet_url,
                    receiver_wallet_url=wallet,
                    amount=str(row.amount.get("value")),
                    amount_type="receive",
                    asset_code=row.amount.get("assetCode"),
                    idempotency_key=f"request:{row.id}:{inc.message_id}"[:256],
                    description=f"Paguito: {_who(user, user.wa_id)} → {name}"[:256],
                    incoming_payment_url=row.incoming_payment_url,
                    link_id=link.id if link.one_tap else None,  # within the allowance: one tap
                )
            )
        except Unavailable:
            await ctx.say.text(user.wa_id, t(lang, "op_down"))
            return
        except (Refused, ValueError) as exc:
            reason = plain_reason(lang, str(exc))
            await ctx.say.text(user.wa_id, t(lang, "request_cannot_pay", reason=reason))
            return
        if view.status in FINAL_STATUSES or not (view.confirmation_url or view.link_id):
            reason = plain_reason(lang, view.failure_reason or view.status.value)
            await ctx.say.text(user.wa_id, t(lang, "request_cannot_pay", reason=reason))
            return
        await ctx.heed_fallback(user, link.id, view)
        quote = quote_of(view, lang or "es", (link.allowance or {}).get("interval"))
        # The requester hears of the payment from the sweep (once), not as a plain transfer.
        draft = await self.payments._new_draft(
            user, inc, str(row.amount.get("value")), name, receiver_wallet=wallet
        )
        await ctx.store.drafts.update(
            draft.id,
            (draft_store.COLLECTING,),
            status=draft_store.QUOTED,
            payment_id=view.payment_id,
            quote=quote,
            currency=row.amount.get("assetCode"),
        )
        body = t(
            lang,
            "summary",
            recipient=name,
            debit=quote["debit"],
            receive=quote["receive"],
            fee=quote["fee"],
            rate=quote["rate"],
            wallet="",
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

    # ------------------------------------------------------------------ outcomes

    def _every(self) -> float:
        return float(self.ctx.settings.poll_max_seconds)

    async def _pause(self) -> float:
        return float(self.ctx.settings.poller_tick_seconds)

    async def sweep(self) -> None:
        """Read every open request that is due at op_api; tell its outcome once."""
        now = time.time()
        for row in await self.rows.due(now, now + self._every()):
            with request_id_scope(f"request-{row.id}"[:128]):
                try:
                    view = await self._op("GET", f"/payment-requests/{row.op_request_id}")
                except (Refused, Unavailable) as exc:
                    logger.warning("money request not readable", extra={"detail": str(exc)})
                    if isinstance(exc, Refused) and exc.status == 404 and now > row.expires_at:
                        await self._outcome(row, RequestStatus.EXPIRED)  # gone, and past due
                    continue
                outcome = _OUTCOME.get(view.status)
                if outcome is not None:
                    await self._outcome(row, outcome)

    async def _outcome(self, row: MoneyRequest, status: RequestStatus) -> None:
        if not await self.rows.finish(row.id, status):
            return  # already told
        requester = await self.ctx.store.users.get(row.requester)
        lang = requester.language if requester else None
        values = {"amount": row.amount_text, "payer": row.payer_label}
        body = t(lang, f"request_{status.value}", **values)
        await self.notices.notify(
            row.requester,
            lang,
            body,
            templates.PAYMENT_RESULT,
            {"recipient": row.payer_label, "result": body},
        )
        if status == RequestStatus.EXPIRED and row.payer:
            payer = await self.ctx.store.users.get(row.payer)
            plang = payer.language if payer else None
            text = t(
                plang,
                "request_expired_payer",
                requester=_who(requester, row.requester),
                amount=row.amount_text,
            )
            await self.notices.notify(
                row.payer,
                plang,
                text,
                templates.PAYMENT_RESULT,
                {"recipient": _who(requester, row.requester), "result": text},
            )

    # ------------------------------------------------------------------ history

    async def history_lines(self, user: user_store.User) -> list[str]:
        lang = user.language
        rows = await self.rows.of_user(user.wa_id)
        if not rows:
            return []
        lines = [t(lang, "history_requests")]
        for r in rows:
            day = time.strftime("%Y-%m-%d", time.gmtime(r.created_at))
            state = t(lang, f"request_status_{r.status.value}")
            if r.requester == user.wa_id:
                lines.append(f"• {day} · {r.amount_text} ⇠ {r.payer_label} · {state}")
            else:
                requester = await self.ctx.store.users.get(r.requester)
                who = _who(requester, r.requester)
                lines.append(f"• {day} · {r.amount_text} ⇢ {who} · {state}")
        return lines
