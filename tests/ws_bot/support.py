"""Helpers for the gateway tests: the stack (fakes or real services + phone + ws_bot) and a
`Phone` client that acts as WhatsApp users through the sandbox phone's JSON API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from sandbox.phone.meta import sign
from tests.op_api.harness import Wallet, start_wallet, wallet_env
from tests.support.processes import (
    TEST_CLIENT_LIMITS,
    TEST_TOKEN,
    ServiceProcess,
    console_script,
    free_port,
    make_spawner,
)

APP_SECRET = "test-app-secret-0123456789"
ACCESS_TOKEN = "test-graph-token-0123456789"
VERIFY_TOKEN = "test-verify-token"
PHONE_ID = "100000000000001"

Message = dict[str, Any]
T = TypeVar("T")
# The allowance list's "ask me every time" row, by the language picked while onboarding.
ASK_EVERY_TIME = {"English": "Ask me every time", "Español": "Preguntarme cada vez"}


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a thread of its own.

    The session's sync Playwright keeps an event loop running on the main thread once a page
    test has run, so `asyncio.run` there would fail; a fresh thread has no loop.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def text_of(m: Message) -> str:
    """The visible text of a chat message (body of text or interactive messages)."""
    b = m["body"]
    if m["type"] == "template":
        return str(m.get("rendered") or "")
    if m["type"] == "text":
        return str(b["text"]["body"])
    if m["type"] == "interactive":
        i = b["interactive"]
        if "body" in i:
            return str(i["body"]["text"])
        reply = i.get("button_reply") or i.get("list_reply") or {}
        return str(reply.get("title", ""))
    return ""


def buttons_of(m: Message) -> list[str]:
    i = m["body"].get("interactive", {})
    action = i.get("action", {})
    if i.get("type") == "button":
        return [b["reply"]["title"] for b in action["buttons"]]
    if i.get("type") == "list":
        return [r["title"] for s in action["sections"] for r in s["rows"]]
    if i.get("type") == "cta_url":
        return [action["parameters"]["display_text"]]
    return []


def post_signed(stack: Stack, update: dict[str, Any]) -> httpx.Response:
    """POST a webhook update straight to ws_bot, signed as Meta signs it."""
    body = json.dumps(update).encode()
    headers = {"X-Hub-Signature-256": sign(body, APP_SECRET), "Content-Type": "application/json"}
    return httpx.post(f"{stack.bot.url}/webhook", content=body, headers=headers, timeout=10)


def open_windows(stack: Stack, body: bytes) -> None:
    """Webhooks posted straight to ws_bot bypass the sandbox phone, which therefore never saw
    those users write: tell it they just did, or their 24-hour window stays closed (as Meta's
    would be) and the bot's free-form answers fail with 131047."""
    try:
        update = json.loads(body)
        values = [c["value"] for e in update["entry"] for c in e["changes"]]
        senders = {str(m["from"]) for v in values for m in v.get("messages") or [] if "from" in m}
    except (ValueError, KeyError, TypeError):
        return
    for sender in senders:
        digits = sender.lstrip("+")
        if digits.isdigit():
            stack.phone.client.post(
                f"{stack.phone.url}/api/users/{digits}/window", json={"lastInboundAgeSeconds": 0}
            )


