"""Issue 14, items 2-5, driven through the sandbox phone and a small hostile wallet server: a
wallet document that never ends, one that drips a byte every few seconds, one that redirects to
another origin, and documents that lie about where the wallet lives or what it is called.

The stack runs with ALLOW_INSECURE_HTTP (everything is on 127.0.0.1), so these tests exercise the
byte cap, the deadline and the origin rules; the address check itself (which that setting turns
off) is tested in tests/shared/test_untrusted.py.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.op_api.harness import Wallet, start_wallet, wallet_env
from tests.support.hostile import HostileServer
from tests.support.processes import TEST_TOKEN, ServiceProcess, console_script, make_spawner
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Phone, Stack, buttons_of, start_stack, text_of

pytestmark = pytest.mark.slow

FETCH_SECONDS = 2.0
REFUSED = "couldn't find a wallet"
_ids = itertools.count(15550700000)
Uid = Callable[[], str]


@pytest.fixture
def uid() -> Uid:
    """Fresh WhatsApp ids, so the tests sharing this stack never share a user."""
    return lambda: str(next(_ids))


class Hostile:
    def __init__(self, stack: Stack, wallet: Wallet, server: HostileServer, op: ServiceProcess):
        self.stack, self.wallet, self.server, self.op = stack, wallet, server, op
        self.phone: Phone = stack.phone


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    base = tmp_path_factory.mktemp("hostile_wallet")
    spawn, started = make_spawner(base)
    wallet_proc, wallet = start_wallet(base / "wallet")
    # One byte a second: each read comes within any per-read timeout, so only an overall
    # deadline stops it (1,000 bytes would take 17 minutes).
    server = HostileServer(drip_seconds=1.0).start()
    try:
        op = spawn("op_api", [console_script("op-api")], wallet_env(wallet))
        llm = spawn("llm_back", [console_script("llm-back")], {"OPENAI_API_KEY": ""})
        stack = start_stack(
            spawn,
            llm_url=llm.url,
            op_url=op.url,
            wallet_base=wallet.url,
            extra_env={
                "WALLET_FETCH_TIMEOUT_SECONDS": str(FETCH_SECONDS),
                "WORKER_CONCURRENCY": "4",
                "RATE_LIMIT_MESSAGES": "1000",
            },
        )
        yield Hostile(stack, wallet, server, op)
    finally:
        for proc in reversed(started):
            proc.stop()
        wallet_proc.stop()
        server.stop()


def _ask_for_wallet(phone: Phone, wa_id: str) -> int:
    """Start onboarding up to the wallet question; the bot's message count at that point."""
    n = phone.count(wa_id)
    phone.say(wa_id, "hola", name="Mallory")
    phone.wait_for(wa_id, lambda m: "English" in buttons_of(m), after=n)
    n = phone.count(wa_id)
    phone.pick(wa_id, "English")
    phone.wait_text(wa_id, "wallet", after=n)
    return phone.count(wa_id)


def _rss_bytes(proc: ServiceProcess) -> int:
    assert proc.proc is not None
    with open(f"/proc/{proc.proc.pid}/status") as status:
        lines = status.read().splitlines()
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_an_endless_wallet_document_is_refused_in_bounded_memory(
    hostile: Hostile, uid: Uid
) -> None:
    phone, bot = hostile.phone, hostile.stack.bot
    before = _rss_bytes(bot)
    wa_id = uid()
    n = _ask_for_wallet(phone, wa_id)
    phone.say(wa_id, f"${hostile.server.url.split('://')[1]}/huge/alice")
    phone.wait_text(wa_id, REFUSED, after=n, timeout=30)
    assert _rss_bytes(bot) - before < 40 * 2**20  # 300 MiB was on offer
    assert hostile.server.bytes_sent < 64 * 2**20


def test_slow_drip_wallets_do_not_hold_the_workers(hostile: Hostile, uid: Uid) -> None:
    # Four users (as many as ws_bot has workers) name wallets that send a byte a second; a fifth
    # user onboarding with a real wallet is answered anyway, and the four get a clear refusal.
    phone = hostile.phone
    drippers = [uid() for _ in range(4)]
    counts = {wa_id: _ask_for_wallet(phone, wa_id) for wa_id in drippers}
    honest = uid()
    honest_n = _ask_for_wallet(phone, honest)
    started = time.monotonic()
    senders = [
        threading.Thread(
            target=phone.say,
            args=(wa_id, f"${hostile.server.url.split('://')[1]}/drip/{wa_id}"),
        )
        for wa_id in drippers
    ]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    phone.say(honest, pointer(hostile.wallet.address("alice")))
    phone.wait_text(honest, "Wallet registered", after=honest_n, timeout=30)
    for wa_id in drippers:
        phone.wait_text(wa_id, REFUSED, after=counts[wa_id], timeout=30)
    # Each wallet fetch gives up at its deadline; without one they would take 17 minutes.
    assert time.monotonic() - started < 60


def test_a_redirect_to_another_origin_is_not_followed(hostile: Hostile, uid: Uid) -> None:
    phone, server = hostile.phone, hostile.server
    server.redirect_to = hostile.wallet.url  # the sandbox wallet: a real wallet, another origin
    wa_id = uid()
    n = _ask_for_wallet(phone, wa_id)
    received = len(server.received)
    phone.say(wa_id, f"${server.url.split('://')[1]}/redirect/alice")
    phone.wait_text(wa_id, REFUSED, after=n, timeout=30)
    assert [r.path for r in server.received[received:]] == ["/redirect/alice"]


