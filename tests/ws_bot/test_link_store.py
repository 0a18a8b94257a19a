"""Wallet links as the gateway keeps them (issue 17), on SQLite and PostgreSQL: each move is won
by one caller; due checks are pushed back; a wallet's verified owner is the one user who
proved it theirs and still has it as their wallet; links follow a number change."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.ws_bot.support import opened, run_async
from tests.ws_bot.test_postgres import _admin
from ws_bot.link_store import VERIFIED, Link, LinkState, LinkStore
from ws_bot.store import Store

WALLET = "https://wallet.example/ana"


def _link(wa_id: str, wallet: str = WALLET) -> Link:
    return Link(
        id=uuid.uuid4().hex,
        wa_id=wa_id,
        wallet_url=wallet,
        status=LinkState.PENDING,
        allowance={"amount": "50", "assetCode": "USD", "interval": "P1W"},
        created_at=time.time(),
    )


async def _scenario(store: Store) -> None:
    await store.create()
    rows = LinkStore(store)
    now = time.time()
    for wa_id in ("111", "222"):
        await store.users.ensure(wa_id, "Ana")
        await store.users.update(wa_id, wallet_url=WALLET, wallet_asset="USD")
    owner, impostor = _link("111"), _link("222")
    assert await rows.add(owner, now - 1)
    assert not await rows.add(owner, now - 1)  # a replayed tap: already known
    await rows.add(impostor, now + 3600)
    assert await rows.get(owner.id) == owner
    # Due once; then pushed back.
    assert [k.id for k in await rows.due(now, now + 30)] == [owner.id]
    assert await rows.due(now, now + 30) == []
    # Claiming a wallet is not owning it.
    user = await store.users.get("111")
    assert user is not None
    assert await rows.verified_owner(WALLET) is None
    assert await rows.current(user) is None
    # Activated once; then the owner, and one tap within its allowance.
    assert await rows.move(owner.id, (LinkState.PENDING,), LinkState.ACTIVE, now)
    assert not await rows.move(owner.id, (LinkState.PENDING,), LinkState.ACTIVE, now)
    found = await rows.verified_owner(WALLET)
    assert found is not None
    assert found.wa_id == "111"
    current = await rows.current(user)
    assert current is not None
    assert current.one_tap
    # Revoked at the wallet: still verified, no one tap.
    assert await rows.move(owner.id, (LinkState.ACTIVE,), LinkState.ALLOWANCE_REVOKED, now)
    current = await rows.current(user)
    assert current is not None
    assert not current.one_tap
    # A user who moved to another wallet no longer owns this one.
    await store.users.update("111", wallet_url="https://wallet.example/other")
    assert await rows.verified_owner(WALLET) is None
    await store.users.update("111", wallet_url=WALLET)
    # A number change takes the links along.
    assert await store.users.move("111", "333")
    await rows.follow_number("111", "333")
    assert [k.id for k in await rows.of_user("333", VERIFIED)] == [owner.id]
    found = await rows.verified_owner(WALLET)
    assert found is not None
    assert found.wa_id == "333"
    assert [k.id for k in await rows.of_wallet(WALLET)] == [impostor.id, owner.id]


def test_link_rows_on_sqlite(tmp_path: Path) -> None:
    run_async(lambda: opened(None, tmp_path / "ws.sqlite3", _scenario))


@pytest.mark.postgres
def test_link_rows_on_postgres() -> None:
    name = f"ws_bot_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        url = f"postgresql://postgres@127.0.0.1/{name}"
        run_async(lambda: opened(url, Path("unused.sqlite3"), _scenario))
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