@dataclass
class Phone:
    url: str
    client: httpx.Client = field(
        default_factory=lambda: httpx.Client(timeout=30.0, limits=TEST_CLIENT_LIMITS)
    )

    def messages(self, wa_id: str) -> list[Message]:
        r = self.client.get(f"{self.url}/api/users/{wa_id}/messages")
        r.raise_for_status()
        return list(r.json())

    def bot_messages(self, wa_id: str) -> list[Message]:
        return [m for m in self.messages(wa_id) if m["direction"] == "out"]

    def act(self, wa_id: str, name: str = "", **action: Any) -> Message:
        r = self.client.post(
            f"{self.url}/api/users/{wa_id}/messages", json={"name": name or None, **action}
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def say(self, wa_id: str, text: str, name: str = "") -> Message:
        return self.act(wa_id, name, type="text", text=text)

    def tap(self, wa_id: str, title: str) -> Message:
        return self.act(wa_id, type="button", title=title)

    def pick(self, wa_id: str, title: str) -> Message:
        return self.act(wa_id, type="list", title=title)

    def wait_for(
        self,
        wa_id: str,
        predicate: Callable[[Message], bool],
        *,
        after: int = 0,
        timeout: float = 15.0,
    ) -> Message:
        """The first bot message (from index `after` of the bot's messages) matching `predicate`."""
        deadline = time.monotonic() + timeout
        seen: list[Message] = []
        while time.monotonic() < deadline:
            seen = self.bot_messages(wa_id)
            for m in seen[after:]:
                if predicate(m):
                    return m
            time.sleep(0.1)
        texts = [text_of(m) or m["type"] for m in seen]
        raise AssertionError(f"no matching bot message for {wa_id}; bot said: {texts}")

    def wait_text(
        self, wa_id: str, needle: str, *, after: int = 0, timeout: float = 15.0
    ) -> Message:
        return self.wait_for(
            wa_id, lambda m: needle.lower() in text_of(m).lower(), after=after, timeout=timeout
        )

    def count(self, wa_id: str) -> int:
        return len(self.bot_messages(wa_id))

    def onboard(
        self,
        wa_id: str,
        name: str,
        wallet: str,
        lang: str = "English",
        allowance: str | None = None,
    ) -> None:
        """Language, wallet, and the wallet linked (approved at the wallet) with `allowance`
        (a row title of the list; "ask me every time" by default)."""
        n = self.count(wa_id)
        self.say(wa_id, "hola", name=name)
        self.wait_for(wa_id, lambda m: "English" in buttons_of(m), after=n)
        n = self.count(wa_id)
        self.pick(wa_id, lang)
        self.wait_text(wa_id, "wallet" if lang == "English" else "billetera", after=n)
        n = self.count(wa_id)
        self.say(wa_id, wallet)
        self.link(wa_id, allowance or ASK_EVERY_TIME[lang], after=n)

    def link(self, wa_id: str, allowance: str, *, after: int, timeout: float = 30.0) -> Message:
        """Pick `allowance` from the list the bot sent (after index `after`), approve the link
        at the wallet; the bot's "✅ linked" message."""
        self.wait_for(wa_id, lambda m: allowance in buttons_of(m), after=after)
        n = self.count(wa_id)
        self.pick(wa_id, allowance)
        button = self.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
        n = self.count(wa_id)
        self.answer(approval_url(button) or "", "approve")
        return self.wait_for(wa_id, lambda m: "✅" in text_of(m), after=n, timeout=timeout)

    def answer(self, url: str, choice: str) -> None:
        """Approve or reject at the wallet what an approval button leads to: the sandbox
        wallet's consent (through its admin endpoint, as the owner's tap would, then back to
        op_api's finish page when there is one, as the browser would), or the fake op_api's
        link consent."""
        if "/auth/interact/" in url:
            base, rest = url.split("/auth/interact/", 1)
            interact_id = rest.split("/", 1)[0]
            r = self.client.post(f"{base}/admin/interactions/{interact_id}/{choice}")
            assert r.status_code == 200, r.text
            if redirect := r.json().get("redirect"):
                back = self.client.get(redirect)
                assert back.status_code in {200, 202}, back.text
            return
        r = self.client.post(url, json={"choice": choice})
        assert r.status_code == 200, r.text


@dataclass
class Stack:
    phone: Phone
    phone_proc: ServiceProcess
    bot: ServiceProcess
    backends: ServiceProcess | None
    llm_url: str
    op_url: str
    wallet_base: str
    bot_env: dict[str, str]
    spawn: Callable[..., ServiceProcess]
    worker: ServiceProcess | None = None  # ROLE=worker beside a ROLE=webhook `bot`

    def wallet(self, name: str) -> str:
        return f"{self.wallet_base}/{name}"

    def restart_bot(self, kill: bool = True) -> None:
        if kill:
            self.bot.kill()
        else:
            self.bot.stop()
        self.bot = self.bot.start()


def fake_backends(spawn: Callable[..., ServiceProcess]) -> ServiceProcess:
    return spawn(
        "fake_backends",
        [sys.executable, "-m", "tests.ws_bot.fake_backends", "--port", "{port}"],
    )


def phone_command(webhook_url: str) -> list[str]:
    """The sandbox phone's command line, posting its webhooks to `webhook_url`."""
    return [
        console_script("paguito-sandbox"),
        "phone",
        "--port",
        "{port}",
        "--webhook-url",
        webhook_url,
        "--app-secret",
        APP_SECRET,
        "--phone-id",
        PHONE_ID,
        "--access-token",
        ACCESS_TOKEN,
    ]


def start_stack(
    spawn: Callable[..., ServiceProcess],
    *,
    llm_url: str | None = None,
    op_url: str | None = None,
    wallet_base: str | None = None,
    extra_env: dict[str, str] | None = None,
    database_url: str | None = None,
    worker_process: bool = False,
) -> Stack:
    """The phone, ws_bot and (unless all three URLs are given) the fake backends. With
    `worker_process`, ws_bot runs as two processes on one database: `bot` with ROLE=webhook
    and `worker` with ROLE=worker."""
    backends = None
    if llm_url is None or op_url is None or wallet_base is None:
        backends = fake_backends(spawn)
    llm_url = llm_url or (backends.url if backends else "")
    op_url = op_url or (backends.url if backends else "")
    wallet_base = wallet_base or (backends.url if backends else "")
    bot_port = free_port()
    phone_proc = spawn("phone", phone_command(f"http://127.0.0.1:{bot_port}/webhook"))
    env = {
        "META_PHONE_ID": PHONE_ID,
        "META_ACCESS_TOKEN": ACCESS_TOKEN,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "META_APP_SECRET": APP_SECRET,
        "GRAPH_API_URL": phone_proc.url,
        "LLM_BACKEND": llm_url,
        "OP_BACKEND": op_url,
        "ALLOW_INSECURE_HTTP": "true",
        "POLL_INITIAL_SECONDS": "0.3",
        "POLL_MAX_SECONDS": "0.6",
        "POLLER_TICK_SECONDS": "0.2",
        "POLL_LEASE_SECONDS": "3",
        "INBOX_LEASE_SECONDS": "5",
        "REPLICA_ID": "ws-bot-test",
        "STAFF_NUMBERS": "+15550009999",
        "LLM_TIMEOUT_SECONDS": "5",
        "OP_TIMEOUT_SECONDS": "10",
        **(extra_env or {}),
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    if worker_process:
        env["ROLE"] = "webhook"
    bot = spawn("ws_bot", [console_script("ws-bot")], env=env, port=bot_port)
    worker = None
    if worker_process:  # same database: the webhook process's SQLite file, or DATABASE_URL
        worker_env = {**env, "ROLE": "worker", "REPLICA_ID": "ws-bot-test-worker"}
        worker_env["DATA_DIR"] = bot.env["DATA_DIR"]
        worker = spawn("ws_bot_worker", [console_script("ws-bot")], env=worker_env)
    return Stack(
        phone=Phone(phone_proc.url),
        phone_proc=phone_proc,
        bot=bot,
        backends=backends,
        llm_url=llm_url,
        op_url=op_url,
        wallet_base=wallet_base,
        bot_env=env,
        spawn=spawn,
        worker=worker,
    )


def metric(bot_url: str, sample: str) -> float:
    """The sum of the /metrics samples starting with `sample` (e.g. 'name{label="x"}').
    /metrics is an operational endpoint: it needs the internal token."""
    auth = {"Authorization": f"Bearer {TEST_TOKEN}"}
    text = httpx.get(f"{bot_url}/metrics", headers=auth).text
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(sample)
    )


def approval_url(m: Message) -> str | None:
    """The URL behind a bot message's approval button (a cta_url), if it has one."""
    i = m["body"].get("interactive", {})
    return i["action"]["parameters"]["url"] if i.get("type") == "cta_url" else None


@contextlib.contextmanager
def real_stack(
    base: Path,
    op_env: dict[str, str] | None = None,
    *,
    fake_openai: bool = False,
    bot_env: dict[str, str] | None = None,
) -> Iterator[tuple[Stack, Wallet, Callable[..., ServiceProcess]]]:
    """ws_bot with the real op_api and llm_back (offline, or on the fake OpenAI) on the sandbox
    wallet and phone; yields the stack, the wallet and the spawner (for more processes).
    `bot_env`: more of ws_bot's settings (e.g. a shared DATABASE_URL)."""
    spawn, started = make_spawner(base)
    wallet_proc, wallet = start_wallet(base / "wallet")
    try:
        op = spawn("op_api", [console_script("op-api")], {**wallet_env(wallet), **(op_env or {})})
        llm_env = {"OPENAI_API_KEY": ""}
        if fake_openai:
            fake = spawn(
                "fake_openai", [console_script("paguito-sandbox"), "openai", "--port", "{port}"]
            )
            llm_env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.url + "/v1"}
        llm = spawn("llm_back", [console_script("llm-back")], llm_env)
        yield (
            start_stack(
                spawn, llm_url=llm.url, op_url=op.url, wallet_base=wallet.url, extra_env=bot_env
            ),
            wallet,
            spawn,
        )
    finally:
        for proc in reversed(started):
            proc.stop()
        wallet_proc.stop()


async def opened(
    url: str | None, sqlite_path: Path, scenario: Callable[..., Coroutine[Any, Any, Any]]
) -> None:
    """`scenario(store)` on the gateway's store at `url` (or the SQLite file), closed after."""
    from ws_bot.store import Store

    store = await Store.open(url, sqlite_path)
    try:
        await scenario(store)
    finally:
        await store.close()
