"""Scheduled payments as the gateway remembers them (`ws_schedules`, issue 17): who pays whom how
much and how often, the link (a standing grant at the payer's wallet) that pays them, and which
run is next.

Every step is a conditional UPDATE whose rowcount says who won, so replicas sharing the table
act once: the user's Confirm (proposed → linking), the link found active (linking → active,
told once), Stop, and above all each run, claimed by advancing `run_number` and `next_run_at`
together. A claimed run stays `run_pending` until its payment is handed to the poller, so a
crash between the claim and op_api resumes that same run (same idempotency key, same payment)
rather than losing or repeating it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    func,
    insert,
    or_,
    select,
    update,
)

from ws_bot import store as st
from ws_bot.cadence import Cadence
from ws_bot.schema import schedules


class ScheduleStatus(StrEnum):
    PROPOSED = "proposed"  # summary shown, waiting for Confirm
    LINKING = "linking"  # confirmed; the link waits for its approval at the wallet
    ACTIVE = "active"  # the link is active: runs pay on time
    STOPPED = "stopped"  # the user stopped it (its link revoked)
    ENDED = "ended"  # the link was refused, expired or revoked at the wallet
    CANCELLED = "cancelled"  # the summary was cancelled (or expired) before Confirm


LIVE = (ScheduleStatus.LINKING, ScheduleStatus.ACTIVE)


@dataclass
class Schedule:
    id: str
    wa_id: str
    status: ScheduleStatus
    amount: str
    asset: str
    recipient_label: str
    receiver_wallet: str
    receiver_wa_id: str | None
    sender_wallet: str
    cadence: str
    interval: str
    allowance: dict[str, Any]
    quote: dict[str, Any]
    source_message_id: str
    link_id: str | None = None
    confirmed_by: str | None = None
    first_run_at: float | None = None
    slot: int = 0
    next_run_at: float | None = None
    run_number: int = 0
    run_pending: bool = False
    run_started_at: float | None = None
    created_at: float = 0.0

    def key(self, run: int) -> str:
        """op_api's idempotency key of one run: however often it is asked, one payment."""
        return f"schedule:{self.id}:{run}"


def _row(r: Any) -> Schedule:
    return Schedule(
        id=r.id,
        wa_id=r.wa_id,
        status=ScheduleStatus(r.status),
        amount=r.amount,
        asset=r.asset,
        recipient_label=r.recipient_label,
        receiver_wallet=r.receiver_wallet,
        receiver_wa_id=r.receiver_wa_id,
        sender_wallet=r.sender_wallet,
        cadence=r.cadence,
        interval=r.interval,
        allowance=json.loads(r.allowance),
        quote=json.loads(r.quote),
        source_message_id=r.source_message_id,
        link_id=r.link_id,
        confirmed_by=r.confirmed_by,
        first_run_at=r.first_run_at,
        slot=r.slot,
        next_run_at=r.next_run_at,
        run_number=r.run_number,
        run_pending=bool(r.run_pending),
        run_started_at=r.run_started_at,
        created_at=r.created_at,
    )


class ScheduleStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.engine = store.engine

    async def add(self, schedule: Schedule) -> None:
        now = time.time()
        async with self.store._write() as conn:  # the gateway's one writer queue
            await conn.execute(
                insert(schedules).values(
                    id=schedule.id,
                    wa_id=schedule.wa_id,
                    status=schedule.status.value,
                    amount=schedule.amount,
                    asset=schedule.asset,
                    recipient_label=schedule.recipient_label[:256],
                    receiver_wallet=schedule.receiver_wallet,
                    receiver_wa_id=schedule.receiver_wa_id,
                    sender_wallet=schedule.sender_wallet,
                    cadence=schedule.cadence,
                    interval=schedule.interval,
                    allowance=json.dumps(schedule.allowance),
                    quote=json.dumps(schedule.quote),
                    source_message_id=schedule.source_message_id,
                    slot=0,
                    run_number=0,
                    run_pending=0,
                    next_check_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def get(self, schedule_id: str) -> Schedule | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(schedules).where(schedules.c.id == schedule_id))
            ).first()
        return _row(row) if row is not None else None

    async def move(
        self, schedule_id: str, expect: tuple[ScheduleStatus, ...], **values: Any
    ) -> bool:
        """Conditional update from one of `expect`; True for the one caller that moved it."""
        if isinstance(values.get("status"), ScheduleStatus):
            values["status"] = values["status"].value
        async with self.store._write() as conn:
            result = await conn.execute(
                update(schedules)
                .where(schedules.c.id == schedule_id, schedules.c.status.in_(expect))
                .values(updated_at=time.time(), **values)
            )
        return bool(result.rowcount == 1)

    async def of_user(
        self, wa_id: str, statuses: tuple[ScheduleStatus, ...] = LIVE
    ) -> list[Schedule]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(schedules)
                    .where(schedules.c.wa_id == wa_id, schedules.c.status.in_(statuses))
                    .order_by(schedules.c.created_at)
                    .limit(10)
                )
            ).all()
        return [_row(r) for r in rows]

    async def newest_proposed(self, wa_id: str) -> Schedule | None:
        """The user's latest schedule summary still waiting for its Confirm."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(schedules)
                    .where(
                        schedules.c.wa_id == wa_id,
                        schedules.c.status == ScheduleStatus.PROPOSED.value,
                    )
                    .order_by(schedules.c.created_at.desc())
                    .limit(1)
                )
            ).first()
        return _row(row) if row is not None else None

    async def linking_due(
        self, now: float, next_check_at: float, limit: int = 20
    ) -> list[Schedule]:
        """Schedules whose link is still awaiting approval and due a look; each is pushed back
        to `next_check_at` (a replica that reads it too only repeats a read)."""
        async with self.store._write() as conn:
            rows = (
                await conn.execute(
                    select(schedules)
                    .where(
                        schedules.c.status == ScheduleStatus.LINKING.value,
                        schedules.c.next_check_at <= now,
                    )
                    .order_by(schedules.c.next_check_at)
                    .limit(limit)
                )
            ).all()
            if rows:
                await conn.execute(
                    update(schedules)
                    .where(schedules.c.id.in_([r.id for r in rows]))
                    .values(next_check_at=next_check_at)
                )
        return [_row(r) for r in rows]

    async def activate(self, schedule_id: str, first_run_at: float) -> bool:
        """The link is active: the first run is due at `first_run_at` (True once)."""
        return await self.move(
            schedule_id,
            (ScheduleStatus.LINKING,),
            status=ScheduleStatus.ACTIVE,
            first_run_at=first_run_at,
            slot=0,
            next_run_at=first_run_at,
        )

    async def next_due_at(self) -> float | None:
        """When the earliest active schedule's next run is due (None: none is)."""
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(
                    select(func.min(schedules.c.next_run_at)).where(
                        schedules.c.status == ScheduleStatus.ACTIVE.value,
                        schedules.c.run_pending == 0,
                    )
                )
            ).scalar()
        return float(value) if value is not None else None

    async def claim_runs(
        self,
        owner: str,
        lease: float,
        cadence_of: Callable[[Schedule], Cadence],
        now: float,
        limit: int = 20,
    ) -> list[Schedule]:
        """Claim the runs that are due: each claim advances `run_number` and `next_run_at` in
        one conditional UPDATE, so of all the replicas reading a due schedule one runs it. Runs
        missed while no replica was up are not caught up (that would pay several intervals at
        once, past the link's allowance): the next one is the first still in the future."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(schedules)
                    .where(
                        schedules.c.status == ScheduleStatus.ACTIVE.value,
                        schedules.c.run_pending == 0,
                        schedules.c.next_run_at <= now,
                    )
                    .order_by(schedules.c.next_run_at)
                    .limit(limit)
                )
            ).all()
        claimed: list[Schedule] = []
        for row in rows:
            schedule = _row(row)
            cadence = cadence_of(schedule)
            assert schedule.first_run_at is not None
            slot = schedule.slot + 1
            while cadence.run_at(schedule.first_run_at, slot) <= now:
                slot += 1
            async with self.store._write() as conn:
                result = await conn.execute(
                    update(schedules)
                    .where(
                        schedules.c.id == schedule.id,
                        schedules.c.status == ScheduleStatus.ACTIVE.value,
                        schedules.c.run_number == schedule.run_number,
                        schedules.c.run_pending == 0,
                    )
                    .values(
                        run_number=schedule.run_number + 1,
                        slot=slot,
                        next_run_at=cadence.run_at(schedule.first_run_at, slot),
                        run_pending=1,
                        run_started_at=now,
                        lease_owner=owner,
                        lease_until=now + lease,
                        updated_at=now,
                    )
                )
            if result.rowcount == 1:
                schedule.run_number += 1
                schedule.run_pending, schedule.run_started_at = True, now
                claimed.append(schedule)
        return claimed

    async def claim_open_runs(self, owner: str, lease: float, now: float) -> list[Schedule]:
        """Runs claimed by a replica that stopped before finishing them (lease lapsed)."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(schedules)
                    .where(
                        schedules.c.run_pending == 1,
                        or_(schedules.c.lease_until.is_(None), schedules.c.lease_until < now),
                    )
                    .limit(20)
                )
            ).all()
        claimed: list[Schedule] = []
        for row in rows:
            async with self.store._write() as conn:
                result = await conn.execute(
                    update(schedules)
                    .where(
                        schedules.c.id == row.id,
                        schedules.c.run_pending == 1,
                        schedules.c.run_number == row.run_number,
                        or_(schedules.c.lease_until.is_(None), schedules.c.lease_until < now),
                    )
                    .values(lease_owner=owner, lease_until=now + lease)
                )
            if result.rowcount == 1:
                claimed.append(_row(row))
        return claimed

    async def retry_run_later(self, schedule_id: str, run: int, owner: str, at: float) -> None:
        """op_api did not answer: the run stays open; any replica may take it up at `at`."""
        async with self.store._write() as conn:
            await conn.execute(
                update(schedules)
                .where(
                    schedules.c.id == schedule_id,
                    schedules.c.run_number == run,
                    schedules.c.lease_owner == owner,
                )
                .values(lease_until=at, updated_at=time.time())
            )

    async def finish_run(self, schedule_id: str, run: int) -> bool:
        """The run is over (its payment handed to the poller, or its failure told)."""
        async with self.store._write() as conn:
            result = await conn.execute(
                update(schedules)
                .where(
                    schedules.c.id == schedule_id,
                    schedules.c.run_number == run,
                    schedules.c.run_pending == 1,
                )
                .values(run_pending=0, lease_owner=None, lease_until=None, updated_at=time.time())
            )
        return bool(result.rowcount == 1)
