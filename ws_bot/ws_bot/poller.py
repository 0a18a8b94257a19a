"""Durable polling of op_api until each confirmed payment reaches a final status.

Rows live in `ws_payments`, so a restart resumes where it stopped. A lease (owner + expiry) lets
several replicas share the table without following a payment twice at once; `store.payments.finish`
is a conditional update, so the user is told exactly once.

Each replica follows all the payments it holds with one long poll (`POST /payments/watch`):
op_api answers as soon as one of them changes, so the request rate follows events, not the
number of payments pending, and a receipt goes out as soon as op_api sees the final state. Leases
are renewed while payments are followed. Against an op_api without that endpoint (404/405), each
payment is polled with `/confirm-payment` at growing pauses instead; that backoff is
hand-written rather than tenacity's because the schedule must survive restarts (it is a column,
not a sleeping coroutine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from shared.contracts import (
    MAX_WATCHED,
    FallbackReason,
    PaymentStatus,
    PaymentView,
    WatchAnswer,
    WatchedPayment,
    WatchRequest,
)
from shared.request_id import request_id_scope
from ws_bot import payment_store, templates
from ws_bot import store as st
from ws_bot.backends import OpClient, Refused, Unavailable
from ws_bot.graph import Messenger
from ws_bot.link_store import LinkStore
from ws_bot.metrics import PAYMENTS_FINAL
from ws_bot.notices import Notifier
from ws_bot.settings import Settings
from ws_bot.summary import link_line
from ws_bot.texts import plain_reason, short_ref, t

logger = logging.getLogger(__name__)

CLAIM_BATCH = 500  # payments claimed per query when taking up payments to follow

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
        # Until op_api answers 404 to a watch: then /confirm-payment, one payment at a time.
        self.watching = settings.op_watch
        self._following: dict[str, payment_store.Payment] = {}
        self._renewed_at = 0.0

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
            if self.watching:
                try:
                    if await self.follow():
                        continue
                except Exception:
                    logger.exception("following payments failed")
            else:
                try:
                    await self.tick()
                except Exception:
                    logger.exception("poller tick failed")
            await self._pause(self.settings.poller_tick_seconds)

    async def _pause(self, seconds: float) -> None:
        """Sleep until woken (a new payment to follow) or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    # ------------------------------------------------------------ watch mode

    async def follow(self) -> bool:
        """One round: take up new payments, renew leases, give up on overdue ones, then one
        long poll over all of them. False when there is nothing to wait on (pause first)."""
        owner, lease = self.settings.replica_id, self.settings.poll_lease_seconds
        await self._claim(owner, lease)
        await self._renew(owner, lease)
        now = time.time()
        for payment in [p for p in self._following.values() if now >= p.deadline]:
            if await self._give_up(payment, self._known(payment), None, now):
                del self._following[payment.payment_id]
        if not self._following:
            return False
        answer = await self._watch_or_wake()
        if answer is None:
            return True  # woken: a new payment joins the next long poll
        for view in answer.payments:
            await self._moved(view, owner)
        for payment_id in answer.unknown:
            gone = self._following.pop(payment_id, None)
            if gone is not None:
                logger.warning("op_api does not know a payment", extra={"payment_id": payment_id})
                await self._final(gone, "failed", None)
        return True

    async def _claim(self, owner: str, lease: float) -> None:
        """Take up every payment not leased elsewhere, due or not (following one costs no
        request), up to MAX_WATCHED: all of them before the long poll, in batches, so that
        after a restart or a takeover none waits a long poll's length per batch to be followed."""
        while (room := MAX_WATCHED - len(self._following)) > 0:
            batch = min(room, CLAIM_BATCH)
            claimed = await self.store.payments.claim_due(
                owner, lease, batch, ahead=self.settings.poll_deadline_seconds * 2
            )
            for payment in claimed:
                self._following[payment.payment_id] = payment
            if len(claimed) < batch:
                return

    async def _renew(self, owner: str, lease: float) -> None:
        """Keep the leases of the payments followed (a third of the lease before they lapse);
        drop the ones no longer ours (finished by a cancel, or taken over)."""
        if not self._following or time.time() - self._renewed_at < lease / 3:
            return
        self._renewed_at = time.time()
        held = await self.store.payments.renew_leases(owner, list(self._following), lease)
        for payment_id in set(self._following) - held:
            del self._following[payment_id]

    @staticmethod
    def _known(payment: payment_store.Payment) -> PaymentStatus:
        try:
            return PaymentStatus(payment.status)
        except ValueError:
            return PaymentStatus.AWAITING_APPROVAL

    async def _watch_or_wake(self) -> WatchAnswer | None:
        """One long poll over every payment followed; None if woken before it answered (or
        op_api could not answer: then after a pause)."""
        wait = min(self.settings.watch_wait_seconds, self.settings.poll_lease_seconds / 3)
        request = WatchRequest(
            payments=[
                WatchedPayment(payment_id=p.payment_id, status=self._known(p))
                for p in self._following.values()
            ],
            wait_seconds=wait,
        )
        with request_id_scope(f"watch-{self.settings.replica_id}"[:128]):  # op_api's log says who
            watch = asyncio.create_task(self.op.watch(request))
        woken = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait({watch, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            if not watch.done():
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
        if not watch.done() or watch.cancelled():
            self._wake.clear()
            return None
        try:
            return watch.result()
        except Refused as exc:
            if exc.status in (404, 405):  # an op_api older than the endpoint
                logger.warning("op_api has no /payments/watch: polling /confirm-payment instead")
                self.watching = False
                self._following.clear()
                await self.store.payments.release_leases(self.settings.replica_id)
                return None
            logger.warning("op_api refused a watch", extra={"detail": str(exc)})
        except Unavailable:
            logger.warning("op_api unavailable while watching payments")
        await self._pause(self.settings.poll_initial_seconds)
        return None

    async def _moved(self, view: PaymentView, owner: str) -> None:
        payment = self._following.get(view.payment_id)
        if payment is None:
            return
        with request_id_scope(f"watch-{payment.payment_id}"[:128]):
            if view.status.is_final:
                del self._following[view.payment_id]
                await self._final(payment, self._final_status(view), view)
                return
            await self._sent_back(payment, view)
            payment.status = view.status.value
            await self.store.payments.note_status(payment.payment_id, owner, payment.status)

    # ------------------------------------------------------------ /confirm-payment mode

    async def tick(self) -> None:
        owner = self.settings.replica_id
        due = await self.store.payments.claim_due(owner, self.settings.poll_lease_seconds)
        await asyncio.gather(*(self._poll(p, owner) for p in due))

    async def _poll(self, payment: payment_store.Payment, owner: str) -> None:
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
                await self._final(payment, self._final_status(view), view)
                return
            if view is not None:
                await self._sent_back(payment, view)
            known = view.status if view is not None else None
            if now >= payment.deadline and await self._give_up(payment, known, view, now):
                return
            status = view.status.value if view is not None else payment.status
            await self.store.payments.reschedule(
                payment.payment_id, owner, status, now + self._next_delay(payment.attempts)
            )

    async def _sent_back(self, payment: payment_store.Payment, view: PaymentView) -> None:
        """A one-tap payment op_api sent back to its own approval after the Confirm (issue 17:
        the wallet refused the link's grant, revoked or spent elsewhere): the approve button,
        with the reason, once (the holder of the payment's lease sees the change once)."""
        back = view.status == PaymentStatus.AWAITING_APPROVAL and view.confirmation_url
        if not back or payment.status == PaymentStatus.AWAITING_APPROVAL:
            return
        user = await self.store.users.get(payment.wa_id)
        lang = user.language if user else None
        draft = await self.store.drafts.get(payment.draft_id) if payment.draft_id else None
        link_id = (draft.quote or {}).get("linkId") if draft else None
        revoked = view.fallback_reason == FallbackReason.LINK_REVOKED
        if revoked and link_id and await LinkStore(self.store).wallet_revoked(link_id):
            await self.say.text(payment.wa_id, t(lang, "allowance_revoked"))
        amount = str((payment.receive or {}).get("text") or (payment.debit or {}).get("text"))
        what = t(lang, "what", amount=amount, recipient=payment.recipient_label)
        reason = view.fallback_reason.value if view.fallback_reason else None
        left = _money(view, "allowance_remaining", "") or None
        line = link_line(lang, {"fallback": reason, "left": left})
        body = t(lang, "approve", what=what)
        await self.say.url_button(
            payment.wa_id,
            f"{line}\n{body}" if line else body,
            t(lang, "btn_approve"),
            view.confirmation_url or "",
        )

    @staticmethod
    def _final_status(view: PaymentView) -> str:
        if view.status == PaymentStatus.FAILED and view.failure_reason == "cancelled":
            return "cancelled"  # the user cancelled it in the chat: not a failure
        return view.status.value

    async def _give_up(
        self,
        payment: payment_store.Payment,
        known: PaymentStatus | None,
        view: PaymentView | None,
        now: float,
    ) -> bool:
        """Past the deadline. An unapproved payment (`known` status) is cancelled (if op_api
        agrees) and reported expired. One already approved may still be settling, and an
        unreachable op_api may come back: those are followed for one more deadline's length
        (money that may move is never called "expired"), then the user is told we could not
        confirm. False means: keep polling."""
        awaiting = known == PaymentStatus.AWAITING_APPROVAL
        if awaiting and await self.op.cancel_payment(payment.payment_id):
            await self._final(payment, "expired", view)
            return True
        if now < payment.deadline + self.settings.poll_deadline_seconds:
            return False
        await self._final(payment, "unknown", view)
        return True

    async def _final(
        self, payment: payment_store.Payment, status: str, view: PaymentView | None
    ) -> None:
        values = {}
        if view is not None and view.debit_amount is not None:
            values["debit"] = {
                "text": _money(view, "debit_amount", "—"),
                "view": view.debit_amount.model_dump(by_alias=True),
            }
        if not await self.store.payments.finish(payment.payment_id, status, **values):
            return  # another replica (or a cancel) already told the user
        PAYMENTS_FINAL.labels(status).inc()
        await self._notify(payment, status, view)

    async def _notify(
        self, payment: payment_store.Payment, status: str, view: PaymentView | None
    ) -> None:
        user = await self.store.users.get(payment.wa_id)
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
        if status == PaymentStatus.COMPLETED:
            # Only the wallet's verified owner hears it was paid (issue 17), whoever the
            # payer's book said it was: a number that merely claimed the wallet hears nothing.
            receiver = await LinkStore(self.store).verified_owner(payment.receiver_wallet)
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
