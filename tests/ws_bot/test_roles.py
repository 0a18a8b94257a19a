"""ws_bot as two processes on one database: ROLE=webhook only acknowledges, ROLE=worker only
answers (ws_bot.inbox_signal tells the worker of each stored body), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.processes import TEST_TOKEN, make_spawner
from tests.ws_bot import databases
from tests.ws_bot.support import buttons_of, metric, run_async, start_stack
from ws_bot import store as st
from ws_bot.inbox_signal import Doorbell, hearing_stored_bodies

either_database = databases.either_database

NEW_MESSAGES = 'paguito_ws_webhook_messages_total{result="new"}'
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_a_stored_body_wakes_a_worker_on_another_connection(
    tmp_path: Path, database_url: str | None
) -> None:
    run_async(lambda: _heard(tmp_path, database_url))


async def _heard(tmp_path: Path, database_url: str | None) -> None:
    path = tmp_path / "ws_bot.sqlite3"
    acks = await st.Store.open(database_url, path)
    await acks.create()
    acks.inbox.announce_to_workers()  # as ROLE=webhook does
    answers = await st.Store.open(database_url, path)
    heard = asyncio.Event()
    try:
        async with hearing_stored_bodies(answers.db, heard.set):
            await asyncio.sleep(0.1)  # nothing was stored: nothing is heard
            assert not heard.is_set()
            await acks.inbox.store_webhook(BODY)
            # No fallback look runs here: only the signal can set it.
            await asyncio.wait_for(heard.wait(), 10)
        assert [w.body for w in await answers.inbox.pending_webhooks()] == [BODY]
    finally:
        await answers.close()
        await acks.close()


def test_a_doorbell_that_cannot_be_used_never_fails_an_ack(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The bodies are committed before the bell rings: a bell in a place that cannot be written
    is logged once, and the worker falls back to looking every half second."""
    bell = Doorbell(str(tmp_path / "missing" / "ws_bot.sqlite3"))
    bell.ring()
    bell.ring()
    assert bell.read() == b""
    assert [r.message for r in caplog.records].count(
        "inbox doorbell unusable: stored bodies are found every half second"
    ) == 1
    working = Doorbell(str(tmp_path / "ws_bot.sqlite3"))
    before = working.read()
    working.ring()
    assert working.read() != before
    working.close()


def test_the_webhook_process_acknowledges_and_the_worker_process_answers(
    tmp_path_factory: pytest.TempPathFactory, database_url: str | None, uid: Callable[[], str]
) -> None:
    spawn, started = make_spawner(tmp_path_factory.mktemp("roles"))
    try:
        stack = start_stack(spawn, database_url=database_url, worker_process=True)
        assert stack.worker is not None
        user = uid()
        stack.phone.say(user, "hola", name="Ana")
        stack.phone.wait_for(user, lambda m: "English" in buttons_of(m))
        # The worker split and answered the message; the webhook process only stored it.
        assert metric(stack.worker.url, NEW_MESSAGES) == 1
        assert metric(stack.bot.url, NEW_MESSAGES) == 0

        # Each is ready when what it needs answers: the webhook, only the database.
        auth = {"Authorization": f"Bearer {TEST_TOKEN}"}
        ready = httpx.get(f"{stack.bot.url}/ready", headers=auth).json()
        assert ready == {"status": "ready", "checks": {"database": "ok"}}
        ready = httpx.get(f"{stack.worker.url}/ready", headers=auth).json()
        assert set(ready["checks"]) == {"database", "llm_back", "op_api"}
        assert ready["status"] == "ready"

        # A worker serves no webhook, and says where webhooks go.
        refused = httpx.post(f"{stack.worker.url}/webhook", content=BODY)
        assert refused.status_code == 404
        assert "ROLE=worker" in refused.json()["detail"]
        assert httpx.get(f"{stack.worker.url}/webhook").status_code == 404

        # With the worker down, Meta's webhooks are still acknowledged and nothing is lost:
        # the message is answered once a worker is back.
        stack.worker.stop()
        other = uid()
        sent = stack.phone.say(other, "hello", name="Bo")
        assert sent["webhookStatus"] == 200
        assert stack.phone.count(other) == 0
        stack.worker = stack.worker.start()
        stack.phone.wait_for(other, lambda m: "English" in buttons_of(m))
        assert metric(stack.bot.url, NEW_MESSAGES) == 0
    finally:
        for proc in reversed(started):
            proc.stop()
