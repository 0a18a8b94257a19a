"""Runs `steps.advance` for payments: on demand (with a time budget) and in a background sweep.

At most one advance per payment runs in this process at a time (callers share it); across
processes the store's claims keep each step exactly-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from op_api import initiation, links, steps
from op_api.deps import Deps
from op_api.records import PaymentRecord, Status
from op_api.store import utcnow
from shared.request_id import request_id_scope

logger = logging.getLogger(__name__)
ABANDONED_START = timedelta(minutes=15)  # no initiation runs this long: its process died
FOLLOW_UP_HORIZON_SECONDS = 60.0  # steps due sooner get a timer of their own
MIN_PAUSE_SECONDS = 0.2


class _OnePerKey:
    """At most one task per key at a time: a second start joins the running one."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[None]] = {}

    def start(self, key: str, work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        task = self.running.get(key)
        if task is None or task.done():
            task = asyncio.create_task(work())
            self.running[key] = task
            task.add_done_callback(lambda t: self._forget(key, t))
        return task

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self.running.get(key) is task:
            del self.running[key]


async def _within(task: asyncio.Task[None], budget: float) -> None:
    """Wait for `task` at most `budget` seconds (it carries on after)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), budget)


class PaymentRunner:
    """Advances payments in the background and on demand."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._payments = _OnePerKey()
        self._links = _OnePerKey()  # pending links being advanced
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._worker: asyncio.Task[None] | None = None

    def kick(self, payment_id: str) -> asyncio.Task[None]:
        """Start (or join) the advance of one payment."""
        return self._payments.start(payment_id, lambda: self._advance(payment_id))

    async def _advance(self, payment_id: str) -> None:
        try:
            await steps.advance(self.deps, payment_id)
            await self._plan_next(payment_id)
        except Exception:
            logger.exception("advancing a payment failed", extra={"payment_id": payment_id})

    async def _plan_next(self, payment_id: str) -> None:
        """The payment's next step (a settlement check, the grant's next poll) is taken when it
        is due rather than at the next sweep after it: a receipt is not late by a sweep."""
        record = await self.deps.store.get(payment_id)
        if record is None:
            return
        due = None
        if record.status == Status.SENDING:
            due = record.next_check_at
        elif (
            record.status == Status.AWAITING_APPROVAL
            and record.continue_uri
            and self._continuable(record)
            and record.continue_claimed_at is None  # else whoever continues it plans next
        ):
            due = record.next_poll_at
        if due is None or payment_id in self._timers:
            return
        delay = (due - utcnow()).total_seconds()
        if delay > FOLLOW_UP_HORIZON_SECONDS:
            return  # the sweep will find it
        # Never sooner than MIN_PAUSE: a step that cannot be taken yet is not retried in a loop.
        delay = max(delay, MIN_PAUSE_SECONDS)
        self._timers[payment_id] = asyncio.get_running_loop().call_later(
            delay, self._follow_up, payment_id
        )

    def _follow_up(self, payment_id: str) -> None:
        del self._timers[payment_id]
        self.kick(payment_id)

    async def advance_within(self, payment_id: str, budget: float) -> None:
        """Advance, but answer after `budget` seconds at most (the work carries on)."""
        await _within(self.kick(payment_id), budget)

    def kick_link(self, link_id: str) -> asyncio.Task[None]:
        """Start (or join) the advance of one pending link (`links.advance`)."""
        return self._links.start(link_id, lambda: self._advance_link(link_id))

    async def _advance_link(self, link_id: str) -> None:
        try:
            await links.advance(self.deps, link_id)
        except Exception:
            logger.exception("advancing a link failed", extra={"link_id": link_id})

    async def advance_link_within(self, link_id: str, budget: float) -> None:
        """Advance a link, but answer after `budget` seconds at most (the work carries on)."""
        await _within(self.kick_link(link_id), budget)

    # ------------------------------------------------------------ background sweep

    def start(self) -> None:
        self._worker = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        running = (*self._payments.running.values(), *self._links.running.values())
        pending = [t for t in running if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def sweep(self) -> None:
        """Expire overdue payments; create outgoing payments and follow settlement; forget
        initiations nobody will finish (completing their incoming payments); continue and
        expire pending links."""
        now = utcnow()
        await initiation.forget_abandoned(
            self.deps, now - initiation.ABANDONED_AFTER, now - ABANDONED_START
        )
        polls_need_ref = bool(self.deps.settings.public_url)  # see `_continuable`
        for record in await self.deps.store.active(polls_need_ref=polls_need_ref):
            if record.status == Status.AWAITING_APPROVAL and not self._continuation_due(record):
                await steps.expire_if_due(self.deps, record)
            else:
                self.kick(record.id)
        for link in await self.deps.links.awaiting():
            due = link.next_poll_at is None or link.next_poll_at <= now
            if due or link.expires_at <= now:
                # Approvals are noticed without the gateway asking (the claim keeps it to one
                # continuation at a time across replicas).
                self.kick_link(link.id)

    def _continuable(self, record: PaymentRecord) -> bool:
        """Grants awaiting approval are continued here at their `wait` cadence (so approvals
        are noticed without the gateway calling /confirm-payment; the continuation claim keeps
        it to one poll at a time); in finish-redirect mode only once the redirect brought its
        `interact_ref` (such grants cannot be polled)."""
        return not self.deps.settings.public_url or bool(record.interact_ref)

    def _continuation_due(self, record: PaymentRecord) -> bool:
        if record.continue_uri is None:
            return False  # a one-tap payment awaiting the chat's Confirm: no grant to continue
        due = record.next_poll_at is None or record.next_poll_at <= utcnow()
        return self._continuable(record) and due

    async def _sweep_forever(self) -> None:
        interval = self.deps.settings.worker_interval_seconds
        while True:
            with request_id_scope(None):
                try:
                    await self.sweep()
                except Exception:
                    logger.exception("background sweep failed")
            await asyncio.sleep(interval)
