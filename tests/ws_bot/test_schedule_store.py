"""Scheduled payments as the gateway keeps them, on SQLite and PostgreSQL: each step is won by
one caller; of several replicas claiming a due run one gets it; a run claimed and not finished
is resumed with the same run number (the same idempotency key); missed runs are not caught up."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from tests.ws_bot.support import opened, run_async
from tests.ws_bot.test_postgres import _admin
from ws_bot.cadence import Cadence, parse
from ws_bot.schedule_store import Schedule, ScheduleStatus, ScheduleStore
from ws_bot.store import Store

S = ScheduleStatus


def _schedule(wa_id: str) -> Schedule:
    return Schedule(
        id=uuid.uuid4().hex,
        wa_id=wa_id,
        status=S.PROPOSED,
        amount="5",
        asset="USD",
        recipient_label="Bob",
        receiver_wallet="https://wallet.example/bob",
        receiver_wa_id=None,
        sender_wallet="https://wallet.example/alice",
        cadence="P1W",
        interval="PT10S",
        allowance={"value": "5.61", "assetCode": "USD", "assetScale": 2},
        quote={"debit": "5.10 USD", "receive": "5.00 USD", "fee": "0.10 USD"},
        source_message_id="wamid.1",
    )


def _every_ten(_: Schedule) -> Cadence:
    return parse("PT10S")


async def _scenario(store: Store, others: list[Store]) -> None:
    await store.create()
    rows = ScheduleStore(store)
    one = _schedule("111")
    await rows.add(one)
    assert (await rows.newest_proposed("111")).id == one.id  # type: ignore[union-attr]
    assert await rows.of_user("111") == []  # not live before Confirm
    # Confirm is won once; activation is told once.
    assert await rows.move(one.id, (S.PROPOSED,), status=S.LINKING, confirmed_by="tap1")
    assert not await rows.move(one.id, (S.PROPOSED,), status=S.LINKING, confirmed_by="tap2")
    assert [r.id for r in await rows.linking_due(time.time(), time.time() + 30)] == [one.id]
    assert await rows.linking_due(time.time(), time.time() + 30) == []  # pushed back
    first = time.time() - 1
    assert await rows.activate(one.id, first)
    assert not await rows.activate(one.id, first)
    assert await rows.next_due_at() == pytest.approx(first)

    # Every replica claims the due run at once: one of them gets run 1.
    replicas = [rows, *(ScheduleStore(other) for other in others)]
    now = time.time()
    won = await asyncio.gather(
        *(replica.claim_runs(f"r{i}", 30, _every_ten, now) for i, replica in enumerate(replicas))
    )
    claimed = [s for batch in won for s in batch]
    assert [(s.id, s.run_number) for s in claimed] == [(one.id, 1)]
    assert await rows.claim_runs("r9", 30, _every_ten, now) == []  # next one is 10 s away
    assert await rows.next_due_at() is None  # while run 1 is open

    # The replica dies before handing the payment over: after its lease, run 1 is resumed
    # (same run number, so the same idempotency key), not skipped and not run twice.
    assert await rows.claim_open_runs("r9", 30, now) == []  # the lease still holds
    resumed = await rows.claim_open_runs("r9", 30, now + 31)
    assert [(s.id, s.run_number) for s in resumed] == [(one.id, 1)]
    assert await rows.finish_run(one.id, 1)
    assert not await rows.finish_run(one.id, 1)

    # Nobody ran for a minute: the next claim is run 2 (not 2..7), due at the next future slot.
    later = first + 65
    [second] = await rows.claim_runs("r1", 30, _every_ten, later)
    assert second.run_number == 2
    current = await rows.get(one.id)
    assert current is not None
    assert current.next_run_at == pytest.approx(first + 70)
    assert await rows.finish_run(one.id, 2)

    # Stopped: never claimed again; the list no longer shows it.
    assert [s.id for s in await rows.of_user("111")] == [one.id]
    assert await rows.move(one.id, (S.LINKING, S.ACTIVE), status=S.STOPPED)
    assert await rows.claim_runs("r1", 30, _every_ten, later + 3600) == []
    assert await rows.of_user("111") == []
    for other in others:
        await other.close()


def test_schedule_rows_on_sqlite(tmp_path: Path) -> None:
    run_async(lambda: opened(None, tmp_path / "ws.sqlite3", lambda store: _scenario(store, [])))


@pytest.mark.postgres
def test_schedule_rows_on_postgres_with_replicas() -> None:
    name = f"ws_bot_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        url = f"postgresql://postgres@127.0.0.1/{name}"

        async def scenario() -> None:
            others = [await Store.open(url, Path("unused.sqlite3")) for _ in range(3)]
            await opened(url, Path("unused.sqlite3"), lambda main: _scenario(main, others))

        run_async(scenario)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
