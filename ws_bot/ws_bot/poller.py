"""Durable polling of op_api until each confirmed payment reaches a final status.

Rows live in `ws_payments` with their next poll time, so a restart resumes where it stopped.
A lease (owner + expiry) lets several replicas share the table without polling a payment twice
at once; `finish_payment` is a conditional update, so the user is told exactly once.
The backoff is hand-written rather than tenacity's because the schedule must survive restarts
(it is a column, not a sleeping coroutine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from shared.contracts import PaymentStatus, PaymentView
from shared.request_id import request_id_scope
from ws_bot import store as st
from ws_bot import templates
from ws_bot.backends import OpClient, Refused, Unavailable
from ws_bot.graph import Messenger
from ws_bot.metrics import PAYMENTS_FINAL
from ws_bot.notices import Notifier
from ws_bot.settings import Settings
from ws_bot.texts import plain_reason, short_ref, t

logger = logging.getLogger(__name__)

_REACTION = {
    "completed": "✅",
    "rejected": "❌",
    "expired": "⌛",
    "failed": "⚠️",
    "cancelled": "✖️",
    "unknown": "❔",
}


def _money(view: PaymentView, attr: str, fallback: str) -> str:
    amount = getattr(view, attr)
    return f"{amount.value} {amount.asset_code}" if amount is not None else fallback


class Poller:
    def __init__(self, settings: Settings, store: st.Store, op: OpClient, say: Messenger) -> None:
        self.settings = settings
        self.store = store
        self.op = op
        self.say = say
        self.notices = Notifier(store, say)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="payment-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _next_delay(self, attempts: int) -> float:
        s = self.settings
        return float(min(s.poll_initial_seconds * (1.5**attempts), s.poll_max_seconds))

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                logger.exception("poller tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poller_tick_seconds)
            self._wake.clear()

    async def tick(self) -> None:
        owner = self.settings.replica_id
        due = await self.store.claim_due_payments(owner, self.settings.poll_lease_seconds)
        await asyncio.gather(*(self._poll(p, owner) for p in due))

    async def _poll(self, payment: st.Payment, owner: str) -> None:
        with request_id_scope(f"poll-{payment.payment_id}"[:128]):
            now = time.time()
            try:
                view = await self.op.confirm_payment(payment.payment_id)
            except Refused as exc:
                logger.warning("op_api refused a poll", extra={"detail": str(exc)})
                if exc.status == 404:
                    await self._final(payment, "failed", None)
                    return
                view = None
            except Unavailable:
                logger.warning("op_api unavailable while polling")
                view = None
            if view is not None and view.status.is_final:
                status = view.status.value
                if view.status == PaymentStatus.FAILED and view.failure_reason == "cancelled":
                    status = "cancelled"  # the user cancelled it in the chat: not a failure
                await self._final(payment, status, view)
                return
            if now >= payment.deadline and await self._give_up(payment, view, now):
                return
            status = view.status.value if view is not None else payment.status
            await self.store.reschedule_payment(
                payment.payment_id, owner, status, now + self._next_delay(payment.attempts)
            )

    async def _give_up(self, payment: st.Payment, view: PaymentView | None, now: float) -> bool:
        """Past the deadline. An unapproved payment is cancelled and reported expired. One
        already approved may still be settling, and an unreachable op_api may come back: those
        are followed for one more deadline's length (money that may move is never called
        "expired"), then the user is told we could not confirm. False means: keep polling."""
        awaiting = view is not None and view.status == PaymentStatus.AWAITING_APPROVAL
        if awaiting and await self.op.cancel_payment(payment.payment_id):
            await self._final(payment, "expired", view)
            return True
        if now < payment.deadline + self.settings.poll_deadline_seconds:
            return False
        await self._final(payment, "unknown", view)
        return True

    async def _final(self, payment: st.Payment, status: str, view: PaymentView | None) -> None:
        values = {}
        if view is not None and view.debit_amount is not None:
            values["debit"] = {
                "text": _money(view, "debit_amount", "—"),
                "view": view.debit_amount.model_dump(by_alias=True),
            }
        if not await self.store.finish_payment(payment.payment_id, status, **values):
            return  # another replica (or a cancel) already told the user
        PAYMENTS_FINAL.labels(status).inc()
        await self._notify(payment, status, view)

    async def _notify(self, payment: st.Payment, status: str, view: PaymentView | None) -> None:
        user = await self.store.get_user(payment.wa_id)
        lang = user.language if user else None
        debit = _money(view, "debit_amount", "") if view else ""
        debit = debit or str((payment.debit or {}).get("text") or "—")
        receive = _money(view, "receive_amount", "") if view else ""
        receive = receive or str((payment.receive or {}).get("text") or "—")
        recipient = payment.recipient_label or payment.receiver_wallet
        values = {"recipient": recipient, "debit": debit, "receive": receive}
        if status == PaymentStatus.COMPLETED:
            body = t(lang, "receipt", ref=short_ref(payment.payment_id), **values)
        elif status == PaymentStatus.FAILED:
            reason = (
                f" ({plain_reason(lang, view.failure_reason)})"
                if view and view.failure_reason
                else ""
            )
            body = t(lang, "failed", reason=reason, **values)
        elif status in (PaymentStatus.REJECTED, PaymentStatus.EXPIRED):
            body = t(lang, status, **values)
        elif status == "cancelled":
            what = t(lang, "what", amount=receive, recipient=recipient)
            body = t(lang, "cancelled_items", items=what)
        else:
            body = t(lang, "unknown_final", **values)
        # A payment can end long after the user last wrote: then only a template reaches them.
        await self.notices.notify(
            payment.wa_id,
            lang,
            body,
            templates.PAYMENT_RESULT,
            {"recipient": recipient, "result": body},
        )
        await self.say.react(payment.wa_id, payment.react_message_id, _REACTION.get(status, "❔"))
        sender = (user.name if user and user.name else None) or f"+{payment.wa_id}"
        if status == PaymentStatus.COMPLETED and payment.receiver_wa_id:
            receiver = await self.store.get_user(payment.receiver_wa_id)
            if receiver is not None and receiver.wa_id != payment.wa_id:
                received = {"sender": sender, "amount": receive}
                await self.notices.notify(
                    receiver.wa_id,
                    receiver.language,
                    t(receiver.language, "recipient_notice", **received),
                    templates.PAYMENT_RECEIVED,
                    received,
                )
        staff_values = {
            "status": status,
            "sender": sender,
            "recipient": recipient,
            "amount": debit,
            "ref": payment.payment_id,
        }
        for staff in self.settings.staff:
            await self.notices.notify(
                staff,
                "en",
                t("en", "staff_notice", **staff_values),
                templates.STAFF_NOTICE,
                staff_values,
            )
