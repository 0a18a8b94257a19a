"""The gateway's durable state on PostgreSQL: dedupe and polling survive a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sandbox.phone import meta
from tests.ws_bot.conftest import pointer
from tests.ws_bot.databases import postgres_database
from tests.ws_bot.support import APP_SECRET, PHONE_ID, buttons_of, run_async, start_stack

pytestmark = pytest.mark.postgres
SERVER = "postgresql+asyncpg://postgres@127.0.0.1/postgres"


def _admin(statement: str) -> None:
    async def run() -> None:
        engine = create_async_engine(SERVER, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    run_async(run)


@pytest.fixture
def database() -> Iterator[str]:
    """A database of our own, so parallel runs never share the gateway's tables."""
    yield from postgres_database()


def test_postgres_dedupe_and_polling_survive_restart(spawn, database: str) -> None:
    stack = start_stack(spawn, database_url=database)
    phone, wa_id = stack.phone, "15550888001"
    assert stack.backends is not None
    api = stack.backends.url
    phone.onboard(wa_id, "Pia", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    sent = phone.say(wa_id, "send 3 to " + pointer(stack.wallet("bob")))
    phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    phone.wait_for(
        wa_id, lambda m: m["body"].get("interactive", {}).get("type") == "cta_url", after=n
    )
    stack.bot.kill()
    stack.bot.start()
    # The first message again, after the restart: already seen, never answered twice.
    update = meta.message_update(
        phone_id=PHONE_ID,
        display_phone="15550001234",
        wa_id=wa_id,
        name="Pia",
        messages=[meta.message(wa_id, sent["id"], "text", {"body": "send 3 to x"})],
    )
    body = json.dumps(update).encode()
    r = httpx.post(
        f"{stack.bot.url}/webhook",
        content=body,
        headers={"X-Hub-Signature-256": meta.sign(body, APP_SECRET)},
    )
    assert r.status_code == 200
    pid = next(
        p["id"]
        for p in httpx.get(api + "/_test/payments").json()
        if p["idempotency_key"] == sent["id"]
    )
    n = phone.count(wa_id)
    httpx.post(api + f"/_test/payments/{pid}/outcome", json={"status": "completed"})
    phone.wait_text(wa_id, "Payment sent", after=n)
    assert not [m for m in phone.bot_messages(wa_id)[n:] if "Confirm" in buttons_of(m)]


def test_postgres_long_free_text_never_breaks_a_column(spawn, database: str) -> None:
    """PostgreSQL enforces column lengths (SQLite does not): long names and cards are clipped."""
    stack = start_stack(spawn, database_url=database)
    phone, wa_id = stack.phone, "15550888002"
    phone.onboard(wa_id, "N" * 200, pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    phone.act(wa_id, type="contacts", contacts=[{"name": "Z" * 250, "phone": "+1 " + "5" * 28}])
    phone.wait_text(wa_id, "What's their wallet address", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "send 5 to " + " ".join(["Bartholomew"] * 30))
    phone.wait_text(wa_id, "I don't know", after=n)
