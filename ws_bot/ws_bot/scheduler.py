"""Runs scheduled payments on time (issue 17), beside the poller in every replica.

Each pass: follow the links still awaiting approval (`POST /links/{id}/confirm`; active → the
schedule starts, told once), take up runs another replica claimed and never finished, then claim
the runs that are due. A run is `POST /send-payment` with the schedule's link and the idempotency
key `schedule:<id>:<run>` (op_api makes one payment per key however often it is asked), then
`POST /payments/{id}/authorize`; the payment then goes to the poller like any other, which tells
the payer (receipt) and the recipient. A run that cannot be paid within the link — its quote is
over the allowance, the link was revoked, op_api refused or never answered — is reported to the
payer and never retried into a second payment. The loop sleeps until the next run is due (at
most `POLLER_TICK_SECONDS`, so links are followed and other replicas' schedules seen).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from shared.contracts import (
    FallbackReason,
    LinkStatus,
    PaymentStatus,
    PaymentView,
    SendPaymentRequest,
)
from shared.request_id import request_id_scope
from ws_bot import store as st
from ws_bot import templates
from ws_bot.backends import OpClient, Refused, Unavailable
from ws_bot.cadence import Cadence, every, parse
from ws_bot.draft_store import DRAFT_TTL_SECONDS
from ws_bot.graph import Messenger
from ws_bot.link_store import LinkStore
from ws_bot.notices import Notifier
from ws_bot.payment_store import Payment
from ws_bot.periodic import Periodic
from ws_bot.schedule_store import Schedule, ScheduleStatus, ScheduleStore
from ws_bot.schedules import what, when
from ws_bot.settings import Settings
from ws_bot.summary import money
from ws_bot.texts import plain_reason, t

logger = logging.getLogger(__name__)
S = ScheduleStatus
LINK_OVER = (LinkStatus.REJECTED, LinkStatus.EXPIRED, LinkStatus.FAILED, LinkStatus.REVOKED)
# Without these the link cannot pay any later run either: the schedule ends (and is told so).
LINK_GONE = (FallbackReason.LINK_REVOKED, FallbackReason.LINK_INACTIVE, FallbackReason.NO_ALLOWANCE)


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        store: st.Store,
        op: OpClient,
        say: Messenger,
        wake_poller: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.op = op
        self.rows = ScheduleStore(store)
        self.notices = Notifier(store, say)
        self.wake_poller = wake_poller
        self.passes = Periodic("scheduler", self.tick, self._until_next)

    def wake(self) -> None:
        self.passes.wake()

    def start(self) -> None:
        self.passes.start()

    async def stop(self) -> None:
        await self.passes.stop()

    async def _until_next(self) -> float:
        most = self.settings.poller_tick_seconds
        try:
            due = await self.rows.next_due_at()
        except Exception:
            logger.exception("could not read the next scheduled run")
            return most
        return most if due is None else max(0.0, min(most, due - time.time()))

    def _cadence(self, schedule: Schedule) -> Cadence:
        return parse(schedule.interval)

    def _deadline(self) -> float:
        return self.settings.poll_deadline_seconds

    async def tick(self) -> None:
        now = time.time()
        for schedule in await self.rows.linking_due(now, now + self.settings.poll_initial_seconds):
            with request_id_scope(f"link-{schedule.id}"[:128]):
                await self._follow_link(schedule, now)
        owner, lease = self.settings.replica_id, self.settings.poll_lease_seconds
        for schedule in await self.rows.claim_open_runs(owner, lease, now):
            await self._run_one(schedule)
        for schedule in await self.rows.claim_runs(owner, lease, self._cadence, time.time()):
            await self._run_one(schedule)

    # ------------------------------------------------------------ the link, until approved

    async def _follow_link(self, schedule: Schedule, now: float) -> None:
        overdue = now > schedule.created_at + DRAFT_TTL_SECONDS + self._deadline()
        status: LinkStatus | None = None
        if schedule.link_id:
            try:
                status = (await self.op.confirm_link(schedule.link_id)).status
            except Unavailable:
                logger.warning("op_api unavailable while following a link")
            except Refused as exc:
                logger.warning("op_api refused a link read", extra={"detail": str(exc)})
                status = LinkStatus.FAILED if exc.status == 404 else None
        if status == LinkStatus.ACTIVE:
            if await self.rows.activate(schedule.id, time.time()):
                await self._tell(schedule, "schedule_active")
                self.wake()  # the first run is due now
            return
        if status not in LINK_OVER and not overdue:
            return
        if await self.rows.move(schedule.id, (S.LINKING,), status=S.ENDED):
            if status not in LINK_OVER and schedule.link_id:
                with contextlib.suppress(Unavailable, Refused):  # never approved: withdraw it
                    await self.op.revoke_link(schedule.link_id)
            await self._tell(schedule, "schedule_not_approved")

    # ------------------------------------------------------------ one run

    async def _run_one(self, schedule: Schedule) -> None:
        run = schedule.run_number
        with request_id_scope(f"schedule-{schedule.id}-{run}"[:128]):
            try:
                await self._pay(schedule, run)
            except Exception:
                # The run may have been paid before the error: it stays open and is taken up
                # again (same idempotency key: the same payment, never a second one), until
                # the deadline reports it.
                logger.exception("scheduled run failed")
                with contextlib.suppress(Exception):
                    await self._unanswered(schedule, run)

    async def _pay(self, schedule: Schedule, run: int) -> None:
        current = await self.rows.get(schedule.id)
        if current is None or current.status != S.ACTIVE or not schedule.link_id:
            await self.rows.finish_run(schedule.id, run)  # stopped since it was claimed
            return
        if not await self._still_verified(schedule):
            # Unlinked, another wallet, or the wallet taken by another number: an unverified
            # wallet pays nothing (issue 17), so the schedule ends and its own grant goes too.
            await self.rows.finish_run(schedule.id, run)
            if await self.rows.move(schedule.id, (S.ACTIVE,), status=S.ENDED):
                with contextlib.suppress(Unavailable, Refused):
                    await self.op.revoke_link(schedule.link_id)
                lang = await self._lang(schedule)
                await self._tell(
                    schedule, "schedule_ended", reason=t(lang, "sched_reason_unlinked")
                )
            return
        request = SendPaymentRequest(
            sender_wallet_url=schedule.sender_wallet,
            receiver_wallet_url=schedule.receiver_wallet,
            amount=schedule.amount,
            amount_type="receive",
            idempotency_key=schedule.key(run),
            link_id=schedule.link_id,
            description="Paguito: scheduled",
        )
        prepared: str | None = None
        try:
            view = await self.op.send_payment(request)
            prepared = view.payment_id
            if view.status == PaymentStatus.AWAITING_APPROVAL and view.fallback_reason is None:
                view = await self.op.authorize(view.payment_id)
        except Unavailable:
            await self._unanswered(schedule, run)
            return
        except Refused as exc:
            if prepared is not None:  # quoted but not paid: withdrawn, never left waiting
                await self.op.cancel_payment(prepared)
            if await self.rows.finish_run(schedule.id, run):
                lang = await self._lang(schedule)
                await self._run_failed(schedule, run, plain_reason(lang, str(exc)))
            return
        if view.fallback_reason is not None:
            await self._fell_back(schedule, run, view)
            return
        if view.status in (PaymentStatus.REJECTED, PaymentStatus.EXPIRED, PaymentStatus.FAILED):
            if await self.rows.finish_run(schedule.id, run):
                lang = await self._lang(schedule)
                await self._run_failed(
                    schedule, run, plain_reason(lang, view.failure_reason or view.status.value)
                )
            return
        await self._hand_to_poller(schedule, run, view)

    async def _still_verified(self, schedule: Schedule) -> bool:
        """Whether the payer still has the schedule's wallet as their own, linked."""
        user = await self.store.users.get(schedule.wa_id)
        if user is None or user.wallet_url != schedule.sender_wallet:
            return False
        return await LinkStore(self.store).current(user) is not None

    async def _unanswered(self, schedule: Schedule, run: int) -> None:
        """op_api did not answer (or the run broke off): the same run (same key) is tried again
        shortly, until the deadline; then it is reported."""
        started = schedule.run_started_at or time.time()
        if time.time() < started + self._deadline():
            retry_at = time.time() + self.settings.poll_max_seconds
            await self.rows.retry_run_later(schedule.id, run, self.settings.replica_id, retry_at)
            return
        if await self.rows.finish_run(schedule.id, run):
            lang = await self._lang(schedule)
            await self._run_failed(schedule, run, t(lang, "sched_reason_no_answer"))

    async def _fell_back(self, schedule: Schedule, run: int, view: PaymentView) -> None:
        """The payment would need its own approval at the wallet: it is withdrawn and the user
        told why; a link that cannot pay any more ends the schedule."""
        assert view.fallback_reason is not None
        await self.op.cancel_payment(view.payment_id)
        if not await self.rows.finish_run(schedule.id, run):
            return
        lang = await self._lang(schedule)
        reason = t(lang, f"sched_reason_{view.fallback_reason.value}")
        if view.fallback_reason in LINK_GONE:
            if await self.rows.move(schedule.id, (S.ACTIVE,), status=S.ENDED):
                await self._tell(schedule, "schedule_ended", reason=reason)
            return
        await self._run_failed(schedule, run, reason)

    async def _hand_to_poller(self, schedule: Schedule, run: int, view: PaymentView) -> None:
        now = time.time()
        debit, receive = view.debit_amount, view.receive_amount
        added = await self.store.payments.add(
            Payment(
                payment_id=view.payment_id,
                wa_id=schedule.wa_id,
                draft_id=schedule.key(run),
                status=view.status.value,
                recipient_label=schedule.recipient_label,
                receiver_wallet=schedule.receiver_wallet,
                receiver_wa_id=schedule.receiver_wa_id,
                debit={
                    "text": money(debit),
                    "view": debit.model_dump(by_alias=True) if debit else None,
                },
                receive={
                    "text": money(receive),
                    "view": receive.model_dump(by_alias=True) if receive else None,
                },
                react_message_id=None,
                deadline=now + self._deadline(),
                next_poll_at=now + self.settings.poll_initial_seconds,
                attempts=0,
                notified=False,
                created_at=now,
            )
        )
        if added:
            await self._tell(schedule, "schedule_run", run=run)
        await self.rows.finish_run(schedule.id, run)
        self.wake_poller()

    # ------------------------------------------------------------ telling the payer

    async def _lang(self, schedule: Schedule) -> str | None:
        user = await self.store.users.get(schedule.wa_id)
        return user.language if user else None

    async def _run_failed(self, schedule: Schedule, run: int, reason: str) -> None:
        current = await self.rows.get(schedule.id)
        upcoming = current.next_run_at if current and current.status == S.ACTIVE else None
        await self._tell(
            schedule, "schedule_run_failed", run=run, reason=reason, next=when(upcoming)
        )

    async def _tell(self, schedule: Schedule, key: str, **values: object) -> None:
        """A message the business starts: free-form in the 24-hour window, else the template."""
        lang = await self._lang(schedule)
        body = t(
            lang, key, what=what(lang, schedule), every=every(lang, schedule.cadence), **values
        )
        label = schedule.recipient_label
        await self.notices.notify(
            schedule.wa_id,
            lang,
            body,
            templates.PAYMENT_RESULT,
            {"recipient": label, "result": body},
        )
