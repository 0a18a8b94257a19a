"""The store's WhatsApp-delivery tables on SQLite and PostgreSQL: newest inbound time, notices
that fall back exactly once, and a number change moving a user with what points at them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.ws_bot import databases
from tests.ws_bot.support import run_async
from ws_bot import notice_store
from ws_bot import store as st

either_database = databases.either_database  # each test runs on SQLite and PostgreSQL


def test_delivery_tables(tmp_path: Path, database_url: str | None) -> None:
    run_async(lambda: _scenario(tmp_path, database_url))


async def _scenario(tmp_path: Path, database_url: str | None) -> None:
    store = await st.Store.open(database_url, tmp_path / "ws.sqlite3")
    await store.create()
    try:
        # The newest message time only moves forward, whatever the order they are handled in.
        assert await store.users.record_inbound("111", 100.0) is None
        assert await store.users.record_inbound("111", 300.0) == 100.0
        assert await store.users.record_inbound("111", 200.0) == 300.0
        await asyncio.gather(*(store.users.record_inbound("111", 400.0 + i) for i in range(10)))
        assert await store.users.last_inbound("111") == 409.0
        # A notice falls back once, however many failed statuses arrive.
        notice = notice_store.SentNotice(
            "wamid.n", "111", "paguito_staff_notice", "en", {"ref": "p1"}
        )
        await store.notices.remember(notice)
        claims = await asyncio.gather(*(store.notices.claim_fallback("wamid.n") for _ in range(5)))
        assert [c for c in claims if c is not None] == [notice]
        assert await store.notices.claim_fallback("wamid.other") is None
        await store.notices.prune(time.time() + 1)
        # A number change moves the user, their book, and others' cards of them.
        await store.users.ensure("111", "Old")
        await store.users.update("111", language="en", wallet_url="https://w.example/old")
        await store.users.ensure("222", "Friend")
        await store.contacts.save("222", "Old", None, "+111")
        await store.contacts.save("111", "Pal", "https://w.example/pal")
        await store.users.ensure("333", "")  # a first message from the new number came first
        assert await store.users.move("111", "333")
        moved = await store.users.get("333")
        assert moved is not None
        assert (moved.language, moved.wallet_url) == ("en", "https://w.example/old")
        assert await store.users.get("111") is None
        assert await store.contacts.find("333", "Pal") is not None
        friend_card = await store.contacts.find("222", "Old")
        assert friend_card is not None
        assert friend_card.phone == "+333"
        assert await store.users.last_inbound("333") == 409.0
        assert not await store.users.move("111", "444")  # nobody left at the old number
    finally:
        await store.close()
