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

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from shared.sql import Row, from_json, to_json
from ws_bot import store as st
from ws_bot.cadence import Cadence


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


# What `move` may set (besides `updated_at`): its keywords become column names in the SQL.
_MOVABLE = frozenset(
    {"status", "link_id", "confirmed_by", "first_run_at", "slot", "next_run_at", "next_check_at"}
)


def _row(r: Row) -> Schedule:
    # The dataclass's fields are the table's columns, by the same names.
    values = {f.name: r[f.name] for f in fields(Schedule)}
    values.update(
        status=ScheduleStatus(r["status"]),
        allowance=from_json(r["allowance"]),
        quote=from_json(r["quote"]),
        run_pending=bool(r["run_pending"]),
    )
    return Schedule(**values)


# The f-strings below assemble SQL from this module's constants and the database's dialect
# spellings only (hence the S608 waivers); every value travels as a parameter.
class ScheduleStore:
    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.db = store.db

    async def add(self, schedule: Schedule) -> None:
        now = time.time()
        # INTERVAL is a keyword of SQL (a type in PostgreSQL): quoted, it is plainly the column.
        await self.db.execute(
            "INSERT INTO ws_schedules (id, wa_id, status, amount, asset, recipient_label,"
            ' receiver_wallet, receiver_wa_id, sender_wallet, cadence, "interval", allowance,'
            " quote, source_message_id, slot, run_number, run_pending, next_check_at,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
            " $13, $14, 0, 0, 0, $15, $15, $15)",
            schedule.id,
            schedule.wa_id,
            schedule.status.value,
            schedule.amount,
            schedule.asset,
            schedule.recipient_label[:256],
            schedule.receiver_wallet,
            schedule.receiver_wa_id,
            schedule.sender_wallet,
            schedule.cadence,
            schedule.interval,
            to_json(schedule.allowance),
            to_json(schedule.quote),
            schedule.source_message_id,
            now,
        )

    async def get(self, schedule_id: str) -> Schedule | None:
        rows = await self.db.read("SELECT * FROM ws_schedules WHERE id = $1", schedule_id)
        return _row(rows[0]) if rows else None

    async def move(
        self, schedule_id: str, expect: tuple[ScheduleStatus, ...], **values: Any
    ) -> bool:
        """Conditional update from one of `expect`; True for the one caller that moved it."""
        unknown = values.keys() - _MOVABLE
        if unknown:
            raise ValueError(f"not a column move sets: {sorted(unknown)}")
        if isinstance(values.get("status"), ScheduleStatus):
            values["status"] = values["status"].value
        values["updated_at"] = time.time()
        sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(values, start=3))
        changed = await self.db.execute(
            f"UPDATE ws_schedules SET {sets} WHERE id = $1 AND status {self.db.one_of('$2')}",  # noqa: S608
            schedule_id,
            self.db.array(s.value for s in expect),
            *values.values(),
        )
        return changed == 1

    async def of_user(
        self, wa_id: str, statuses: tuple[ScheduleStatus, ...] = LIVE
    ) -> list[Schedule]:
        rows = await self.db.read(
            f"SELECT * FROM ws_schedules WHERE wa_id = $1 AND status {self.db.one_of('$2')}"  # noqa: S608
            " ORDER BY created_at LIMIT 10",
            wa_id,
            self.db.array(s.value for s in statuses),
        )
        return [_row(r) for r in rows]

    async def newest_proposed(self, wa_id: str) -> Schedule | None:
        """The user's latest schedule summary still waiting for its Confirm."""
        rows = await self.db.read(
            "SELECT * FROM ws_schedules WHERE wa_id = $1 AND status = $2"
            " ORDER BY created_at DESC LIMIT 1",
            wa_id,
            ScheduleStatus.PROPOSED.value,
        )
        return _row(rows[0]) if rows else None

    async def linking_due(
        self, now: float, next_check_at: float, limit: int = 20
    ) -> list[Schedule]:
        """Schedules whose link is still awaiting approval and due a look; each is pushed back
        to `next_check_at` in one claim (replicas sweeping together never both take one)."""
        rows = await self.db.fetch(
            "UPDATE ws_schedules SET next_check_at = $2 WHERE id IN ("  # noqa: S608
            "SELECT id FROM ws_schedules WHERE status = $3 AND next_check_at <= $1"
            f" ORDER BY next_check_at LIMIT $4{self.db.skip_locked}) RETURNING *",
            now,
            next_check_at,
            ScheduleStatus.LINKING.value,
            limit,
        )
        return sorted((_row(r) for r in rows), key=lambda s: s.created_at)

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
        rows = await self.db.read(
            "SELECT MIN(next_run_at) AS due FROM ws_schedules"
            " WHERE status = $1 AND run_pending = 0",
            ScheduleStatus.ACTIVE.value,
        )
        value = rows[0]["due"] if rows else None
        return float(value) if value is not None else None

    async def claim_runs(
        self,
        owner: str,
        lease: float,
        cadence_of: Callable[[Schedule], Cadence],
        now: float,
        limit: int = 20,
    ) -> list[Schedule]:
        """Claim the runs that are due: one UPDATE takes each due schedule's next run (advancing
        `run_number`, opening the run), so of all the replicas reading a due schedule one runs
        it; the same transaction moves its `next_run_at` to the following slot. Runs missed
        while no replica was up are not caught up (that would pay several intervals at once,
        past the link's allowance): the next one is the first still in the future."""
        active = ScheduleStatus.ACTIVE.value
        due = "status = $2 AND run_pending = 0 AND next_run_at <= $1"
        # Nothing due (most passes): no transaction at all.
        if not await self.db.read(f"SELECT id FROM ws_schedules WHERE {due} LIMIT 1", now, active):  # noqa: S608
            return []
        claimed: list[Schedule] = []
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "UPDATE ws_schedules SET run_number = run_number + 1, run_pending = 1,"  # noqa: S608
                " run_started_at = $1, lease_owner = $3, lease_until = $4, updated_at = $1"
                f" WHERE id IN (SELECT id FROM ws_schedules WHERE {due}"
                f" ORDER BY next_run_at LIMIT $5{self.db.skip_locked}) RETURNING *",
                now,
                active,
                owner,
                now + lease,
                limit,
            )
            for row in sorted(rows, key=lambda r: (r["next_run_at"], r["id"])):
                schedule = _row(row)
                assert schedule.first_run_at is not None
                cadence = cadence_of(schedule)
                slot = schedule.slot + 1
                while cadence.run_at(schedule.first_run_at, slot) <= now:
                    slot += 1
                schedule.slot = slot
                schedule.next_run_at = cadence.run_at(schedule.first_run_at, slot)
                await tx.execute(
                    "UPDATE ws_schedules SET slot = $2, next_run_at = $3 WHERE id = $1",
                    schedule.id,
                    schedule.slot,
                    schedule.next_run_at,
                )
                claimed.append(schedule)
        return claimed

    async def claim_open_runs(self, owner: str, lease: float, now: float) -> list[Schedule]:
        """Runs claimed by a replica that stopped before finishing them (lease lapsed), taken
        over in one claim: of the replicas finding one, one resumes it."""
        rows = await self.db.fetch(
            "UPDATE ws_schedules SET lease_owner = $2, lease_until = $3 WHERE id IN ("  # noqa: S608
            "SELECT id FROM ws_schedules WHERE run_pending = 1"
            " AND (lease_until IS NULL OR lease_until < $1)"
            f" ORDER BY run_started_at LIMIT 20{self.db.skip_locked}) RETURNING *",
            now,
            owner,
            now + lease,
        )
        return [_row(r) for r in rows]

    async def retry_run_later(self, schedule_id: str, run: int, owner: str, at: float) -> None:
        """op_api did not answer: the run stays open; any replica may take it up at `at`."""
        await self.db.execute(
            "UPDATE ws_schedules SET lease_until = $4, updated_at = $5"
            " WHERE id = $1 AND run_number = $2 AND lease_owner = $3",
            schedule_id,
            run,
            owner,
            at,
            time.time(),
        )

    async def finish_run(self, schedule_id: str, run: int) -> bool:
        """The run is over (its payment handed to the poller, or its failure told)."""
        changed = await self.db.execute(
            "UPDATE ws_schedules SET run_pending = 0, lease_owner = NULL, lease_until = NULL,"
            " updated_at = $3 WHERE id = $1 AND run_number = $2 AND run_pending = 1",
            schedule_id,
            run,
            time.time(),
        )
        return changed == 1
