"""Receipts follow the wallet, not a polling schedule (issues 12 and 13): ws_bot follows its
payments with one long poll at op_api (`POST /payments/watch`), op_api continues the grant when
the browser comes back from the consent page (finish-redirect mode) and checks settlement
closely, so the receipt reaches the phone within about a second of the wallet's final state.

The legacy per-payment polling is set far slower than the bounds here (5 s pauses): only the
watch can explain a receipt this fast. Times are event times: when the receiver's balance moved
at the sandbox wallet (watched from here), when the phone recorded the bot's message."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.op_api.harness import Wallet, start_wallet, wallet_env
from tests.support.processes import console_script, free_port, make_spawner
from tests.trust.support import approval_url
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Stack, buttons_of, metric, start_stack, text_of

pytestmark = pytest.mark.slow
SLOW_LEGACY_POLLING = {
    "POLL_INITIAL_SECONDS": "5",
    "POLL_MAX_SECONDS": "30",
    "POLLER_TICK_SECONDS": "5",
    "POLL_LEASE_SECONDS": "60",
}


@pytest.fixture(scope="module")
def finish_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Wallet, str]]:
    base = tmp_path_factory.mktemp("receipt_speed")
    spawn, started = make_spawner(base)
    wallet_proc, wallet = start_wallet(base / "wallet")
    try:
        port = free_port()
        op = spawn(
            "op_api",
            [console_script("op-api")],
            {**wallet_env(wallet), "PUBLIC_URL": f"http://127.0.0.1:{port}"},
            port=port,
        )
        llm = spawn("llm_back", [console_script("llm-back")], {"OPENAI_API_KEY": ""})
        stack = start_stack(
            spawn,
            llm_url=llm.url,
            op_url=op.url,
            wallet_base=wallet.url,
            extra_env=SLOW_LEGACY_POLLING,
        )
        yield stack, wallet, op.url
    finally:
        for proc in reversed(started):
            proc.stop()
        wallet_proc.stop()


def _balance_moves(wallet: Wallet, name: str, stop: threading.Event) -> list[float]:
    """Start watching `name`'s balance; the list gets the time it first changes."""
    before = wallet.balance(name)
    moved: list[float] = []

    def watch() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                balance = http.get(f"{wallet.url}/admin/wallets/{name}").json()["balance"]
                if int(balance["value"]) != before:
                    moved.append(time.time())
                    return
                time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    return moved


def test_the_receipt_arrives_within_a_second_of_the_wallets_final_state(
    finish_mode: tuple[Stack, Wallet, str], uid
) -> None:
    stack, wallet, op_url = finish_mode
    phone, alice, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(wallet.address("bob")))
    phone.onboard(alice, "Alice", pointer(wallet.address("alice")))
    n = phone.count(alice)
    phone.say(alice, "send 3 to " + pointer(wallet.address("bob")))
    phone.wait_for(alice, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    n = phone.count(alice)
    phone.tap(alice, "Confirm")
    url = approval_url(phone.wait_for(alice, lambda m: approval_url(m) is not None, after=n))
    assert url is not None

    time.sleep(3)  # the user takes a moment: ws_bot's one long poll waits meanwhile

    stop = threading.Event()
    settled = _balance_moves(wallet, "bob", stop)
    n = phone.count(alice)
    redirect = wallet.answer(url, "approve").json()["redirect"]
    approved = time.time()
    assert httpx.get(redirect, timeout=30).status_code in {200, 202}  # the browser comes back
    receipt = phone.wait_text(alice, "Payment sent", after=n, timeout=30)
    stop.set()
    assert settled, "the receiver's balance never moved"
    lag = receipt["timestamp"] - settled[0]
    print(f"approval→settled {settled[0] - approved:.2f}s, settled→receipt {lag:.2f}s")
    assert receipt["timestamp"] >= settled[0] - 0.05, "a receipt before the money moved"
    assert lag <= 1.0, f"receipt {lag:.2f}s after the wallet settled"
    assert "3.00 USD" in text_of(receipt)
    # The watch alone carried the news: a long poll answered per change (approved, sending,
    # completed), not a poll per payment per tick; /confirm-payment was never needed.
    time.sleep(0.5)  # op_api counts a request once it has answered
    watches = 'paguito_http_requests_total{method="POST",route="/payments/watch"'
    confirms = 'paguito_http_requests_total{method="POST",route="/confirm-payment"'
    assert 1 <= metric(op_url, watches) <= 6
    assert metric(op_url, confirms) == 0
