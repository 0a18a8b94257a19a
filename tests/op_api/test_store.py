"""PaymentStore on SQLite and PostgreSQL: the sweep's order, and conditional writes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from op_api.lifecycle import Status, transition
from op_api.sealing import TokenSealer
from op_api.store import DuplicateKey, PaymentStore, Where, same, utcnow
from tests.op_api.harness import run_async
from tests.op_api.lifecycle_paths import move_to

PG_URL = "postgresql://postgres@127.0.0.1/test"
SEALER = TokenSealer.from_secret("tests")

Scenario = Callable[[PaymentStore], Any]


def on_each_database(tmp_path: Path, database: str, scenario: Scenario) -> None:
    async def run() -> None:
        if database == "postgresql":
            url, prefix = PG_URL, f"op_s{uuid.uuid4().hex[:10]}_"
        else:
            url, prefix = None, "op_"
        store = await PaymentStore.open(url, tmp_path / "db.sqlite3", prefix, sealer=SEALER)
        await store.create_schema()
        try:
            await scenario(store)
        finally:
            await store.drop_schema()
            await store.close()

    run_async(run())


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


async def _payment(store: PaymentStore, status: Status, **columns: Any) -> str:
    payment_id = uuid.uuid4().hex
    values = {"expires_at": utcnow() + timedelta(hours=2), **columns}
    await store.insert(id=payment_id, fingerprint="f", **values)
    await move_to(store, payment_id, status)
    return payment_id


@pytest.mark.parametrize("database", DATABASES)
def test_the_sweep_takes_the_rows_due_first(tmp_path: Path, database: str) -> None:
    """Rows are taken by their own due time, not by when they last changed: rows planned far
    ahead (however many, however recently touched) never hide a row due now."""

    async def scenario(store: PaymentStore) -> None:
        now = utcnow()
        due = [
            # a one-tap payment awaiting the chat's Confirm, past its approval deadline
            await _payment(store, Status.AWAITING_APPROVAL, expires_at=now - timedelta(seconds=1)),
            # a settlement check due now
            await _payment(store, Status.SENDING, next_check_at=now - timedelta(seconds=2)),
            # a grant poll due now (pollable: it has its interact_ref)
            await _payment(
                store,
                Status.AWAITING_APPROVAL,
                continue_uri="https://as.example/continue",
                interact_ref="ref",
                next_poll_at=now - timedelta(seconds=3),
            ),
        ]
        unpollable = await _payment(
            store,
            Status.AWAITING_APPROVAL,
            continue_uri="https://as.example/continue",
            next_poll_at=now - timedelta(seconds=4),
        )
        lead = await _payment(store, Status.AWAITING_APPROVAL, batch_id="b")
        await _payment(store, Status.AWAITING_APPROVAL, batch_id="b", grant_lead=lead)
        for _ in range(3):  # rows planned far ahead, written last
            await _payment(store, Status.SENDING, next_check_at=now + timedelta(hours=1))
            await _payment(
                store,
                Status.AWAITING_APPROVAL,
                continue_uri="https://as.example/continue",
                next_poll_at=now + timedelta(hours=1),
            )
        await _payment(store, Status.COMPLETED)  # not in flight at all
        in_flight = await store.active(limit=100)
        assert len(in_flight) == 12
        assert [r.id for r in await store.active(limit=4)] == [unpollable, *due[::-1]]
        # In finish-redirect mode a grant without its interact_ref cannot be polled: it is
        # due at its approval deadline only.
        taken = await store.active(limit=3, polls_need_ref=True)
        assert {r.id for r in taken} == set(due)
        # A batch payment is due once its lead has the wallet's answer.
        follower = (await store.followers(lead))[0].id
        assert follower not in {r.id for r in await store.active(limit=5)}
        assert await store.update(lead, outgoing_token={"value": "t", "manage": "m"})
        assert follower in {r.id for r in await store.active(limit=5)}

    on_each_database(tmp_path, database, scenario)


@pytest.mark.parametrize("database", DATABASES)
def test_conditional_writes_happen_once(tmp_path: Path, database: str) -> None:
    async def scenario(store: PaymentStore) -> None:
        payment_id = await _payment(store, Status.APPROVED)
        assert await store.claim_outgoing_payment(payment_id)
        assert not await store.claim_outgoing_payment(payment_id)
        record = await store.get(payment_id)
        assert record is not None
        claimed = record.op_claimed_at
        assert not await store.update(
            payment_id, where=Where("op_claimed_at = $1", utcnow()), op_claimed_at=None
        )
        assert await store.update(
            payment_id,
            expect=[Status.APPROVED, Status.SENDING],
            where=same("op_claimed_at", claimed) & Where("op_attempts = $1", 0),
            op_claimed_at=None,
            op_attempts=1,
        )
        assert not await transition(
            store,
            payment_id,
            Status.APPROVED,
            Status.SENDING,
            "guarded",
            where=Where("op_claimed_at IS NOT NULL"),
        )
        assert await transition(store, payment_id, Status.APPROVED, Status.SENDING, "go")
        assert not await transition(store, payment_id, Status.APPROVED, Status.SENDING, "again")
        assert (await store.statuses([payment_id, "nobody"])) == {payment_id: Status.SENDING}
        assert not await store.delete_if(payment_id, Status.APPROVED)
        assert await store.delete_if(payment_id, Status.SENDING, where=same("link_id", None))
        assert await store.get(payment_id) is None

    on_each_database(tmp_path, database, scenario)


@pytest.mark.parametrize("database", DATABASES)
def test_an_idempotency_key_is_held_by_one_payment(tmp_path: Path, database: str) -> None:
    async def scenario(store: PaymentStore) -> None:
        first = await _payment(store, Status.INITIATING, idempotency_key="k")
        with pytest.raises(DuplicateKey):
            await _payment(store, Status.INITIATING, idempotency_key="k")
        found = await store.get_by_key("k")
        assert found is not None
        assert found.id == first
        await store.insert_batch(id="b", idempotency_key="bk", fingerprint="f", payment_ids=[first])
        with pytest.raises(DuplicateKey):
            await store.insert_batch(id="c", idempotency_key="bk", fingerprint="f", payment_ids=[])
        await store.update_batch("b", shared_grant=1, debit_amount={"value": "1"})
        batch = await store.get_batch_by_key("bk")
        assert batch is not None
        assert (batch["payment_ids"], batch["shared_grant"]) == ([first], 1)
        assert batch["debit_amount"] == {"value": "1"}
        assert batch["created_at"].tzinfo is not None

    on_each_database(tmp_path, database, scenario)


@pytest.mark.parametrize("database", DATABASES)
def test_abandoned_initiations_are_taken_once(tmp_path: Path, database: str) -> None:
    async def scenario(store: PaymentStore) -> None:
        now = utcnow()
        failed = await _payment(store, Status.INITIATING, initiation_failed_at=now)
        old = await _payment(store, Status.INITIATING, created_at=now - timedelta(hours=1))
        await _payment(store, Status.INITIATING)  # running now
        await _payment(store, Status.AWAITING_APPROVAL, created_at=now - timedelta(hours=1))
        before = now + timedelta(seconds=1), now - timedelta(minutes=15)
        taken = await asyncio.gather(
            store.delete_abandoned_initiations(*before),
            store.delete_abandoned_initiations(*before),
        )
        assert sorted(r.id for r in taken[0] + taken[1]) == sorted([failed, old])
        assert await store.get(failed) is None
        assert len(await store.active()) == 1

    on_each_database(tmp_path, database, scenario)
