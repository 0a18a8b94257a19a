"""The gateway's store on SQLite and PostgreSQL: stored bodies, splitting, dedupe that outlives
pruning, one claim per row, leases."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from sandbox.phone import meta
from tests.ws_bot import databases
from tests.ws_bot.support import run_async
from ws_bot.inbox_store import InboxMessage, in_sent_order
from ws_bot.settings import Settings
from ws_bot.store import Store
from ws_bot.worker import InboxWorker


async def _enqueue(store: Store, items: list[tuple[str, str, bytes]]) -> int:
    """Store one webhook body and file it as already split into `items`; how many were new."""
    await store.inbox.store_webhook(b"{}")
    (webhook,) = await store.inbox.pending_webhooks()
    messages = [InboxMessage(*item, sent_at=0.0) for item in items]
    return (await store.inbox.file_webhooks([(webhook.id, messages)], [])).new


either_database = databases.either_database  # each test runs on SQLite and PostgreSQL


def test_dedupe_claims_and_pruning(tmp_path: Path, database_url: str | None) -> None:
    run_async(lambda: _scenario(tmp_path, database_url))


async def _scenario(tmp_path: Path, database_url: str | None) -> None:
    store = await Store.open(database_url, tmp_path / "ws.sqlite3")
    await store.create()
    try:
        assert await _enqueue(store, [("m1", "111", b"{}"), ("m2", "111", b"{}")]) == 2
        assert await _enqueue(store, [("m1", "111", b"{}")]) == 0
        # One row per user at a time, in order; a busy user gets nothing more.
        first = await store.inbox.claim("a", 60, 10, set())
        assert [i.message_id for i in first] == ["m1"]
        assert await store.inbox.claim("b", 60, 10, {"111"}) == []
        assert await store.inbox.claim("b", 60, 10, set()) == []  # m2 waits for m1's user
        assert await store.inbox.finish(first[0])  # m2, its user's next, is waiting
        second = await store.inbox.claim("b", 60, 10, set())
        assert [i.message_id for i in second] == ["m2"]
        assert not await store.inbox.finish(second[0])  # nothing more from 111
        assert await store.inbox.webhook_counts() == {"split": 2}
        assert await store.inbox.prune(time.time() + 1) == 2
        assert await store.inbox.webhook_counts() == {}  # split bodies live on as their messages
        assert await _enqueue(store, [("m1", "111", b"{}")]) == 0  # still deduped after pruning
        assert await store.inbox.counts() == {"done": 2}
        # Concurrent deliveries share one group commit, and each returns once committed.
        await asyncio.gather(
            *(store.inbox.store_webhook(f'{{"n":{i}}}'.encode()) for i in range(20))
        )
        stored = await store.inbox.pending_webhooks()
        assert [w.body for w in stored] == [f'{{"n":{i}}}'.encode() for i in range(20)]
        # Filed together, a message id repeated across bodies is new exactly once.
        filed = await store.inbox.file_webhooks(
            [
                (
                    w.id,
                    [
                        InboxMessage("m9", "222", b"{}", 0.0),
                        InboxMessage(f"x{i}", "222", b"{}", 0.0),
                    ],
                )
                for i, w in enumerate(stored)
            ],
            [],
        )
        assert (filed.new, filed.duplicate) == (21, 19)
        assert await store.inbox.counts() == {"done": 2, "pending": 21}
        assert await store.inbox.pending_webhooks() == []
    finally:
        await store.close()


def test_a_cancelled_ack_leaves_no_body_behind_it_waiting(
    tmp_path: Path, database_url: str | None
) -> None:
    run_async(lambda: _cancelled_writer(tmp_path, database_url))


async def _cancelled_writer(tmp_path: Path, database_url: str | None) -> None:
    """The first of several concurrent acks writes the batch itself; when it is cancelled in
    the middle (a shutdown), the bodies that arrived behind it are still written, and answered."""
    store = await Store.open(database_url, tmp_path / "ws.sqlite3")
    await store.create()
    try:
        writer = asyncio.create_task(store.inbox.store_webhook(b'{"n":0}'))
        await asyncio.sleep(0)  # it is writing now
        behind = [
            asyncio.create_task(store.inbox.store_webhook(f'{{"n":{i}}}'.encode())) for i in (1, 2)
        ]
        await asyncio.sleep(0)  # they wait for the next batch
        writer.cancel()
        await asyncio.wait_for(asyncio.gather(*behind), 10)
        bodies = [w.body for w in await store.inbox.pending_webhooks()]
        assert bodies[-2:] == [b'{"n":1}', b'{"n":2}']
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    finally:
        await store.close()


def _settings(**overrides: Any) -> Settings:
    return Settings(
        internal_api_token="x" * 20,
        meta_app_secret="s" * 10,
        meta_access_token="t",
        meta_phone_id="1",
        **overrides,
    )


def test_the_worker_splits_stored_bodies_and_marks_the_ones_that_do_not_split(
    tmp_path: Path, database_url: str | None
) -> None:
    run_async(lambda: _splitting(tmp_path, database_url))


async def _splitting(tmp_path: Path, database_url: str | None) -> None:
    store = await Store.open(database_url, tmp_path / "ws.sqlite3")
    await store.create()
    worker = InboxWorker(_settings(), store, None, None)  # type: ignore[arg-type]
    good = meta.message_update(
        phone_id="1",
        display_phone="15550001234",
        wa_id="111",
        name="Ana",
        messages=[meta.message("111", "wamid.a", "text", {"body": "hola"})],
    )
    no_id = {"entry": [{"changes": [{"field": "messages", "value": {"messages": [{"x": 1}]}}]}]}
    before = REGISTRY.get_sample_value("paguito_ws_webhook_unsplittable_total") or 0.0
    try:
        for body in (good, no_id, good):
            await store.inbox.store_webhook(json.dumps(body).encode())
        await worker.split()
        assert await store.inbox.webhook_counts() == {"split": 2, "bad": 1}
        assert await store.inbox.counts() == {"pending": 1}  # the repeat was a duplicate
        (item,) = await store.inbox.claim("r", 60, 10, set())
        assert (item.message_id, item.wa_id) == ("wamid.a", "111")
        after = REGISTRY.get_sample_value("paguito_ws_webhook_unsplittable_total")
        assert after == before + 1
        # The bad body is kept, with its reason, for a person to read.
        (note,) = await store.db.read("SELECT note FROM ws_webhooks WHERE status = 'bad'")
        assert "message without id" in note["note"]
    finally:
        await store.close()


def test_messages_filed_together_are_handled_in_the_order_they_were_sent(
    tmp_path: Path, database_url: str | None
) -> None:
    """Issue 15: Meta may deliver a user's messages out of order; the newer one arriving first
    must not be handled first."""
    run_async(lambda: _sent_order(tmp_path, database_url))


async def _sent_order(tmp_path: Path, database_url: str | None) -> None:
    store = await Store.open(database_url, tmp_path / "ws.sqlite3")
    await store.create()
    worker = InboxWorker(_settings(), store, None, None)  # type: ignore[arg-type]

    def body(message_id: str, text: str, sent: int) -> bytes:
        msg = meta.message("111", message_id, "text", {"body": text})
        msg["timestamp"] = str(sent)
        update = meta.message_update(
            phone_id="1", display_phone="15550001234", wa_id="111", name="Ana", messages=[msg]
        )
        return json.dumps(update).encode()

    try:
        await store.inbox.store_webhook(body("wamid.new", "send 3 to Bob", 1_700_000_060))
        await store.inbox.store_webhook(body("wamid.old", "cancel", 1_700_000_000))
        await worker.split()
        handled = []
        while items := await store.inbox.claim("r", 60, 10, set()):
            for item in items:
                handled.append(item.message_id)
                await store.inbox.finish(item)
        assert handled == ["wamid.old", "wamid.new"]
    finally:
        await store.close()


def test_a_users_older_message_delivered_later_is_still_handled_first(
    tmp_path: Path, database_url: str | None
) -> None:
    """Issue 15: bodies split in separate batches, the newer message first; while both wait,
    the one sent first is claimed first."""
    run_async(lambda: _later_delivery(tmp_path, database_url))


async def _later_delivery(tmp_path: Path, database_url: str | None) -> None:
    store = await Store.open(database_url, tmp_path / "ws.sqlite3")
    await store.create()
    worker = InboxWorker(_settings(), store, None, None)  # type: ignore[arg-type]

    def body(message_id: str, sent: int) -> bytes:
        msg = meta.message("111", message_id, "text", {"body": message_id})
        msg["timestamp"] = str(sent)
        update = meta.message_update(
            phone_id="1", display_phone="15550001234", wa_id="111", name="Ana", messages=[msg]
        )
        return json.dumps(update).encode()

    try:
        await store.inbox.store_webhook(body("wamid.newer", 1_700_000_060))
        await worker.split()
        await store.inbox.store_webhook(body("wamid.older", 1_700_000_000))
        await worker.split()
        handled = []
        while items := await store.inbox.claim("r", 60, 10, set()):
            assert len(items) == 1  # one message at a time for one user
            handled.append(items[0].message_id)
            await store.inbox.finish(items[0])
        assert handled == ["wamid.older", "wamid.newer"]
    finally:
        await store.close()


def test_sent_order_keeps_arrival_order_for_ties_and_missing_times() -> None:
    def m(message_id: str, sent: float) -> InboxMessage:
        return InboxMessage(message_id, "1", b"{}", sent)

    messages = [m("a", 20), m("b", 0), m("c", 10), m("d", 10), m("e", 0)]
    # "b" has no time: it stays after "a"; "e" stays after "d".
    assert [x.message_id for x in in_sent_order(messages)] == ["c", "d", "e", "a", "b"]


def test_a_message_that_keeps_failing_is_parked_and_the_user_told(
    tmp_path: Path, database_url: str | None
) -> None:
    run_async(lambda: _parked(tmp_path, database_url))


async def _parked(tmp_path: Path, database_url: str | None) -> None:
    settings = _settings(inbox_max_attempts=2)
    store = await Store.open(database_url, tmp_path / "ws.sqlite3")
    await store.create()
    told: list[str] = []

    async def apologise(wa_id: str) -> None:
        told.append(wa_id)

    class Exploding:
        async def webhook_update_handler(self, payload: bytes) -> None:
            raise RuntimeError("boom")

    worker = InboxWorker(settings, store, Exploding(), apologise)  # type: ignore[arg-type]
    try:
        await _enqueue(store, [("m1", "111", b"{}")])
        for _ in range(3):  # two failed tries, then the third claim parks it
            (item,) = await store.inbox.claim("r", 60, 1, set())
            await worker._process(item)
        assert told == ["111"]
        assert await store.inbox.counts() == {"failed": 1}
    finally:
        await store.close()


def test_replicas_claiming_at_once_take_one_message_per_user_in_sent_order(
    tmp_path: Path, database_url: str | None
) -> None:
    """The claim is one UPDATE: replicas claiming together never take the same row, nor two
    rows of one user, and each user's messages are handled in the order they were sent."""
    run_async(lambda: _replicas(tmp_path, database_url))


