"""The watch poller takes up every pending payment before its first long poll (issue 12): after a
restart or a takeover with thousands pending, none waits a long poll's length per claim batch."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any, cast

import pytest

from shared.contracts import WatchAnswer, WatchRequest
from tests.ws_bot.support import run_async
from tests.ws_bot.test_postgres import _admin
from ws_bot import payment_store
from ws_bot.backends import OpClient
from ws_bot.graph import Messenger
from ws_bot.poller import CLAIM_BATCH, Poller
from ws_bot.settings import Settings
from ws_bot.store import Store


class _RecordingOp:
    """op_api's long poll, answering at once that nothing moved; remembers what it was asked."""

    def __init__(self) -> None:
        self.watched: list[set[str]] = []

    async def watch(self, request: WatchRequest) -> WatchAnswer:
        self.watched.append({p.payment_id for p in request.payments})
        return WatchAnswer()


def _payment(payment_id: str, now: float) -> payment_store.Payment:
    return payment_store.Payment(
        payment_id=payment_id,
        wa_id="15550001111",
        draft_id=payment_id,
        status="awaiting_approval",
        recipient_label="Bob",
        receiver_wallet="",
        receiver_wa_id=None,
        debit=None,
        receive=None,
        react_message_id=None,
        deadline=now + 3600,
        next_poll_at=now + 60,  # not due: followed anyway (a watched payment costs no request)
        attempts=0,
        notified=False,
        created_at=now,
    )


def test_the_first_long_poll_carries_every_pending_payment(tmp_path: Path) -> None:
    run_async(lambda: _first_poll(tmp_path))


async def _first_poll(tmp_path: Path) -> None:
    store = await Store.open(None, tmp_path / "ws.sqlite3")
    await store.create()
    try:
        now = time.time()
        ids = [f"pay-{i}" for i in range(CLAIM_BATCH * 2 + 7)]
        for payment_id in ids:
            await store.payments.add(_payment(payment_id, now))
        settings: Any = Settings(
            internal_api_token="x" * 20,
            meta_app_secret="s" * 10,
            meta_access_token="t",
            meta_phone_id="1",
            replica_id="r1",
        )
        op = _RecordingOp()
        poller = Poller(settings, store, cast(OpClient, op), cast(Messenger, None))
        assert await poller.follow()
        assert op.watched == [set(ids)]
        # All of them are leased to this replica, so no other replica follows them too.
        assert await store.payments.claim_due("r2", 60, 10_000, ahead=7200) == []
    finally:
        await store.close()


def test_a_batch_claim_takes_only_free_unfinished_payments_in_due_order(tmp_path: Path) -> None:
    run_async(lambda: _batch_claim(tmp_path))


async def _batch_claim(tmp_path: Path) -> None:
    store = await Store.open(None, tmp_path / "ws.sqlite3")
    await store.create()
    try:
        now = time.time()
        for i in range(6):
            payment = _payment(f"pay-{i}", now)
            payment.next_poll_at = now - 10 + i  # pay-0 is the most overdue
            await store.payments.add(payment)
        assert await store.payments.finish("pay-1", "completed")
        (first,) = await store.payments.claim_due("r1", 60, 1)
        assert first.payment_id == "pay-0"
        taken = await store.payments.claim_due("r2", 60, 10)
        assert [p.payment_id for p in taken] == ["pay-2", "pay-3", "pay-4", "pay-5"]
        assert await store.payments.claim_due("r3", 60, 10) == []
        # Leases given back are free again, for the first replica that asks.
        await store.payments.release_leases("r2")
        again = await store.payments.claim_due("r3", 60, 10)
        assert [p.payment_id for p in again] == ["pay-2", "pay-3", "pay-4", "pay-5"]
        assert await store.payments.claim_due("r1", 60, 10) == []
    finally:
        await store.close()


@pytest.mark.postgres
def test_replicas_claiming_at_once_on_postgres_never_share_a_payment() -> None:
    """The batch claim is one UPDATE: on PostgreSQL a row another replica leased meanwhile is
    re-checked after its lock and left out, so concurrent replicas split the payments."""
    name = f"ws_bot_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        run_async(lambda: _race(f"postgresql://postgres@127.0.0.1/{name}"))
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _race(url: str) -> None:
    stores = [await Store.open(url, Path("unused.sqlite3")) for _ in range(4)]
    await stores[0].create()
    try:
        now = time.time()
        ids = {f"pay-{i}" for i in range(300)}
        for payment_id in ids:
            payment = _payment(payment_id, now)
            payment.next_poll_at = now - 1
            await stores[0].payments.add(payment)
        for _ in range(3):  # a few rounds, in case one replica happens to win everything early
            won = await asyncio.gather(
                *(s.payments.claim_due(f"r{i}", 60, 120) for i, s in enumerate(stores))
            )
            claimed = [p.payment_id for batch in won for p in batch]
            assert len(claimed) == len(set(claimed)), "a payment was claimed by two replicas"
            if set(claimed) == ids:
                break
            for i, s in enumerate(stores):
                await s.payments.release_leases(f"r{i}")
        assert set(claimed) <= ids
    finally:
        for s in stores:
            await s.close()
