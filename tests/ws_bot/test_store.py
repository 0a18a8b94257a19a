"""The gateway's store on SQLite: dedupe that outlives pruning, one claim per row, leases."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from shared.db import create_engine
from tests.ws_bot.support import run_async
from ws_bot.store import Store


def test_dedupe_claims_and_pruning(tmp_path: Path) -> None:
    run_async(lambda: _scenario(tmp_path))


async def _scenario(tmp_path: Path) -> None:
    store = Store(create_engine(None, tmp_path / "ws.sqlite3"))
    await store.create()
    try:
        assert await store.enqueue([("m1", "111", b"{}"), ("m2", "111", b"{}")]) == 2
        assert await store.enqueue([("m1", "111", b"{}")]) == 0
        # One row per user at a time, in order; a busy user gets nothing more.
        first = await store.claim_inbox("a", 60, 10, set())
        assert [i.message_id for i in first] == ["m1"]
        assert await store.claim_inbox("b", 60, 10, {"111"}) == []
        assert await store.claim_inbox("b", 60, 10, set()) == []  # m2 waits for m1's user
        await store.finish_inbox(first[0].id)
        second = await store.claim_inbox("b", 60, 10, set())
        assert [i.message_id for i in second] == ["m2"]
        await store.finish_inbox(second[0].id)
        assert await store.prune_inbox(time.time() + 1) == 2
        assert await store.enqueue([("m1", "111", b"{}")]) == 0  # still deduped after pruning
        assert await store.inbox_counts() == {"done": 2}
        # Concurrent deliveries share one group commit; a repeated id is new exactly once.
        results = await asyncio.gather(
            *(store.enqueue([("m9", "222", b"{}"), (f"x{i}", "222", b"{}")]) for i in range(20))
        )
        assert sum(results) == 21
        assert await store.inbox_counts() == {"done": 2, "pending": 21}
    finally:
        await store.engine.dispose()


def test_a_message_that_keeps_failing_is_parked_and_the_user_told(tmp_path: Path) -> None:
    run_async(lambda: _parked(tmp_path))


async def _parked(tmp_path: Path) -> None:
    from ws_bot.settings import Settings
    from ws_bot.worker import InboxWorker

    settings = Settings(
        internal_api_token="x" * 20,
        meta_app_secret="s" * 10,
        meta_access_token="t",
        meta_phone_id="1",
        inbox_max_attempts=2,
    )
    store = Store(create_engine(None, tmp_path / "ws.sqlite3"))
    await store.create()
    told: list[str] = []

    async def apologise(wa_id: str) -> None:
        told.append(wa_id)

    class Exploding:
        async def webhook_update_handler(self, payload: bytes) -> None:
            raise RuntimeError("boom")

    worker = InboxWorker(settings, store, Exploding(), apologise)  # type: ignore[arg-type]
    try:
        await store.enqueue([("m1", "111", b"{}")])
        for _ in range(3):  # two failed tries, then the third claim parks it
            (item,) = await store.claim_inbox("r", 60, 1, set())
            await worker._process(item)
        assert told == ["111"]
        assert await store.inbox_counts() == {"failed": 1}
    finally:
        await store.engine.dispose()
