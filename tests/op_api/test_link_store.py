"""What one-tap payments hold of a link's allowance (`LinkStore.reserve` / `release`), on a
real SQLite database: within the allowance only, once per payment, per interval, given back
once; and many concurrent reservations never hold more than the allowance."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from op_api.link_store import LinkStore, Reservation
from op_api.records import Status
from op_api.sealing import TokenSealer
from op_api.store import PaymentStore, utcnow
from shared.contracts import LinkStatus
from tests.op_api.harness import run_async
from tests.op_api.lifecycle_paths import move_to


async def _stores(tmp_path: Path) -> tuple[PaymentStore, LinkStore]:
    store = await PaymentStore.open(
        None, tmp_path / "db.sqlite3", sealer=TokenSealer.from_secret("t")
    )
    await store.create_schema()
    links = LinkStore(store)
    now = utcnow()
    await links.insert(
        id="l1",
        fingerprint="f",
        wallet_url="https://wallet.example/alice",
        status=LinkStatus.ACTIVE.value,
        allowance={"value": "5000", "assetCode": "USD", "assetScale": 2},
        allowance_minor=5000,
        interval="P1W",
        interval_start=now,
        expires_at=now + timedelta(minutes=10),
    )
    return store, links


async def _one_tap(store: PaymentStore, payment_id: str) -> None:
    await store.insert(
        id=payment_id, fingerprint="f", link_id="l1", expires_at=utcnow() + timedelta(minutes=5)
    )
    await move_to(store, payment_id, Status.AWAITING_APPROVAL)


def test_reservations_stay_within_the_allowance_once_per_payment(tmp_path: Path) -> None:
    async def scenario() -> None:
        store, links = await _stores(tmp_path)
        for pid in ("a", "b", "c"):
            await _one_tap(store, pid)
        assert await links.reserve("a", "l1", 0, 2000) == Reservation.HELD
        assert await links.reserve("a", "l1", 0, 2000) == Reservation.ALREADY
        assert await links.reserve("b", "l1", 0, 2500) == Reservation.HELD
        assert await links.reserve("c", "l1", 0, 1000) == Reservation.NO_ROOM
        link = await links.get("l1")
        assert link is not None
        assert link.spent_in(0) == 4500
        record = await store.get("c")
        assert record is not None
        assert record.link_reserved is None  # refused: the payment is left unmarked
        # b ends unpaid: what it held is given back, once.
        assert await links.release("b") is True
        assert await links.release("b") is False
        assert await links.reserve("c", "l1", 0, 1000) == Reservation.HELD
        link = await links.get("l1")
        assert link is not None
        assert link.spent_in(0) == 3000
        # A new interval starts from nothing; a release from the old one is dropped.
        await _one_tap(store, "d")
        assert await links.reserve("d", "l1", 1, 5000) == Reservation.HELD
        assert await links.release("a") is True
        link = await links.get("l1")
        assert link is not None
        assert (link.spent_interval, link.spent) == (1, 5000)
        # A revoked link holds nothing more.
        await _one_tap(store, "e")
        assert await links.move("l1", LinkStatus.ACTIVE, LinkStatus.REVOKED)
        assert await links.reserve("e", "l1", 1, 1) == Reservation.LINK_INACTIVE
        await store.close()

    run_async(scenario())


def test_concurrent_reservations_never_hold_more_than_the_allowance(tmp_path: Path) -> None:
    async def scenario() -> None:
        store, links = await _stores(tmp_path)
        ids = [f"p{i}" for i in range(12)]
        for pid in ids:
            await _one_tap(store, pid)
        outcomes = await asyncio.gather(
            *(links.reserve(pid, "l1", 0, 1000) for pid in ids for _ in range(2))
        )
        assert outcomes.count(Reservation.HELD) == 5
        assert outcomes.count(Reservation.ALREADY) <= 5
        link = await links.get("l1")
        assert link is not None
        assert link.spent_in(0) == 5000
        held = [r for r in await store.get_many(ids) if r.link_reserved is not None]
        assert len(held) == 5
        await store.close()

    run_async(scenario())
