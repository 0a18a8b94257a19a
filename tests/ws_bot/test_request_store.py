"""Money requests as the gateway keeps them, on SQLite and PostgreSQL: each outcome and each
offer of the Pay / Decline buttons is won by exactly one caller; due checks are pushed back, and
replicas sweeping together (one claim each, SKIP LOCKED on PostgreSQL) take each request once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.ws_bot.support import opened, run_async
from tests.ws_bot.test_postgres import _admin
from ws_bot.request_store import MoneyRequest, RequestStatus, RequestStore
from ws_bot.store import Store


def _request(requester: str, payer: str | None) -> MoneyRequest:
    now = time.time()
    return MoneyRequest(
        id=uuid.uuid4().hex,
        requester=requester,
        payer=payer,
        payer_label="Pat",
        amount={"value": "5.00", "assetCode": "USD", "assetScale": 2},
        op_request_id="b3A",
        incoming_payment_url="https://wallet.example/incoming-payments/1",
        status=RequestStatus.ASKED,
        created_at=now,
        expires_at=now + 60,
    )


async def _scenario(store: Store) -> None:
    await store.create()
    rows = RequestStore(store)
    now = time.time()
    asked = _request("111", "222")
    linked = _request("111", None)
    await rows.add(asked, now - 1)
    await rows.add(linked, now + 3600)
    assert (await rows.get(asked.id)) == asked
    assert await rows.get("nope") is None
    # Due once; then pushed back.
    assert [r.id for r in await rows.due(now, now + 30)] == [asked.id]
    assert await rows.due(now, now + 30) == []
    # The buttons are offered once.
    assert [r.id for r in await rows.not_offered("222")] == [asked.id]
    assert await rows.mark_offered(asked.id)
    assert not await rows.mark_offered(asked.id)
    assert await rows.not_offered("222") == []
    # One outcome, told once; a closed request is never due again.
    assert await rows.finish(asked.id, RequestStatus.PAID)
    assert not await rows.finish(asked.id, RequestStatus.EXPIRED)
    assert (await rows.get(asked.id)).status == RequestStatus.PAID  # type: ignore[union-attr]
    assert await rows.due(now + 7200, now + 7300) == [await rows.get(linked.id)]
    # Both users' histories.
    assert {r.id for r in await rows.of_user("111")} == {asked.id, linked.id}
    assert [r.id for r in await rows.of_user("222")] == [asked.id]


def test_request_rows_on_sqlite(tmp_path: Path) -> None:
    run_async(lambda: opened(None, tmp_path / "ws.sqlite3", _scenario))


async def _replicas_sweep(store: Store, url: str) -> None:
    """Four replicas sweep 30 due requests at once: each request is taken by one of them."""
    await store.create()
    now = time.time()
    asked = [_request("111", f"2{i:02}") for i in range(30)]
    for request in asked:
        await RequestStore(store).add(request, now - 1)
    others = [await Store.open(url, Path("unused.sqlite3")) for _ in range(3)]
    try:
        sweeps = await asyncio.gather(
            *(RequestStore(s).due(now, now + 60, limit=10) for s in [store, *others])
        )
    finally:
        for other in others:
            await other.close()
    taken = [r.id for batch in sweeps for r in batch]
    taken += [r.id for r in await RequestStore(store).due(now, now + 60, limit=100)]
    assert sorted(taken) == sorted(r.id for r in asked)


def _on_postgres(scenario: Callable[[Store, str], Coroutine[Any, Any, None]]) -> None:
    """`scenario(store, url)` on a fresh PostgreSQL database, dropped afterwards."""
    name = f"ws_bot_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        url = f"postgresql://postgres@127.0.0.1/{name}"
        run_async(lambda: opened(url, Path("unused.sqlite3"), lambda s: scenario(s, url)))
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_request_rows_on_postgres() -> None:
    _on_postgres(lambda store, _: _scenario(store))


@pytest.mark.postgres
def test_replicas_sweeping_together_take_each_request_once() -> None:
    _on_postgres(_replicas_sweep)