async def _replicas(tmp_path: Path, database_url: str | None) -> None:
    stores = [await Store.open(database_url, tmp_path / "ws.sqlite3") for _ in range(4)]
    await stores[0].create()
    users = [f"5550{u}" for u in range(6)]
    # Sent times run backwards across bodies: filing order is not handling order.
    sent = {f"m{u}-{n}": 1_700_000_000.0 + 10 * (9 - n) + u for u in range(6) for n in range(10)}
    try:
        await stores[0].inbox.store_webhook(b"{}")
        (webhook,) = await stores[0].inbox.pending_webhooks()
        messages = [InboxMessage(m, users[int(m[1])], b"{}", at) for m, at in sent.items()]
        assert (await stores[0].inbox.file_webhooks([(webhook.id, messages)], [])).new == 60
        handled: dict[str, list[str]] = {u: [] for u in users}
        while sum(map(len, handled.values())) < 60:
            won = await asyncio.gather(
                *(s.inbox.claim(f"r{i}", 60, 3, set()) for i, s in enumerate(stores))
            )
            claimed = [item for batch in won for item in batch]
            assert claimed, "pending messages but nothing claimed"
            assert len({item.wa_id for item in claimed}) == len(claimed), "two of one user"
            for item in claimed:
                handled[item.wa_id].append(item.message_id)
                await stores[0].inbox.finish(item)
        for user, ids in handled.items():
            assert ids == sorted(ids, key=sent.__getitem__), user
    finally:
        for s in stores:
            await s.close()
