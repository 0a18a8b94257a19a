"""The same state machine on PostgreSQL (`DATABASE_URL`), surviving a restart mid-flow."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shared.db import create_engine
from tests.op_api.harness import OpApi, Wallet, run_async
from tests.op_api.test_links import authorize, linked, one_tap, settled_or_asking

PG_URL = "postgresql://postgres@127.0.0.1/test"
Start = Callable[..., OpApi]


async def _sql(statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(PG_URL, Path("unused.sqlite3"))
    async with engine.begin() as conn:
        result = await conn.execute(text(statement))
        rows = [tuple(r) for r in result] if result.returns_rows else []
    await engine.dispose()
    return rows


def run_sql(statement: str) -> list[tuple[object, ...]]:
    return run_async(_sql(statement))


@pytest.fixture
def table_prefix() -> Iterator[str]:
    """A table of our own, so parallel runs sharing the database never clash."""
    prefix = f"op_t{uuid.uuid4().hex[:10]}_"
    yield prefix
    run_sql(
        f'DROP TABLE IF EXISTS "{prefix}payments", "{prefix}batches", "{prefix}links",'
        f' "{prefix}alembic_version"'
    )


@pytest.mark.postgres
def test_postgres_flow_survives_restart(wallet: Wallet, op_api: Start, table_prefix: str) -> None:
    env = {"DATABASE_URL": PG_URL, "DB_TABLE_PREFIX": table_prefix}
    first = op_api(**env)
    payment = first.start(
        wallet.address("alice"), wallet.address("bob"), "1.25", idempotencyKey="pg-1"
    )
    wallet.answer(payment["confirmationUrl"])
    first.proc.kill()
    second = op_api(**env)
    # Idempotency and state live in PostgreSQL, not in the dead process.
    again = second.send(
        wallet.address("alice"), wallet.address("bob"), "1.25", idempotencyKey="pg-1"
    )
    assert again.status_code == 200
    assert again.json()["paymentId"] == payment["paymentId"]
    final = second.until_final(payment["paymentId"])
    assert final["status"] == "completed", final
    rows = run_sql(f'SELECT status FROM "{table_prefix}payments"')
    assert rows == [("completed",)]
    ready = second.http.get("/ready").json()
    assert ready["checks"]["database"] == "ok"


@pytest.mark.postgres
def test_a_move_at_one_replica_wakes_a_watch_at_another(
    wallet: Wallet, op_api: Start, table_prefix: str
) -> None:
    """LISTEN/NOTIFY: the re-read interval is set beyond the test, so only the notification
    from the replica that moved the payment can wake the long poll at the other one."""
    env = {"DATABASE_URL": PG_URL, "DB_TABLE_PREFIX": table_prefix, "WATCH_REREAD_SECONDS": "60"}
    mover, watcher = op_api(**env), op_api(**env)
    pid = mover.start(wallet.address("alice"), wallet.address("bob"), "1.35")["paymentId"]
    answers: list[tuple[float, dict[str, Any]]] = []

    def watch() -> None:
        body = {"payments": [{"paymentId": pid, "status": "awaiting_approval"}], "waitSeconds": 25}
        answer = watcher.http.post("/payments/watch", json=body)
        answers.append((time.monotonic(), answer.json()))

    waiting = threading.Thread(target=watch)
    waiting.start()
    time.sleep(1.0)  # the watch is waiting at the other replica
    cancelled_at = time.monotonic()
    assert mover.http.delete(f"/payments/{pid}").status_code == 200
    waiting.join(timeout=30)
    assert answers, "the watch never answered"
    answered, body = answers[0]
    assert [(v["paymentId"], v["status"]) for v in body["payments"]] == [(pid, "failed")], body
    assert answered - cancelled_at < 10, answered - cancelled_at  # not the 25 s wait, nor 60 s


@pytest.mark.postgres
def test_two_replicas_never_spend_more_than_the_allowance(
    wallet: Wallet, op_api: Start, table_prefix: str
) -> None:
    """Issue 17: two one-tap payments of 30 against an allowance of 50, each confirmed at both
    replicas at once: exactly one is paid (once), the other asks for its own approval."""
    env = {"DATABASE_URL": PG_URL, "DB_TABLE_PREFIX": table_prefix}
    one, other = op_api(**env), op_api(**env)
    link = linked(one, wallet, "alice", allowance={"amount": "50", "interval": "P1W"})
    payments = [one_tap(one, wallet, link, "30.00") for _ in range(2)]
    alice = wallet.balance("alice")
    calls = [(api, p["paymentId"]) for p in payments for api in (one, other, one, other)]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        list(pool.map(lambda call: authorize(*call), calls))
    views = [settled_or_asking(other, p["paymentId"]) for p in payments]
    assert sorted(v["status"] for v in views) == ["awaiting_approval", "completed"], views
    fell_back = next(v for v in views if v["status"] == "awaiting_approval")
    assert fell_back["fallbackReason"] == "over_allowance"
    assert fell_back["confirmationUrl"]
    assert len(wallet.outgoing_posts(*(p["paymentId"] for p in payments))) == 1
    assert wallet.balance("alice") == alice - 3000
    assert one.http.get(f"/links/{link['linkId']}").json()["spent"]["value"] == "30.00"
