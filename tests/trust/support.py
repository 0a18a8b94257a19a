"""The whole stack for the trust tests: real processes, several replicas sharing PostgreSQL.

Built from the other folders' helpers (the wallet harness of tests/op_api, the phone stack of
tests/ws_bot) so a change in how a service starts is made in one place. What is new here: a
database per test run (ws_bot has no table prefix, so replicas are isolated by database), a
second replica of ws_bot and op_api, and signed webhooks posted straight to a chosen replica.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from sandbox.phone import meta
from shared.db import create_engine
from tests.op_api.harness import OpApi, Wallet, start_wallet, wallet_env
from tests.support.processes import ServiceProcess, console_script, make_spawner
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import APP_SECRET, PHONE_ID, Phone, buttons_of, start_stack, text_of

PG_SERVER = "postgresql://postgres@127.0.0.1/postgres"
# The local server trusts loopback and ignores it, but every service is handed a URL with a
# password, so the tests can check that it never comes back out.
DB_PASSWORD = "trust-db-pw-4c1d"
Spawn = Callable[..., ServiceProcess]

__all__ = ["Phone", "buttons_of", "pointer", "text_of"]


def sql(database_url: str, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement (autocommit) and return its rows, if any."""

    async def run() -> list[tuple[Any, ...]]:
        engine = create_engine(database_url, Path("unused.sqlite3"), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text(statement))
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one stack, dropped (connections and all) afterwards."""
    name = f"paguito_trust_{uuid.uuid4().hex[:12]}"
    sql(PG_SERVER, f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1/{name}"
    finally:
        sql(PG_SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Replicated:
    """Wallet, llm_back, N op_api and N ws_bot replicas (bot i talks to op_api i), one phone."""

    wallet: Wallet
    wallet_proc: ServiceProcess
    llm: ServiceProcess
    ops: list[OpApi]
    bots: list[ServiceProcess]
    phone: Phone
    phone_proc: ServiceProcess
    spawn: Spawn
    database_url: str | None = None
    bot_envs: list[dict[str, str]] = field(default_factory=list)
    op_envs: list[dict[str, str]] = field(default_factory=list)
    worker: ServiceProcess | None = None  # the first bot's ROLE=worker, when it has one

    def procs(self) -> list[ServiceProcess]:
        return [self.wallet_proc, self.llm, *(o.proc for o in self.ops), *self.bots]


OP_ENV = {"WORKER_INTERVAL_SECONDS": "0.3", "PAYMENT_EXPIRY_SECONDS": "120"}
FAST_POLLING = {
    "POLL_INITIAL_SECONDS": "0.3",
    "POLL_MAX_SECONDS": "0.6",
    "POLLER_TICK_SECONDS": "0.2",
    "POLL_LEASE_SECONDS": "3",
}


def start_replicated(
    base: Path,
    spawn: Spawn,
    *,
    replicas: int = 2,
    database_url: str | None = None,
    bot_env: dict[str, str] | None = None,
    op_env: dict[str, str] | None = None,
    llm_env: dict[str, str] | None = None,
    worker_process: bool = False,
) -> Replicated:
    wallet_proc, wallet = start_wallet(base / "wallet")
    db = {"DATABASE_URL": database_url} if database_url else {}
    llm = spawn("llm_back", [console_script("llm-back")], {"OPENAI_API_KEY": "", **(llm_env or {})})
    op_envs = [{**wallet_env(wallet), **OP_ENV, **db, **(op_env or {})} for _ in range(replicas)]
    ops = [
        OpApi(spawn(f"op_api_{i}", [console_script("op-api")], env))
        for i, env in enumerate(op_envs)
    ]
    extra = {"RATE_LIMIT_MESSAGES": "1000", **(bot_env or {})}
    first = start_stack(
        spawn,
        llm_url=llm.url,
        op_url=ops[0].url,
        wallet_base=wallet.url,
        database_url=database_url,
        extra_env={**extra, "REPLICA_ID": "bot-0"},
        worker_process=worker_process,
    )
    bots, bot_envs = [first.bot], [first.bot_env]
    for i in range(1, replicas):
        env = {**first.bot_env, "REPLICA_ID": f"bot-{i}", "OP_BACKEND": ops[i].url}
        bots.append(spawn(f"ws_bot_{i}", [console_script("ws-bot")], env))
        bot_envs.append(env)
    return Replicated(
        wallet=wallet,
        wallet_proc=wallet_proc,
        llm=llm,
        ops=ops,
        bots=bots,
        phone=first.phone,
        phone_proc=first.phone_proc,
        spawn=spawn,
        database_url=database_url,
        bot_envs=bot_envs,
        op_envs=op_envs,
        worker=first.worker,
    )


@contextmanager
def replicated_stack(base: Path, **kwargs: Any) -> Iterator[Replicated]:
    spawn, started = make_spawner(base)
    stack: Replicated | None = None
    try:
        stack = start_replicated(base, spawn, **kwargs)
        yield stack
    finally:
        for proc in reversed(started):
            proc.stop()
        if stack is not None:
            stack.wallet_proc.stop()


# ---------------------------------------------------------------------- webhooks by hand


def update_body(wa_id: str, name: str, msg: dict[str, Any]) -> bytes:
    update = meta.message_update(
        phone_id=PHONE_ID, display_phone="15550001234", wa_id=wa_id, name=name, messages=[msg]
    )
    return json.dumps(update, separators=(",", ":")).encode()


def text_message(wa_id: str, message_id: str, body: str) -> dict[str, Any]:
    return meta.message(wa_id, message_id, "text", {"body": body})


def button_message(wa_id: str, message_id: str, button_id: str, title: str) -> dict[str, Any]:
    reply = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    return meta.message(wa_id, message_id, "interactive", reply)


async def deliver_all(deliveries: list[tuple[str, bytes]]) -> list[int]:
    """POST every (bot url, body) at once, signed as Meta would; the statuses in order."""
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(url: str, body: bytes) -> int:
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta.sign(body, APP_SECRET),
            }
            return (await client.post(f"{url}/webhook", content=body, headers=headers)).status_code

        return list(await asyncio.gather(*(one(u, b) for u, b in deliveries)))


def button_id(m: dict[str, Any], title: str) -> str:
    buttons = m["body"]["interactive"]["action"]["buttons"]
    return str(next(b["reply"]["id"] for b in buttons if b["reply"]["title"] == title))


def approval_url(m: dict[str, Any]) -> str | None:
    i = m["body"].get("interactive", {})
    return str(i["action"]["parameters"]["url"]) if i.get("type") == "cta_url" else None


def ask_and_confirm(phone: Phone, wa_id: str, text: str, timeout: float = 30) -> str:
    """Ask the bot to pay, wait for the summary, tap Confirm; the approval URL it sent."""
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=timeout)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    url = approval_url(phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n))
    assert url is not None
    return url


def debits(stack: Replicated, wallet: str) -> list[dict[str, Any]]:
    """The money that left the sandbox wallet named `wallet`."""
    body = stack.wallet.admin("GET", f"/wallets/{wallet}").json()
    return [m for m in body["movements"] if int(m["amount"]) < 0]


def duplicates_pay_once(
    stack: Replicated, wa_id: str, name: str, wallet: str, urls: list[str], asks: int, taps: int
) -> None:
    """The same ask delivered `asks` times and the summary's Confirm tapped `taps` times (each
    its own message), all at once, spread over the gateways at `urls`: one summary, one
    approval link, "already confirmed" for every other tap, and once approved one receipt,
    one debit of `wallet` and one outgoing payment at the wallet."""
    phone = stack.phone
    n = phone.count(wa_id)
    ask = update_body(
        wa_id,
        name,
        text_message(
            wa_id,
            f"wamid.ask{uuid.uuid4().hex}",
            "send 5 to " + pointer(stack.wallet.address("bob")),
        ),
    )
    statuses = asyncio.run(deliver_all([(urls[i % len(urls)], ask) for i in range(asks)]))
    assert statuses == [200] * asks
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    time.sleep(1.0)  # a duplicate being processed late would show up now
    summaries = [m for m in phone.bot_messages(wa_id)[n:] if "Confirm" in buttons_of(m)]
    assert len(summaries) == 1, [text_of(m) for m in phone.bot_messages(wa_id)[n:]]

    confirm = button_id(summary, "Confirm")
    n = phone.count(wa_id)
    deliveries = [
        (
            urls[i % len(urls)],
            update_body(
                wa_id,
                name,
                button_message(wa_id, f"wamid.tap{i}{uuid.uuid4().hex}", confirm, "Confirm"),
            ),
        )
        for i in range(taps)
    ]
    assert asyncio.run(deliver_all(deliveries)) == [200] * taps
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and phone.count(wa_id) - n < taps:
        time.sleep(0.2)
    answers = phone.bot_messages(wa_id)[n:]
    links = [m for m in answers if approval_url(m)]
    already = [m for m in answers if "already confirmed" in text_of(m)]
    assert len(links) == 1, [text_of(m) for m in answers]
    assert len(already) == taps - 1

    url = approval_url(links[0])
    assert url is not None
    n = phone.count(wa_id)
    assert stack.wallet.answer(url, "approve").status_code == 200
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=30)
    time.sleep(2.0)  # the pollers get several more ticks to (wrongly) say it again
    assert receipts(phone, wa_id, n) == 1
    assert len(debits(stack, wallet)) == 1
    assert len(outgoing_creations(stack.wallet, stack.wallet.address(wallet))) == 1


def receipts(phone: Phone, wa_id: str, after: int) -> int:
    """How many receipts the user got among the bot's messages from index `after`."""
    return sum(1 for m in phone.bot_messages(wa_id)[after:] if "Payment sent" in text_of(m))


def outgoing_creations(wallet: Wallet, sender: str) -> list[dict[str, Any]]:
    """The outgoing payments the wallet created for `sender` (its recorded exchanges)."""
    return [
        e
        for e in wallet.exchanges()
        if e["method"] == "POST"
        and e["path"].endswith("/outgoing-payments")
        and e["status"] in (200, 201)
        and json.loads(e["request_body"]).get("walletAddress") == sender
    ]


def settle_quietly(seconds: float) -> None:
    """Give background workers time to do something they must not do (a second receipt)."""
    time.sleep(seconds)