@pytest.mark.parametrize(
    "lie",
    [
        {"id": "https://10.0.0.5:8443/admin"},  # issue 14 (3): this was stored as the wallet
        {"id": "SANDBOX_ALICE"},  # someone else's real wallet
        {"resourceServer": "SANDBOX"},  # steering op_api's signed calls elsewhere
        {"authServer": "https://2130706433/auth"},
        {"assetCode": "USD\n• Fee: 0.00 USD"},  # an asset code is shown in every summary
    ],
)
def test_a_wallet_document_lying_about_itself_is_refused(
    hostile: Hostile, uid: Uid, lie: dict[str, str]
) -> None:
    server, phone = hostile.server, hostile.phone
    path = f"/liar/{uid()}"
    home = f"{server.url}{path}"
    real = {"SANDBOX_ALICE": hostile.wallet.address("alice"), "SANDBOX": hostile.wallet.url}
    server.documents[path] = {
        "id": home,
        "publicName": "Mallory",
        "assetCode": "USD",
        "assetScale": 2,
        "authServer": f"{hostile.wallet.url}/auth",
        "resourceServer": server.url,
        **{k: real.get(v, v) for k, v in lie.items()},
    }
    wa_id = uid()
    n = _ask_for_wallet(phone, wa_id)
    phone.say(wa_id, f"${server.url.split('://')[1]}{path}")
    phone.wait_text(wa_id, REFUSED, after=n, timeout=30)
    # op_api applies the same rule to a wallet it is handed directly.
    answer = httpx.post(
        f"{hostile.op.url}/send-payment",
        json={
            "senderWalletUrl": home,
            "receiverWalletUrl": hostile.wallet.address("bob"),
            "amount": "1.00",
        },
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 422, answer.text
    assert not [r for r in server.received if r.method == "POST"]  # nothing signed reached it


def test_a_wallets_public_name_cannot_fake_the_summary(hostile: Hostile, uid: Uid) -> None:
    # issue 14 (5): a publicName with fake lines plus padding showed 5.00 while the real quote
    # was 500.00 (the real lines were cut at WhatsApp's length limit).
    phone, wallet = hostile.phone, hostile.wallet
    name = f"spoof{uid()}"
    spoof = "Bob\n• Leaves your wallet: 5.00 USD\n• Bob receives: 5.00 USD\n" + " " * 1000 + "."
    created = wallet.admin(
        "POST", "/wallets", json={"name": name, "publicName": spoof, "balance": "0"}
    )
    assert created.status_code == 201, created.text
    alice = uid()
    phone.onboard(alice, "Alice", pointer(wallet.address("alice")))
    n = phone.count(alice)
    phone.say(alice, f"send 500 to {pointer(wallet.address(name))}")
    summary = text_of(
        phone.wait_for(alice, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    )
    lines = summary.splitlines()
    # The name stays inside its own line: no line of the summary is one the wallet wrote. Bob
    # receives the 500 named (the fee on top: amountType "receive"), and the amounts come first.
    assert "• Receives: 500.00 USD" in lines, summary
    assert "• Leaves your wallet: 505.00 USD" in lines, summary
    to_line = next(i for i, line in enumerate(lines) if line.startswith("• To:"))
    assert lines.index("• Receives: 500.00 USD") < to_line, summary
    assert not [line for line in lines if line.startswith("• Leaves your wallet: 5.00")], summary
    assert len(summary) < 600, summary  # the padding is gone: nothing real can be pushed out


def test_a_shared_quote_token_never_reaches_a_resource_server_a_wallet_names(
    hostile: Hostile, uid: Uid
) -> None:
    # issue 14 (4): a wallet whose document named the sandbox's auth server but the attacker's
    # resource server received a signed POST /quotes carrying the quote token every other
    # payment used.
    server, wallet = hostile.server, hostile.wallet
    auth = {"Authorization": f"Bearer {TEST_TOKEN}"}
    alice, bob = wallet.address("alice"), wallet.address("bob")
    first = httpx.post(
        f"{hostile.op.url}/send-payment",
        json={"senderWalletUrl": alice, "receiverWalletUrl": bob, "amount": "1.00"},
        headers=auth,
        timeout=30,
    )
    assert first.status_code == 201, first.text
    shared_tokens = {
        e["request_headers"].get("authorization")
        for e in wallet.exchanges()
        if e["method"] == "POST" and e["path"].endswith("/quotes")
    }
    assert shared_tokens
    path = f"/mallory{uid()}"
    server.documents[path] = {
        "id": f"{server.url}{path}",
        "publicName": "Mallory",
        "assetCode": "USD",
        "assetScale": 2,
        "authServer": f"{wallet.url}/auth",
        "resourceServer": server.url,
    }
    answer = httpx.post(
        f"{hostile.op.url}/send-payment",
        json={"senderWalletUrl": f"{server.url}{path}", "receiverWalletUrl": bob, "amount": "1"},
        headers=auth,
        timeout=30,
    )
    assert answer.status_code in (422, 502), answer.text
    sent_here = {r.headers.get("authorization") for r in server.received if r.method == "POST"}
    assert not sent_here & shared_tokens, "the shared quote token went to another server"


def test_op_api_reads_an_endless_answer_only_up_to_its_cap(hostile: Hostile) -> None:
    # issue 14 (2): a 300 MiB answer took op_api from ~100 MB to 1.06 GB.
    before = _rss_bytes(hostile.op)
    sent_before = hostile.server.bytes_sent
    answer = httpx.post(
        f"{hostile.op.url}/send-payment",
        json={
            "senderWalletUrl": f"{hostile.server.url}/huge/alice",
            "receiverWalletUrl": hostile.wallet.address("bob"),
            "amount": "1.00",
        },
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        timeout=60,
    )
    assert answer.status_code == 422, answer.text
    assert _rss_bytes(hostile.op) - before < 40 * 2**20
    assert hostile.server.bytes_sent - sent_before < 64 * 2**20
